import Foundation

/// Where and how to connect to Redis, and how big the command pool is.
package struct RedisConfiguration: Sendable, Equatable {
    /// Host name or address.
    package var host: String
    /// TCP port.
    package var port: Int
    /// ACL user (Redis 6+), if any.
    package var user: String?
    /// Password, if any. Never logged.
    package var password: String?
    /// Logical database for commands (pub/sub ignores it).
    package var database: Int
    /// Command connections.
    package var poolSize: Int
    /// How long a caller waits for a free connection.
    package var checkoutTimeout: Duration
    /// Connect timeout, and how long a command may wait for its reply before its connection is dropped.
    package var commandTimeout: Duration
    /// The name command connections give themselves (`CLIENT SETNAME`), to find them in `CLIENT LIST`; no spaces.
    package var connectionName = "agora"
    /// Redis Sentinels to ask for the master (`AGORA_REDIS_SENTINELS`); when set, `host` and `port` are not used.
    package var sentinels: [(host: String, port: Int)] = []
    /// The master's name in Sentinel's configuration (`AGORA_REDIS_MASTER_NAME`).
    package var masterName = "agora"
    /// The sentinels' password, if they have one (`AGORA_REDIS_SENTINEL_PASSWORD`). Never logged.
    package var sentinelPassword: String?
    /// Replicas a durable write (`RedisClient.run(_:keys:arguments:durable:logger:)`: sessions, refresh tokens,
    /// revocations) waits for with `WAIT` before it returns (`AGORA_REDIS_WAIT_REPLICAS`, 0: none). With one, a
    /// session made or ended just before a failover is on the replica Sentinel promotes.
    package var waitReplicas = 0
    /// The longest such a write waits (`AGORA_REDIS_WAIT_MS`); past it the write stands on the master alone, logged.
    package var waitTimeout: Duration = .milliseconds(200)

    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    /// - Throws: `RedisError.invalidConfiguration` naming what is wrong (never the password).
    package init(url: String, poolSize: Int = 8, checkoutTimeout: Duration = .seconds(5), commandTimeout: Duration = .seconds(5)) throws(RedisError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw RedisError(.invalidConfiguration, message: "Redis URL is not a URL")
        }
        guard scheme == "redis" else {
            throw RedisError(.invalidConfiguration, message: "Redis URL must start with redis:// (TLS is not supported by this build of hiredis)")
        }
        guard poolSize > 0 else { throw RedisError(.invalidConfiguration, message: "Redis pool size must be at least 1") }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = components.port ?? 6379
        user = components.user.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding }
        password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.drop(while: { $0 == "/" })
        if path.isEmpty {
            database = 0
        } else if let db = Int(path), db >= 0 {
            database = db
        } else {
            throw RedisError(.invalidConfiguration, message: "Redis database '\(path)' is not a number")
        }
        self.poolSize = poolSize
        self.checkoutTimeout = checkoutTimeout
        self.commandTimeout = commandTimeout
    }

    /// Where this points, safe for logs: no password.
    package var redacted: String {
        guard !sentinels.isEmpty else { return "redis://\(host):\(port)/\(database)" }
        return "sentinel \(masterName) via \(sentinels.map { "\($0.host):\($0.port)" }.joined(separator: ",")) db \(database)"
    }

    /// `host:port` pairs separated by commas, as `AGORA_REDIS_SENTINELS` has them.
    package static func sentinels(parsing text: String) throws(RedisError) -> [(host: String, port: Int)] {
        var result: [(host: String, port: Int)] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            guard let colon = entry.lastIndex(of: ":"), let port = Int(entry[entry.index(after: colon)...]), (1...65535).contains(port),
                colon > entry.startIndex
            else { throw RedisError(.invalidConfiguration, message: "a sentinel must be host:port, got '\(entry.prefix(80))'") }
            result.append((String(entry[..<colon]), port))
        }
        return result
    }

    package static func == (a: RedisConfiguration, b: RedisConfiguration) -> Bool {
        a.host == b.host && a.port == b.port && a.user == b.user && a.password == b.password && a.database == b.database
            && a.poolSize == b.poolSize && a.checkoutTimeout == b.checkoutTimeout && a.commandTimeout == b.commandTimeout
            && a.connectionName == b.connectionName && a.masterName == b.masterName && a.sentinelPassword == b.sentinelPassword
            && a.waitReplicas == b.waitReplicas && a.waitTimeout == b.waitTimeout
            && a.sentinels.map { "\($0.host):\($0.port)" } == b.sentinels.map { "\($0.host):\($0.port)" }
    }
}
