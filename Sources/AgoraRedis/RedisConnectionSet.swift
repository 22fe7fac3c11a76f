import AgoraPool
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The few pipelined connections of a `RedisClient`, and the callers waiting for the first one to open.
///
/// Connections are shared, not leased: each command goes to the connection with the fewest commands outstanding.
/// A new one is opened (in the background, up to `capacity`) when every open connection is busy; callers wait only
/// while no connection is open at all. A broken connection is dropped at once, so the next command opens another.
final class RedisConnectionSet: Sendable {
    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<RedisPipelinedConnection, any Error>
        let timeout: Scheduled<Void>
    }

    private struct State {
        var connections: [RedisPipelinedConnection] = []
        var opening = 0
        var opened = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
    }

    private enum Choice {
        case use(RedisPipelinedConnection)
        case wait
        case closed
    }

    let capacity: Int
    private let configuration: RedisConfiguration
    private let state = Mutex(State())
    private let poller: SocketPoller
    /// Connecting blocks (hiredis connect with a timeout, AUTH, SELECT, CLIENT SETNAME), so it runs here, never on
    /// the caller's cooperative thread. It is rare: two threads are plenty.
    private let connectThreads: NIOThreadPool
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let lateCheck = Mutex<RepeatedTask?>(nil)
    /// `RedisSentinel.moves` when the connections were last checked against the confirmed master: with the global
    /// counter, two relaxed loads per command say whether anything moved.
    private let movesSeen = Atomic<Int>(0)

    init(configuration: RedisConfiguration, logger: Logger) {
        self.capacity = configuration.poolSize
        self.configuration = configuration
        self.logger = logger
        self.poller = SocketPoller(name: "redis-poller")
        self.connectThreads = NIOThreadPool(numberOfThreads: min(2, configuration.poolSize))
        self.connectThreads.start()
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        // A timer per command would cost an allocation and a lock on the event loop per command; one check per
        // client looks at each connection's oldest command. A late reply is noticed within the timeout plus a fifth.
        let interval = TimeAmount(min(max(configuration.commandTimeout / 5, .milliseconds(10)), .seconds(1)))
        let task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] task in
            guard let self else { return task.cancel() }
            self.failLateCommands()
        }
        lateCheck.withLock { $0 = task }
    }

    var statistics: RedisClient.Statistics {
        state.withLock { state in
            RedisClient.Statistics(
                open: state.connections.count + state.opening,
                leased: state.connections.count { $0.outstanding.load(ordering: .relaxed) > 0 },
                waiting: state.waiters.count,
                opened: state.opened,
                capacity: capacity
            )
        }
    }

    /// The connection for the next command: the least busy one, or the first to open if none is.
    func connection() async throws -> RedisPipelinedConnection {
        if !configuration.sentinels.isEmpty, RedisSentinel.moves.load(ordering: .relaxed) != movesSeen.load(ordering: .relaxed) {
            leaveOldMaster()
        }
        var startOpening = false
        let choice = state.withLock { state -> Choice in
            if state.closed { return .closed }
            var best: RedisPipelinedConnection?
            var load = Int.max
            for connection in state.connections where connection.isUsable.load(ordering: .relaxed) {
                let outstanding = connection.outstanding.load(ordering: .relaxed)
                if outstanding < load {
                    best = connection
                    load = outstanding
                    if load == 0 { break }
                }
            }
            if load > 0, state.connections.count + state.opening < capacity {
                state.opening += 1
                startOpening = true
            }
            return best.map { .use($0) } ?? .wait
        }
        if startOpening { open() }
        switch choice {
        case .use(let connection): return connection
        case .closed: throw RedisError(.poolClosed, message: "the Redis client is shut down")
        case .wait: return try await waitForConnection()
        }
    }

    private func waitForConnection() async throws -> RedisPipelinedConnection {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RedisPipelinedConnection, any Error>) in
                let immediate = state.withLock { state -> Result<RedisPipelinedConnection, any Error>? in
                    if state.closed { return .failure(RedisError(.poolClosed, message: "the Redis client is shut down")) }
                    // Opened while this caller was getting here.
                    if let connection = state.connections.first(where: { $0.isUsable.load(ordering: .relaxed) }) { return .success(connection) }
                    if state.opening == 0 {
                        // The open this caller counted on already failed (its waiters were told): try again. `open`
                        // only queues the work, whose result takes this lock after the waiter below is added.
                        state.opening += 1
                        open()
                    }
                    let timeout = configuration.checkoutTimeout
                    let scheduled = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] () -> Void in
                        self?.failWaiter(id, with: RedisError(.poolTimeout, message: "no Redis connection could be opened within \(timeout)"))
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

    /// Opens a connection on the connect threads; the caller has counted it in `opening`.
    private func open() {
        connectThreads.submit { [self] workState in
            let result: Result<RedisPipelinedConnection, RedisError>
            if workState == .cancelled {
                result = .failure(RedisError(.poolClosed, message: "the Redis client is shut down"))
            } else {
                result = Result { () throws(RedisError) in
                    let socket = try RedisConnection(configuration: configuration, name: configuration.connectionName)
                    return try RedisPipelinedConnection(socket, poller: poller) { [weak self] in self?.drop($0) }
                }
            }
            opened(result)
        }
    }

    private func opened(_ result: Result<RedisPipelinedConnection, RedisError>) {
        let (waiters, closed) = state.withLock { state -> ([Waiter], Bool) in
            state.opening -= 1
            if state.closed { return ([], true) }
            switch result {
            case .success(let connection):
                state.connections.append(connection)
                state.opened += 1
            case .failure:
                // Waiters fail only when nothing else may still serve them.
                guard state.connections.isEmpty, state.opening == 0 else { return ([], false) }
            }
            defer { state.waiters = [] }
            return (state.waiters, false)
        }
        if case .failure(let error) = result { logger.warning("Cannot open a Redis connection", metadata: ["error": "\(error)"]) }
        if closed, case .success(let connection) = result { connection.fail(RedisError(.poolClosed, message: "the Redis client is shut down")) }
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(with: result.mapError { $0 as any Error })
        }
    }

    /// Fails the connections to a master other than the one last confirmed (`RedisSentinel`): after a failover, a
    /// master that hangs would otherwise cost each of them a command timeout.
    private func leaveOldMaster() {
        let moves = RedisSentinel.moves.load(ordering: .relaxed)
        guard let master = RedisSentinel.confirmedMaster(configuration) else { return }
        movesSeen.store(moves, ordering: .relaxed)
        let old = state.withLock { $0.connections.filter { $0.masterAddress != master } }
        guard !old.isEmpty else { return }
        logger.warning("Redis master moved; leaving the connections to the old one", metadata: ["redis.master": "\(master)", "redis.connections": "\(old.count)"])
        for connection in old { connection.fail(RedisError(.connectionClosed, message: "the Redis master moved to \(master)")) }
    }

    /// Whether `error` broke a connection to a master that Sentinel has since replaced (so the command may run again
    /// on the new one).
    func wasLeftBehind(_ connection: RedisPipelinedConnection, by error: RedisError) -> Bool {
        guard error.code == .connectionClosed, let address = connection.masterAddress else { return false }
        return RedisSentinel.confirmedMaster(configuration).map { $0 != address } ?? false
    }

    /// Forgets a connection that broke; the next command that finds no idle connection opens a new one.
    private func drop(_ connection: RedisPipelinedConnection) {
        state.withLock { state in state.connections.removeAll { $0 === connection } }
    }

    /// Fails commands waiting longer than the command timeout (the connection is dropped with them).
    func failLateCommands() {
        let connections = state.withLock { $0.connections }
        let now = ContinuousClock.now
        for connection in connections { connection.failIfLate(limit: configuration.commandTimeout, now: now) }
    }

    /// Fails waiting callers and new commands with `poolClosed`, lets commands in flight finish (up to the command
    /// timeout), then closes the connections and stops the threads.
    func close() async {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(throwing: RedisError(.poolClosed, message: "the Redis client is shut down"))
        }
        let deadline = ContinuousClock.now + configuration.commandTimeout
        while ContinuousClock.now < deadline, state.withLock({ $0.connections.contains { $0.outstanding.load(ordering: .relaxed) > 0 } }) {
            try? await Task.sleep(for: .milliseconds(1))
        }
        let connections = state.withLock { state -> [RedisPipelinedConnection] in
            defer { state.connections = [] }
            return state.connections
        }
        for connection in connections { connection.fail(RedisError(.poolClosed, message: "the Redis client is shut down")) }
        lateCheck.withLock { $0?.cancel() }
        try? await connectThreads.shutdownGracefully()
        poller.shutdown()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
