public import AgoraPool
public import Logging
public import ServiceLifecycle

/// Redis commands through a small pool of hiredis connections, run as a service.
///
/// Every hiredis call runs on the pool's own threads, never on an event loop or the cooperative pool.
public final class RedisClient: Service, Sendable {
    /// The configuration the client was made with.
    public let configuration: RedisConfiguration
    let pool: BlockingPool<RedisConnection>

    /// Makes a client; connections open when first needed.
    public init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.pool = BlockingPool(
            capacity: configuration.poolSize,
            checkoutTimeout: configuration.checkoutTimeout,
            errors: .init(
                timeout: { RedisError(.poolTimeout, message: "no Redis connection became free within \($0)") },
                closed: { RedisError(.poolClosed, message: "the Redis client is shut down") }
            ),
            logger: logger,
            connect: { try RedisConnection(configuration: configuration) }
        )
    }

    /// Current pool counts.
    public var statistics: BlockingPool<RedisConnection>.Statistics { pool.statistics }

    /// Waits for graceful shutdown, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes the pool once in-flight commands finish.
    public func close() async { await pool.close() }

    /// Sends one command and returns its reply.
    /// - Throws: `RedisError.server` for an error reply.
    @discardableResult
    public func send(_ arguments: [any RedisArgument], logger: Logger) async throws -> RedisValue {
        logger.trace("Redis command", metadata: ["redis.command": "\(arguments.first.map { String(decoding: $0.redisBytes, as: UTF8.self) } ?? "")"])
        return try await pool.withConnection { connection in
            try await pool.run { try connection.command(arguments) }
        }
    }

    /// Sends one command.
    @discardableResult
    public func send(_ arguments: any RedisArgument..., logger: Logger) async throws -> RedisValue {
        try await send(arguments, logger: logger)
    }

    /// Runs a Lua script by its SHA-1 (`EVALSHA`), loading it first if the server does not have it (`NOSCRIPT`).
    @discardableResult
    public func run(_ script: RedisScript, keys: [String], arguments: [any RedisArgument], logger: Logger) async throws -> RedisValue {
        let call: [any RedisArgument] = ["EVALSHA", script.sha1, keys.count] + keys + arguments
        do {
            return try await send(call, logger: logger)
        } catch let error as RedisError where error.prefix == "NOSCRIPT" {
            // The script cache is empty after a restart or SCRIPT FLUSH: load and retry once.
            logger.debug("Loading Redis script", metadata: ["redis.script": "\(script.sha1)"])
            let loaded = try await send(["SCRIPT", "LOAD", script.source], logger: logger)
            guard loaded.string == script.sha1 else {
                throw RedisError(.unexpectedReply, message: "SCRIPT LOAD returned \(loaded), expected \(script.sha1)")
            }
            return try await send(call, logger: logger)
        }
    }

    /// Publishes `message` on `channel`; returns how many subscribers (connections, across instances) received it.
    @discardableResult
    public func publish(_ message: some RedisArgument, to channel: String, logger: Logger) async throws -> Int {
        try await send(["PUBLISH", channel, message], logger: logger).int ?? 0
    }
}

extension RedisConnection: PoolableConnection {}
