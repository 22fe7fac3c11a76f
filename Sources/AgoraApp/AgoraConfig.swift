public import AgoraPostgres
public import AgoraRedis
public import Logging
import Foundation

/// Every setting, read once from the environment at start-up. The only code that reads the environment.
///
/// Each setting has a safe local default (see the README's table); a value that cannot be parsed stops start-up
/// with a message naming the variable.
public struct AgoraConfig: Sendable {
    /// `development` (default) or `production`.
    public enum Mode: String, Sendable { case development, production }

    public var mode: Mode
    public var host: String
    public var port: Int
    public var postgres: PGConfiguration
    public var redis: RedisConfiguration
    public var publicDirectory: String
    public var dataDirectory: String
    public var allowedOrigins: [String]
    /// Largest request body accepted, in bytes.
    public var maxBodySize: Int
    public var logLevel: Logger.Level
    public var jsonLogs: Bool
    /// Apply pending migrations before the server starts accepting requests.
    public var migrateOnStart: Bool
    public var secrets: Secrets

    /// Reads the configuration from `environment` (usually `ProcessInfo.processInfo.environment`).
    /// - Throws: `ConfigError` listing every variable that is wrong, or every secret missing in production.
    public init(environment env: [String: String]) throws {
        var problems: [String] = []
        func string(_ key: String, _ fallback: String) -> String {
            env[key].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        }
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) -> Int {
            guard let raw = env[key], !raw.isEmpty else { return fallback }
            guard let value = Int(raw), range.contains(value) else {
                problems.append("\(key) must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(raw)'")
                return fallback
            }
            return value
        }
        func bool(_ key: String, _ fallback: Bool) -> Bool {
            switch env[key]?.lowercased() {
            case nil, "": return fallback
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            case let raw?:
                problems.append("\(key) must be true or false, got '\(raw)'")
                return fallback
            }
        }

        let modeName = string("AGORA_ENV", "development")
        if let mode = Mode(rawValue: modeName) {
            self.mode = mode
        } else {
            problems.append("AGORA_ENV must be development or production, got '\(modeName)'")
            self.mode = .development
        }
        host = string("AGORA_HOST", "127.0.0.1")
        port = int("AGORA_PORT", 8080, 0...65535)
        publicDirectory = string("AGORA_PUBLIC_DIR", "Public")
        dataDirectory = string("AGORA_DATA_DIR", ".local/data")
        allowedOrigins = string("AGORA_ALLOWED_ORIGINS", "http://127.0.0.1:8080,http://localhost:8080")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        maxBodySize = int("AGORA_MAX_BODY_SIZE", 1 << 20, 1024...(1 << 30))
        let levelName = string("AGORA_LOG_LEVEL", "info")
        if let level = Logger.Level(rawValue: levelName) {
            logLevel = level
        } else {
            problems.append("AGORA_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical, got '\(levelName)'")
            logLevel = .info
        }
        let format = string("AGORA_LOG_FORMAT", "text")
        if format != "text" && format != "json" { problems.append("AGORA_LOG_FORMAT must be text or json, got '\(format)'") }
        jsonLogs = format == "json"
        migrateOnStart = bool("AGORA_MIGRATE_ON_START", true)

        let dbPool = int("AGORA_DB_POOL_SIZE", 16, 1...500)
        let dbTimeout = int("AGORA_DB_CHECKOUT_TIMEOUT_MS", 5000, 1...600_000)
        let redisPool = int("AGORA_REDIS_POOL_SIZE", 8, 1...500)
        do {
            postgres = try PGConfiguration(
                url: string("AGORA_DATABASE_URL", "postgres://agora:agora@127.0.0.1:55432/agora?sslmode=disable"),
                poolSize: dbPool,
                checkoutTimeout: .milliseconds(dbTimeout)
            )
        } catch {
            problems.append("AGORA_DATABASE_URL: \(error.message)")
            postgres = try PGConfiguration(url: "postgres://127.0.0.1/agora")
        }
        do {
            redis = try RedisConfiguration(url: string("AGORA_REDIS_URL", "redis://127.0.0.1:56379/0"), poolSize: redisPool)
        } catch {
            problems.append("AGORA_REDIS_URL: \(error.message)")
            redis = try RedisConfiguration(url: "redis://127.0.0.1")
        }
        guard problems.isEmpty else { throw ConfigError(problems: problems) }
        secrets = try Secrets(environment: env, mode: mode, dataDirectory: dataDirectory)
    }

    /// What the configuration points at, safe to log: no passwords, no secrets.
    public var summary: Logger.Metadata {
        [
            "mode": "\(mode.rawValue)", "listen": "\(host):\(port)", "database": "\(postgres.redacted)",
            "db_pool": "\(postgres.poolSize)", "redis": "\(redis.redacted)", "public_dir": "\(publicDirectory)",
            "max_body_size": "\(maxBodySize)",
        ]
    }
}

/// Configuration that cannot be used; every problem is listed.
public struct ConfigError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { "Invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
}
