import Foundation

/// Where and how to connect to PostgreSQL, and how big the pool is.
///
/// Built from a `postgres://` URL: `postgres://user:password@host:port/database?sslmode=disable&host=/run/postgresql`.
/// A `host` query parameter that is a path selects a unix socket directory, as libpq does.
package struct PGConfiguration: Sendable, Equatable {
    /// libpq connection keywords (`host`, `port`, `user`, `password`, `dbname`, `sslmode`, ...), passed as
    /// key/value pairs to `PQconnectdbParams`, so no value ever needs quoting or escaping.
    package var parameters: [(String, String)] { keywords.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 } }
    private var keywords: [String: String]
    /// Maximum number of open connections.
    package var poolSize: Int
    /// How long a caller waits for a free connection before `PGError.poolTimeout`.
    package var checkoutTimeout: Duration
    /// Schema to put first on the search path of every connection (tests use one per test).
    package var searchPath: String?
    /// Server settings for every connection, sent as `-c name=value` at connect time (e.g. the fuzzy-search
    /// threshold `pg_trgm.word_similarity_threshold`), so no statement has to set them.
    package var serverSettings: [String: String] = [:]
    /// How many statements each connection keeps prepared (parsed once, then run by name); 0 sends every statement
    /// unprepared, as a pooler in transaction mode (PgBouncer before 1.21) needs.
    package var preparedStatements: Int = 1000
    /// How many shared jobs (statements or atomic batches of different callers) may be in flight on one connection
    /// once every connection is busy and the pool is full: more pipelines deeper (fewer round trips, fewer backends),
    /// 1 turns sharing off (each caller waits for a connection of its own, as a classic pool does).
    package var pipelineDepth: Int = 4

    /// Parses a `postgres://` or `postgresql://` URL.
    /// - Throws: `PGError.invalidConfiguration` naming what is wrong (never echoing the password).
    package init(url: String, poolSize: Int = 16, checkoutTimeout: Duration = .seconds(5)) throws(PGError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else { throw PGError(.invalidConfiguration, message: "database URL must start with postgres:// or postgresql://") }
        guard poolSize > 0 else { throw PGError(.invalidConfiguration, message: "pool size must be at least 1") }
        var keywords: [String: String] = ["application_name": "agora", "client_encoding": "UTF8", "connect_timeout": "5"]
        if let host = components.host, !host.isEmpty { keywords["host"] = host.removingPercentEncoding ?? host }
        if let port = components.port { keywords["port"] = String(port) }
        if let user = components.user, !user.isEmpty { keywords["user"] = user.removingPercentEncoding ?? user }
        if let password = components.password { keywords["password"] = password.removingPercentEncoding ?? password }
        let database = components.path.drop(while: { $0 == "/" })
        if !database.isEmpty { keywords["dbname"] = String(database).removingPercentEncoding ?? String(database) }
        var searchPath: String?
        for item in components.queryItems ?? [] {
            guard let value = item.value else { continue }
            switch item.name {
            case "sslmode", "host", "port", "connect_timeout", "application_name", "sslrootcert", "target_session_attrs":
                keywords[item.name] = value
            case "search_path":
                searchPath = value
            default:
                throw PGError(.invalidConfiguration, message: "unsupported database URL parameter '\(item.name)'")
            }
        }
        if let mode = keywords["sslmode"],
            !["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(mode)
        {
            throw PGError(.invalidConfiguration, message: "sslmode '\(mode)' is not one of disable, allow, prefer, require, verify-ca, verify-full")
        }
        self.keywords = keywords
        self.poolSize = poolSize
        self.checkoutTimeout = checkoutTimeout
        self.searchPath = searchPath
    }

    /// One libpq keyword, for tests and diagnostics.
    package subscript(keyword: String) -> String? { keywords[keyword] }

    /// The same configuration with a different database name.
    package func with(database: String) -> PGConfiguration {
        var copy = self
        copy.keywords["dbname"] = database
        return copy
    }

    /// Where this points, safe for logs: no password.
    package var redacted: String {
        let host = keywords["host"] ?? "localhost"
        return "postgres://\(keywords["user"].map { "\($0)@" } ?? "")\(host):\(keywords["port"] ?? "5432")/\(keywords["dbname"] ?? "")"
    }

    package static func == (lhs: PGConfiguration, rhs: PGConfiguration) -> Bool {
        lhs.keywords == rhs.keywords && lhs.poolSize == rhs.poolSize && lhs.checkoutTimeout == rhs.checkoutTimeout
            && lhs.searchPath == rhs.searchPath && lhs.serverSettings == rhs.serverSettings
            && lhs.preparedStatements == rhs.preparedStatements && lhs.pipelineDepth == rhs.pipelineDepth
    }
}
