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
    package var redacted: String { "redis://\(host):\(port)/\(database)" }
}
