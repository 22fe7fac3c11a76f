public import Logging
import NIOCore
public import NIOPosix
import Synchronization

/// A connection that a `BlockingPool` can hand out.
public protocol PoolableConnection: AnyObject, Sendable {
    /// Whether an idle connection is still usable; called before every checkout on the caller's thread, so it must
    /// not block (a zero-timeout `poll` of the socket, and a read only of data already waiting).
    func checkAlive() -> Bool
    /// Whether the connection may go back to the pool after a lease (false when broken or left mid-transaction).
    var isReusable: Bool { get }
}

/// A bounded pool of blocking connections (libpq, hiredis) with waiting callers, a checkout timeout and
/// replacement of broken connections.
///
/// Blocking client libraries must never run on an event loop or the cooperative pool, so the pool owns a
/// `NIOThreadPool` with one thread per connection, and callers run their blocking calls through `run(_:)`.
/// Connections are opened lazily, up to `capacity`.
public final class BlockingPool<Connection: PoolableConnection>: Sendable {
    /// Counts for metrics and tests.
    public struct Statistics: Sendable, Equatable {
        /// Connections open or being opened.
        public var open: Int
        /// Connections leased to callers.
        public var leased: Int
        /// Callers waiting for a connection.
        public var waiting: Int
        /// Connections opened over the pool's life (replacements included).
        public var opened: Int
        /// The most connections the pool may open.
        public var capacity: Int
    }

    /// The errors the pool throws, in the client library's own error type.
    public struct Errors: Sendable {
        /// No connection became free in time.
        public var timeout: @Sendable (Duration) -> any Error
        /// The pool is closed.
        public var closed: @Sendable () -> any Error
        /// Makes the pair.
        public init(timeout: @escaping @Sendable (Duration) -> any Error, closed: @escaping @Sendable () -> any Error) {
            self.timeout = timeout
            self.closed = closed
        }
    }

    /// What a waiting caller is handed: a connection, or the right to open one.
    private enum Grant: Sendable {
        case connection(Connection)
        case open
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
        let timeout: Scheduled<Void>
    }

    private struct State {
        var idle: [Connection] = []
        var open = 0
        var leased = 0
        var opened = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
    }

    private let capacity: Int
    private let checkoutTimeout: Duration
    private let connect: @Sendable () throws -> Connection
    private let errors: Errors
    private let state = Mutex(State())
    private let threadPool: NIOThreadPool
    private let eventLoop: any EventLoop
    private let logger: Logger

    /// Makes a pool; no connection is opened until one is needed.
    /// - Parameters:
    ///   - capacity: the most connections open at once, and the number of threads.
    ///   - checkoutTimeout: how long a caller waits for a free connection.
    ///   - connect: opens a connection; blocking, run on a pool thread.
    ///   - errors: how to report timeouts and use after close.
    ///   - logger: for pool-level events (connections replaced).
    public init(
        capacity: Int,
        checkoutTimeout: Duration,
        errors: Errors,
        logger: Logger,
        connect: @escaping @Sendable () throws -> Connection
    ) {
        precondition(capacity > 0, "a pool needs room for one connection")
        self.capacity = capacity
        self.checkoutTimeout = checkoutTimeout
        self.connect = connect
        self.errors = errors
        self.logger = logger
        // Threads, not tasks: started here, stopped in close().
        self.threadPool = NIOThreadPool(numberOfThreads: capacity)
        self.threadPool.start()
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.any()
    }

    /// Current counts.
    public var statistics: Statistics {
        state.withLock { Statistics(open: $0.open, leased: $0.leased, waiting: $0.waiters.count, opened: $0.opened, capacity: capacity) }
    }

    /// Fails waiting callers, closes idle connections and stops the threads once in-flight calls finish.
    public func close() async {
        let (idle, waiters) = state.withLock { state -> ([Connection], [Waiter]) in
            state.closed = true
            defer {
                state.open -= state.idle.count
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(throwing: errors.closed())
        }
        _ = idle  // dropping the last references closes the connections (their deinit)
        try? await threadPool.shutdownGracefully()
    }

    /// Leases a connection for the duration of `body`, then returns it, or discards it if it is no longer reusable.
    ///
    /// `body` must not let the connection escape, and must make its blocking calls through `run(_:)`.
    public func withConnection<R: Sendable>(_ body: (Connection) async throws -> R) async throws -> R {
        let connection = try await lease()
        defer { release(connection) }  // synchronous, so it can live in a defer
        return try await body(connection)
    }

    /// Runs a blocking call on the pool's threads.
    public func run<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
        try await threadPool.runIfActive(work)
    }

    // MARK: Leasing

    private func lease() async throws -> Connection {
        while true {
            switch try await acquire() {
            case .connection(let connection):
                // A connection that died while idle is replaced here, so the caller never sees it. The check does not
                // block, so it runs inline rather than costing a second thread hop per checkout.
                if connection.checkAlive() { return connection }
                logger.warning("Pooled connection was closed while idle; replacing it")
                freeSlot()
                continue
            case .open:
                do {
                    let connection = try await run(connect)
                    state.withLock { $0.opened += 1 }
                    return connection
                } catch {
                    freeSlot()
                    throw error
                }
            }
        }
    }

    private func acquire() async throws -> Grant {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let immediate: Result<Grant, any Error>? = state.withLock { state in
                    if state.closed { return .failure(errors.closed()) }
                    if let connection = state.idle.popLast() {
                        state.leased += 1
                        return .success(.connection(connection))
                    }
                    if state.open < capacity {
                        state.open += 1
                        state.leased += 1
                        return .success(.open)
                    }
                    let timeout = checkoutTimeout
                    let error = errors.timeout
                    // An event-loop timer, not a Task: cancelled when the waiter is served.
                    let scheduled = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] () -> Void in
                        self?.failWaiter(id, with: error(timeout))
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timeout: scheduled))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    private func failWaiter(_ id: Int, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }  // already served
        waiter.timeout.cancel()
        waiter.continuation.resume(throwing: error)
    }

    private func release(_ connection: Connection) {
        guard connection.isReusable else {
            freeSlot()  // dropping `connection` closes it
            return
        }
        let waiter = state.withLock { state -> Waiter? in
            if state.closed {
                state.leased -= 1
                state.open -= 1
                return nil
            }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.leased -= 1
            state.idle.append(connection)
            return nil
        }
        if let waiter {
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .connection(connection))
        }
    }

    /// Gives up a slot: to the first waiter as the right to open a connection, else back to the pool's capacity.
    private func freeSlot() {
        let waiter = state.withLock { state -> Waiter? in
            if !state.closed, !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.leased -= 1
            state.open -= 1
            return nil
        }
        if let waiter {
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .open)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
