public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// A bounded pool of libpq connections with waiting callers, a checkout timeout and replacement of broken
/// connections.
///
/// libpq blocks, so every libpq call runs on the pool's own `NIOThreadPool`, one thread per connection: a
/// caller never blocks an event loop or the cooperative pool. Connections are opened lazily, up to `poolSize`.
public final class PGPool: Service, Sendable {
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

    /// What a waiting caller is handed: a connection, or the right to open one.
    private enum Grant: Sendable {
        case connection(PGConnection)
        case open
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
        let timeout: Scheduled<Void>
    }

    private struct State {
        var idle: [PGConnection] = []
        var open = 0
        var leased = 0
        var opened = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
    }

    /// The configuration the pool was made with.
    public let configuration: PGConfiguration
    private let state = Mutex(State())
    private let threadPool: NIOThreadPool
    private let eventLoop: any EventLoop
    private let logger: Logger

    /// Makes a pool; no connection is opened until one is needed.
    /// - Parameters:
    ///   - configuration: where to connect, pool size and checkout timeout.
    ///   - logger: for pool-level events (connections replaced, shutdown); queries log through their caller's logger.
    public init(configuration: PGConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.poolSize)
        self.threadPool.start()
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.any()
    }

    /// Current counts.
    public var statistics: Statistics {
        state.withLock { Statistics(open: $0.open, leased: $0.leased, waiting: $0.waiters.count, opened: $0.opened, capacity: configuration.poolSize) }
    }

    // MARK: Service

    /// Waits for graceful shutdown, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Fails waiting callers, closes idle connections and stops the thread pool once leased ones are back.
    public func close() async {
        let (idle, waiters) = state.withLock { state -> ([PGConnection], [Waiter]) in
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
            waiter.continuation.resume(throwing: PGError(.poolClosed, message: "the database pool is shut down"))
        }
        _ = idle  // dropping the last reference runs PQfinish
        try? await threadPool.shutdownGracefully()
        logger.debug("PostgreSQL pool closed")
    }

    // MARK: Leasing

    /// Leases a connection for the duration of `body`, then returns it (or discards it if it broke).
    ///
    /// `body` must not let the connection escape, and must run libpq calls through `run(_:on:)`.
    public func withConnection<R: Sendable>(logger: Logger, _ body: (PGConnection) async throws -> R) async throws -> R {
        let connection = try await lease(logger: logger)
        defer { release(connection) }  // synchronous, so it can live in a defer
        return try await body(connection)
    }

    /// Runs a blocking libpq call on the pool's thread pool.
    public func run<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
        try await threadPool.runIfActive(work)
    }

    private func lease(logger: Logger) async throws -> PGConnection {
        while true {
            switch try await acquire() {
            case .connection(let connection):
                // A backend that died while idle is replaced here, so the caller never sees it.
                if try await run({ connection.checkAlive() }) { return connection }
                logger.warning("PostgreSQL connection was closed while idle; replacing it", metadata: ["pg.backend_pid": "\(connection.backendPID)"])
                discard(connection)
                continue
            case .open:
                do {
                    let configuration = self.configuration
                    let connection = try await run { try PGConnection(configuration: configuration) }
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
                    if state.closed { return .failure(PGError(.poolClosed, message: "the database pool is shut down")) }
                    if let connection = state.idle.popLast() {
                        state.leased += 1
                        return .success(.connection(connection))
                    }
                    if state.open < configuration.poolSize {
                        state.open += 1
                        state.leased += 1
                        return .success(.open)
                    }
                    let timeout = configuration.checkoutTimeout
                    let scheduled = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] () -> Void in
                        self?.failWaiter(id, with: PGError(.poolTimeout, message: "no database connection became free within \(timeout)"))
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

    private func release(_ connection: PGConnection) {
        guard !connection.isBroken, !connection.inTransaction else {
            // A connection left inside a transaction (a cancelled body) cannot be trusted with the next caller's work.
            discard(connection)
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

    /// Drops a connection (its deinit closes it); the slot goes to the first waiter as the right to open a new one.
    private func discard(_ connection: PGConnection) {
        freeSlot()
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
