package import Logging
import ServiceLifecycle

/// Redis commands over a few pipelined connections, run as a service.
///
/// Commands of concurrent callers share connections without waiting for each other's replies: each caller writes
/// its command from its own thread and one `SocketPoller` thread per client reads the replies and resumes the
/// callers. No thread blocks on a command, and hiredis is used only to connect and to parse replies.
package final class RedisClient: Service, Sendable {
    /// Connection counts for metrics and tests.
    package struct Statistics: Sendable, Equatable {
        /// Connections open or being opened.
        package var open: Int
        /// Connections with commands outstanding (connections are shared, not leased, so this is how many are busy).
        package var leased: Int
        /// Callers waiting for a first connection to open.
        package var waiting: Int
        /// Connections opened over the client's life (replacements included).
        package var opened: Int
        /// The most connections the client may open (`poolSize`).
        package var capacity: Int
    }

    /// The configuration the client was made with.
    package let configuration: RedisConfiguration
    let connections: RedisConnectionSet

    /// Makes a client; connections open when first needed.
    package init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.connections = RedisConnectionSet(configuration: configuration, logger: logger)
    }

    /// Current connection counts.
    package var statistics: Statistics { connections.statistics }

    /// Waits for graceful shutdown, then closes the client.
    package func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Fails new commands with `poolClosed`, lets those in flight finish (up to the command timeout), then closes
    /// the connections.
    package func close() async { await connections.close() }

    /// Sends one command and returns its reply.
    /// - Throws: `RedisError.server` for an error reply; `connectionClosed` if the connection broke or the reply did
    ///   not come within `commandTimeout`; `poolTimeout` if no connection could be opened within `checkoutTimeout`;
    ///   `poolClosed` after `close()`.
    @discardableResult
    package func send(_ arguments: [any RedisArgument], logger: Logger) async throws -> RedisValue {
        logger.trace("Redis command", metadata: ["redis.command": "\(arguments.first.map { String(decoding: $0.redisBytes, as: UTF8.self) } ?? "")"])
        let command = RedisCommand.encode(arguments)
        var failedOver = false
        while true {
            let connection = try await connections.connection()
            do {
                return try await connection.send(command)
            } catch is RedisPipelinedConnection.Unusable {
                // It broke before this command was written (and is dropped already): another one can take it.
                continue
            } catch let error as RedisError where RedisSentinel.meansFailover(error) && !failedOver {
                // A demoted master (READONLY) or one cut off from its replicas: drop the connection, so the next is
                // opened where Sentinel says the master is now, and try once more there.
                connection.fail(RedisError(.connectionClosed, message: "Redis answered \(error.prefix ?? "")"))
                failedOver = true
                continue
            } catch let error as RedisError where !failedOver && connections.wasLeftBehind(connection, by: error) {
                // Its master was replaced while the command waited (a hung master): whatever it did there is gone with
                // that master, so it runs once more on the new one.
                failedOver = true
                continue
            }
        }
    }

    /// Sends several commands in one write on one connection and returns their replies in order: one round trip
    /// and one wake-up for all of them. A command's error reply is its `.failure`; the call throws only when the
    /// connection fails (`connectionClosed`, `poolTimeout`, `poolClosed`), as `send` does.
    package func send(batch commands: [[any RedisArgument]], logger: Logger) async throws -> [Result<RedisValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        logger.trace("Redis batch", metadata: ["redis.commands": "\(commands.count)"])
        var bytes: [UInt8] = []
        for command in commands { bytes += RedisCommand.encode(command) }
        var failedOver = false
        while true {
            let connection = try await connections.connection()
            do {
                let replies = try await connection.send(batch: bytes, count: commands.count)
                // The first command refused by a demoted master: none of the batch ran there. Once more, elsewhere.
                if !failedOver, case .failure(let error) = replies.first, RedisSentinel.meansFailover(error) {
                    connection.fail(RedisError(.connectionClosed, message: "Redis answered \(error.prefix ?? "")"))
                    failedOver = true
                    continue
                }
                return replies
            } catch is RedisPipelinedConnection.Unusable {
                continue
            } catch let error as RedisError where !failedOver && connections.wasLeftBehind(connection, by: error) {
                failedOver = true
                continue
            }
        }
    }

    /// Publishes each message on its channel in one round trip; returns, for each, how many subscribers received it.
    package func publish(batch messages: [(message: String, channel: String)], logger: Logger) async throws -> [Int] {
        let replies = try await send(batch: messages.map { ["PUBLISH", $0.channel, $0.message] }, logger: logger)
        return try replies.map { try $0.get().int ?? 0 }
    }

    /// Sends one command.
    @discardableResult
    package func send(_ arguments: any RedisArgument..., logger: Logger) async throws -> RedisValue {
        try await send(arguments, logger: logger)
    }

    /// Runs a Lua script by its SHA-1 (`EVALSHA`), loading it first if the server does not have it (`NOSCRIPT`).
    @discardableResult
    package func run(_ script: RedisScript, keys: [String], arguments: [any RedisArgument], logger: Logger) async throws -> RedisValue {
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

    /// Runs a script whose write must survive a failover: with `configuration.waitReplicas` > 0, the script and a
    /// `WAIT` go in one batch on one connection, so the reply comes once that many replicas have the write (or the
    /// wait timed out, which is logged). Without replicas configured, the same as `run(_:keys:arguments:logger:)`.
    @discardableResult
    package func run(_ script: RedisScript, keys: [String], arguments: [any RedisArgument], durable: Bool, logger: Logger) async throws -> RedisValue {
        let replicas = configuration.waitReplicas
        guard durable, replicas > 0 else { return try await run(script, keys: keys, arguments: arguments, logger: logger) }
        let call: [any RedisArgument] = ["EVALSHA", script.sha1, keys.count] + keys + arguments
        let wait: [any RedisArgument] = ["WAIT", replicas, Int(configuration.waitTimeout.components.seconds * 1000 + configuration.waitTimeout.components.attoseconds / 1_000_000_000_000_000)]
        var replies = try await send(batch: [call, wait], logger: logger)
        if case .failure(let error) = replies[0], error.prefix == "NOSCRIPT" {
            _ = try await send(["SCRIPT", "LOAD", script.source], logger: logger)
            replies = try await send(batch: [call, wait], logger: logger)
        }
        let value = try replies[0].get()
        let acknowledged = (try? replies[1].get().int) ?? 0
        if acknowledged < replicas {
            logger.warning(
                "A Redis write reached fewer replicas than asked within the wait",
                metadata: ["redis.replicas": "\(acknowledged)", "redis.asked": "\(replicas)"])
        }
        return value
    }

    /// Publishes `message` on `channel`; returns how many subscribers (connections, across instances) received it.
    @discardableResult
    package func publish(_ message: some RedisArgument, to channel: String, logger: Logger) async throws -> Int {
        try await send(["PUBLISH", channel, message], logger: logger).int ?? 0
    }
}
