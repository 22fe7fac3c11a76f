import AgoraPool
package import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The PostgreSQL connection pool: libpq connections in non-blocking pipeline mode, one `SocketPoller` thread
/// reading all their answers, run as a service.
///
/// Two kinds of use:
/// - **Shared** (a statement or an atomic batch outside a transaction): goes to the connection with the least in
///   flight. An idle connection is used first, then a new one is opened (up to `poolSize`), and only then is the
///   work pipelined behind another caller's on a busy connection, at most `pipelineDepth` jobs deep. Each job ends
///   with its own Sync, so one caller's error never touches another's statements.
/// - **Exclusive** (`withTransaction`): the transaction leases an idle connection for its duration.
///
/// A caller that finds neither waits, in order, up to `checkoutTimeout`, then gets `PGError.poolTimeout`.
package final class PGPool: Service, Sendable {
    /// Counts for metrics and tests.
    package struct Statistics: Sendable, Equatable {
        /// Connections open or being opened.
        package var open: Int
        /// Connections with work in flight or leased to a transaction.
        package var leased: Int
        /// Callers waiting for a connection.
        package var waiting: Int
        /// Shared jobs (statements, atomic batches) sent and not yet answered, over all connections.
        package var inFlight: Int
        /// Connections opened over the pool's life (replacements included).
        package var opened: Int
        /// The most connections the pool may open.
        package var capacity: Int
    }

    /// The configuration the pool was made with.
    package let configuration: PGConfiguration
    let poller: SocketPoller
    private let connector: NIOThreadPool
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let state = Mutex(State())

    private enum Need { case shared, exclusive }

    private enum Grant: Sendable {
        case connection(PGPipelinedConnection)
        case open
    }

    private struct Slot {
        let connection: PGPipelinedConnection
        /// Jobs in flight that were sent as shared work.
        var load = 0
        /// Leased to a transaction.
        var leased = false
    }

    private struct Waiter {
        let id: Int
        let need: Need
        let continuation: CheckedContinuation<Grant, any Error>
        let timeout: Scheduled<Void>
    }

    private struct State {
        var slots: [Slot] = []
        var opening = 0
        var opened = 0
        private(set) var waiters: [Waiter] = []
        /// How many of `waiters` need a connection of their own.
        private(set) var exclusiveWaiters = 0
        var nextWaiterID = 0
        var closed = false

        mutating func addWaiter(_ waiter: Waiter) {
            waiters.append(waiter)
            if waiter.need == .exclusive { exclusiveWaiters += 1 }
        }

        mutating func removeWaiter(at index: Int) -> Waiter {
            let waiter = waiters.remove(at: index)
            if waiter.need == .exclusive { exclusiveWaiters -= 1 }
            return waiter
        }

        mutating func removeAllWaiters() -> [Waiter] {
            defer { (waiters, exclusiveWaiters) = ([], 0) }
            return waiters
        }
    }

    /// Makes a pool; no connection is opened until one is needed.
    /// - Parameters:
    ///   - configuration: where to connect, pool size, pipeline depth and checkout timeout.
    ///   - logger: for pool-level events (connections replaced); queries log through their caller's logger.
    package init(configuration: PGConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.poller = SocketPoller(name: "agora-pg-poller")
        // Opening a connection blocks in libpq (DNS, TCP, TLS, authentication); it is rare, so a few threads do it.
        self.connector = NIOThreadPool(numberOfThreads: min(configuration.poolSize, 4))
        self.connector.start()
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.any()
    }

    /// Current counts.
    package var statistics: Statistics {
        state.withLock { state in
            Statistics(
                open: state.slots.count + state.opening,
                leased: state.slots.filter { $0.load > 0 || $0.leased }.count,
                waiting: state.waiters.count, inFlight: state.slots.reduce(0) { $0 + $1.load }, opened: state.opened,
                capacity: configuration.poolSize
            )
        }
    }

    /// Waits for graceful shutdown, then closes the pool.
    package func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Fails waiting and new callers, lets in-flight work finish (for up to a few seconds), then closes every
    /// connection and stops the poller.
    package func close() async {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            return state.removeAllWaiters()
        }
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(throwing: PGError(.poolClosed, message: "the database pool is shut down"))
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, state.withLock({ $0.slots.contains { $0.load > 0 || $0.leased } || $0.opening > 0 }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let slots = state.withLock { state -> [Slot] in
            defer { state.slots = [] }
            return state.slots
        }
        for slot in slots { slot.connection.close() }
        poller.shutdown()
        try? await connector.shutdownGracefully()
    }

    // MARK: Running jobs

    /// Runs `queries` as one shared job (one Sync: an implicit transaction) and returns their results.
    func runShared(_ queries: [PGQuery], logger: Logger) async throws -> [PGResultSet] {
        logger.trace("SQL", metadata: ["sql": "\(queries.first?.sql ?? "")", "statements": "\(queries.count)"])
        let connection = try await acquire(.shared)
        let job = PGJob(.statements(queries), onFinish: { [self] in self.finishedShared(connection) })
        return try await run(job, on: connection, cancellable: true)
    }

    /// Sends `job` on `connection` and waits for its results; a cancelled caller stops waiting (the job still ends
    /// at its Sync, which keeps the pipeline aligned).
    func run(_ job: PGJob, on connection: PGPipelinedConnection, cancellable: Bool) async throws -> [PGResultSet] {
        guard cancellable else {
            return try await withCheckedThrowingContinuation { continuation in
                if job.wait(with: continuation) { connection.submit(job) }
            }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if job.wait(with: continuation) {
                    connection.submit(job)
                } else {
                    job.finish()  // never sent: give the pool its slot back
                }
            }
        } onCancel: {
            job.abandon()
        }
    }

    // MARK: Leasing

    /// Leases a connection to a transaction.
    func leaseExclusive() async throws -> PGPipelinedConnection { try await acquire(.exclusive) }

    /// Ends a transaction's lease; a connection left inside a transaction (a failed ROLLBACK) is closed instead.
    func releaseExclusive(_ connection: PGPipelinedConnection) {
        let reusable = !connection.inTransaction
        let grants = state.withLock { state -> [(Waiter, Grant)] in
            guard let index = state.slots.firstIndex(where: { $0.connection === connection }) else { return [] }
            if reusable {
                state.slots[index].leased = false
            } else {
                state.slots.remove(at: index)
            }
            return Self.dispatch(&state, configuration)
        }
        if !reusable {
            logger.warning("Closing a database connection left inside a transaction")
            connection.close()
        }
        hand(grants)
    }

    private func finishedShared(_ connection: PGPipelinedConnection) {
        let grants = state.withLock { state -> [(Waiter, Grant)] in
            if let index = state.slots.firstIndex(where: { $0.connection === connection }) {
                state.slots[index].load -= 1
            }
            return Self.dispatch(&state, configuration)
        }
        hand(grants)
    }

    private func dropBroken(_ connection: PGPipelinedConnection) {
        let grants = state.withLock { state -> [(Waiter, Grant)] in
            state.slots.removeAll { $0.connection === connection }
            return Self.dispatch(&state, configuration)
        }
        logger.info("Database connection lost; it will be replaced", metadata: ["backend_pid": "\(connection.backendPID)"])
        hand(grants)
    }

    private func acquire(_ need: Need) async throws -> PGPipelinedConnection {
        while true {
            switch try await grant(need) {
            case .connection(let connection):
                return connection
            case .open:
                do {
                    return try await open(for: need)
                } catch {
                    let grants = state.withLock { state -> [(Waiter, Grant)] in
                        state.opening -= 1
                        return Self.dispatch(&state, configuration)
                    }
                    hand(grants)
                    throw error
                }
            }
        }
    }

    /// Opens a connection for a caller that was granted the right to (`opening` already counts it).
    private func open(for need: Need) async throws -> PGPipelinedConnection {
        let configuration = configuration
        let connection = try await connector.runIfActive { try PGConnection(configuration: configuration) }
        let pipelined = try PGPipelinedConnection(
            connection: connection, poller: poller, maxPrepared: configuration.preparedStatements,
            onBroken: { [weak self] in self?.dropBroken($0) }
        )
        let closed = state.withLock { state -> Bool in
            state.opening -= 1
            guard !state.closed else { return true }
            state.opened += 1
            state.slots.append(Slot(connection: pipelined, load: need == .shared ? 1 : 0, leased: need == .exclusive))
            return false
        }
        if closed {
            pipelined.close()
            throw PGError(.poolClosed, message: "the database pool is shut down")
        }
        return pipelined
    }

    private func grant(_ need: Need) async throws -> Grant {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let immediate: Result<Grant, any Error>? = state.withLock { state in
                    if state.closed { return .failure(PGError(.poolClosed, message: "the database pool is shut down")) }
                    // Behind earlier waiters, nobody jumps the queue.
                    if state.waiters.isEmpty, let grant = Self.take(need, &state, configuration) {
                        return .success(grant)
                    }
                    let timeout = configuration.checkoutTimeout
                    // An event-loop timer, not a Task: cancelled when the waiter is served.
                    let scheduled = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] () -> Void in
                        self?.failWaiter(id, with: PGError(.poolTimeout, message: "no database connection became free within \(timeout)"))
                    }
                    state.addWaiter(Waiter(id: id, need: need, continuation: continuation, timeout: scheduled))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    /// What `need` can have right now, taken from `state`; nil if it must wait.
    private static func take(_ need: Need, _ state: inout State, _ configuration: PGConfiguration) -> Grant? {
        // The free connection with the least in flight (ties: the oldest, whose statements are prepared). A loop, not
        // `filter`/`min`: this runs for every statement, and an array per call was measurable.
        var best: Int?
        for index in state.slots.indices where !state.slots[index].leased {
            if let current = best, state.slots[current].load <= state.slots[index].load { continue }
            best = index
        }
        if let best, state.slots[best].load == 0 {
            if need == .exclusive { state.slots[best].leased = true } else { state.slots[best].load += 1 }
            return .connection(state.slots[best].connection)
        }
        if state.slots.count + state.opening < configuration.poolSize {
            state.opening += 1
            return .open
        }
        if need == .shared, let best, state.slots[best].load < configuration.pipelineDepth {
            state.slots[best].load += 1
            return .connection(state.slots[best].connection)
        }
        return nil
    }

    /// Serves waiters, in order, with what has become free.
    ///
    /// A shared waiter that cannot be served means nothing can be (no idle connection, no room to open one, every
    /// pipeline full), so the walk stops there; an exclusive one that cannot be served only skips the exclusive
    /// waiters behind it. With thousands waiting (10,000 sockets subscribing at once) walking the whole queue on every
    /// answer was quadratic.
    private static func dispatch(_ state: inout State, _ configuration: PGConfiguration) -> [(Waiter, Grant)] {
        guard !state.closed else { return [] }
        var grants: [(Waiter, Grant)] = []
        var exclusiveStuck = false
        var index = 0
        while index < state.waiters.count {
            let need = state.waiters[index].need
            if need == .exclusive, exclusiveStuck {
                index += 1
                continue
            }
            if let grant = take(need, &state, configuration) {
                grants.append((state.removeWaiter(at: index), grant))
                continue
            }
            if need == .shared { break }
            exclusiveStuck = true
            if state.exclusiveWaiters == state.waiters.count { break }  // only exclusive ones left
            index += 1
        }
        return grants
    }

    private func hand(_ grants: [(Waiter, Grant)]) {
        for (waiter, grant) in grants {
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: grant)
        }
    }

    private func failWaiter(_ id: Int, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.removeWaiter(at: index)
        }
        guard let waiter else { return }  // already served
        waiter.timeout.cancel()
        waiter.continuation.resume(throwing: error)
    }
}

extension TimeAmount {
    fileprivate init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
