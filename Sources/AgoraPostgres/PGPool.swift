public import AgoraPool
public import Logging
public import ServiceLifecycle

/// The PostgreSQL connection pool: a `BlockingPool` of libpq connections, run as a service.
///
/// Every libpq call runs on the pool's threads (one per connection), never on an event loop.
public final class PGPool: Service, Sendable {
    /// The configuration the pool was made with.
    public let configuration: PGConfiguration
    let pool: BlockingPool<PGConnection>

    /// Makes a pool; no connection is opened until one is needed.
    /// - Parameters:
    ///   - configuration: where to connect, pool size and checkout timeout.
    ///   - logger: for pool-level events (connections replaced); queries log through their caller's logger.
    public init(configuration: PGConfiguration, logger: Logger) {
        self.configuration = configuration
        self.pool = BlockingPool(
            capacity: configuration.poolSize,
            checkoutTimeout: configuration.checkoutTimeout,
            errors: .init(
                timeout: { PGError(.poolTimeout, message: "no database connection became free within \($0)") },
                closed: { PGError(.poolClosed, message: "the database pool is shut down") }
            ),
            logger: logger,
            connect: { try PGConnection(configuration: configuration) }
        )
    }

    /// Current counts.
    public var statistics: BlockingPool<PGConnection>.Statistics { pool.statistics }

    /// Waits for graceful shutdown, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Fails waiting callers and closes connections once in-flight statements finish.
    public func close() async { await pool.close() }

    /// Leases a connection for the duration of `body`; see `BlockingPool.withConnection`.
    public func withConnection<R: Sendable>(logger: Logger, _ body: (PGConnection) async throws -> R) async throws -> R {
        try await pool.withConnection(body)
    }

    /// Runs a blocking libpq call on the pool's threads.
    public func run<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
        try await pool.run(work)
    }
}

extension PGConnection: PoolableConnection {
    /// Broken connections, and ones left inside a transaction (a cancelled body), cannot be trusted with the next caller.
    public var isReusable: Bool { !isBroken && !inTransaction }
}
