import AgoraCore
import AgoraCrypto
package import AgoraRedis
package import Foundation
package import Logging

/// Sessions in Redis: one refresh-token family per login, rotated on every refresh.
///
/// Keys (prefix `agora:` by default):
/// - `sess:<sid>` hash: `uid`, `cur` (SHA-256 of the family's current refresh token), `created`, `used` (ms),
///   `device`, `ip`; expires with the refresh lifetime, renewed on each rotation.
/// - `rt:<sha256>` string: the session id, for every refresh token ever issued to a live family, so that a rotated
///   token presented again is recognised as reuse (theft) rather than as garbage.
/// - `usess:<uid>` set of the account's session ids, for "log out everywhere" and the session list.
///
/// Every change is one Lua script, so two instances rotating the same token cannot both win.
/// The scripts build some key names from values they read, which Redis Cluster would refuse; Agora uses one
/// Redis (or a replicated primary), not a cluster.
package struct SessionStore: SessionLiveness, Sendable {
    /// A session as its owner sees it in `GET /api/me/sessions`.
    package struct Session: Codable, Sendable, Equatable {
        package var id: String
        package var device: String
        package var ip: String?
        package var createdAt: Date
        package var lastUsedAt: Date
        /// True for the session of the request that asked.
        package var current: Bool
    }

    /// What a refresh did.
    package enum Rotation: Sendable, Equatable {
        /// The token was the family's current one; `token` replaces it.
        case rotated(token: String, session: String, account: UUID)
        /// The token is unknown, expired or its session was revoked.
        case invalid
        /// The token was already rotated away: someone replayed it, so the whole family was revoked.
        case reused(session: String, account: UUID)
    }

    private let redis: RedisClient
    private let prefix: String
    /// How long a refresh token (and an idle session) lives.
    package let refreshLifetime: Duration

    /// - Parameters:
    ///   - prefix: namespace of every key (`AGORA_REDIS_PREFIX`); tests use one of their own.
    ///   - refreshLifetime: lifetime of each refresh token; a session unused for this long ends.
    package init(redis: RedisClient, prefix: String, refreshLifetime: Duration) {
        self.redis = redis
        self.prefix = prefix
        self.refreshLifetime = refreshLifetime
    }

    /// Starts a session for `account` and returns its id and first refresh token.
    package func create(account: UUID, device: String, ip: String?, logger: Logger) async throws -> (session: String, refreshToken: String) {
        let session = SecureRandom.token(byteCount: 16)
        let token = SecureRandom.token(byteCount: 32)  // 256 bits
        try await redis.run(
            Self.createScript,
            keys: [prefix + "sess:" + session, prefix + "rt:" + Self.digest(token), prefix + "usess:" + account.uuidString],
            arguments: [account.uuidString, Self.digest(token), Self.nowMs, ttlMs, String(device.prefix(200)), ip ?? "", session],
            durable: true, logger: logger
        )
        return (session, token)
    }

    /// Rotates `token`: the old one stops working and a new one is returned. Presenting an already rotated token
    /// revokes its whole family.
    package func rotate(_ token: String, logger: Logger) async throws -> Rotation {
        guard Self.isWellFormed(token) else { return .invalid }
        let next = SecureRandom.token(byteCount: 32)
        let reply = try await redis.run(
            Self.rotateScript,
            keys: [prefix + "rt:" + Self.digest(token)],
            arguments: [prefix, Self.digest(token), Self.digest(next), Self.nowMs, ttlMs],
            durable: true, logger: logger
        )
        guard let parts = reply.array?.compactMap(\.string), let outcome = parts.first else { return .invalid }
        switch outcome {
        case "ok" where parts.count == 3:
            guard let account = UUID(uuidString: parts[2]) else { return .invalid }
            return .rotated(token: next, session: parts[1], account: account)
        case "reused" where parts.count == 3:
            guard let account = UUID(uuidString: parts[2]) else { return .invalid }
            return .reused(session: parts[1], account: account)
        default:
            return .invalid
        }
    }

    /// The session a refresh token belongs to, without rotating it (for logout by cookie).
    package func session(ofRefreshToken token: String, logger: Logger) async throws -> String? {
        guard Self.isWellFormed(token) else { return nil }
        return try await redis.send("GET", prefix + "rt:" + Self.digest(token), logger: logger).string
    }

    /// Whether `session` is live and belongs to `account`; marks it used. Called on every authenticated request,
    /// so a logout or password change takes effect at once rather than when the access token expires.
    package func touch(session: String, account: UUID, logger: Logger) async throws -> Bool {
        let reply = try await redis.run(
            Self.touchScript,
            keys: [prefix + "sess:" + session],
            arguments: [account.uuidString, Self.nowMs],
            logger: logger
        )
        return reply.int == 1
    }

    /// Ends one session. With `account`, only if the session is that account's (so ids cannot be used across
    /// accounts). Returns whether a session ended.
    @discardableResult
    package func revoke(session: String, account: UUID?, logger: Logger) async throws -> Bool {
        let reply = try await redis.run(
            Self.revokeScript,
            keys: [prefix + "sess:" + session],
            arguments: [prefix, account?.uuidString ?? "", session],
            durable: true, logger: logger
        )
        return reply.int == 1
    }

    /// Ends every session of `account`; returns how many ended.
    @discardableResult
    package func revokeAll(account: UUID, logger: Logger) async throws -> Int {
        try await redis.run(
            Self.revokeAllScript, keys: [prefix + "usess:" + account.uuidString], arguments: [prefix, account.uuidString], durable: true,
            logger: logger
        ).int ?? 0
    }

    /// The ids among `sessions` that are live (`SessionLiveness`, for the realtime hub's periodic check).
    package func liveSessions(_ sessions: [String], logger: Logger) async throws -> Set<String> {
        var live = Set<String>()
        // One script per thousand keys keeps each call short; a Lua script blocks Redis while it runs.
        for start in stride(from: 0, to: sessions.count, by: 1000) {
            let chunk = Array(sessions[start..<min(start + 1000, sessions.count)])
            let reply = try await redis.run(Self.liveScript, keys: chunk.map { prefix + "sess:" + $0 }, arguments: [], logger: logger)
            for index in reply.array?.compactMap(\.int) ?? [] where (1...chunk.count).contains(index) { live.insert(chunk[index - 1]) }
        }
        return live
    }

    /// The live sessions of `account`, most recently used first.
    package func sessions(of account: UUID, current: String?, logger: Logger) async throws -> [Session] {
        let reply = try await redis.run(Self.listScript, keys: [prefix + "usess:" + account.uuidString], arguments: [prefix], logger: logger)
        var sessions: [Session] = []
        for entry in reply.array ?? [] {
            guard let values = entry.array?.compactMap(\.string), values.count >= 1 else { continue }
            var fields: [String: String] = [:]
            var index = 1
            while index + 1 < values.count {
                fields[values[index]] = values[index + 1]
                index += 2
            }
            sessions.append(Session(
                id: values[0],
                device: fields["device"] ?? "",
                ip: fields["ip"].flatMap { $0.isEmpty ? nil : $0 },
                createdAt: Self.date(fields["created"]),
                lastUsedAt: Self.date(fields["used"]),
                current: values[0] == current
            ))
        }
        return sessions.sorted { $0.lastUsedAt > $1.lastUsedAt }
    }

    // MARK: Helpers

    private var ttlMs: Int { Int(refreshLifetime.components.seconds) * 1000 }
    private static var nowMs: Int { Int(Date.now.timeIntervalSince1970 * 1000) }
    private static func date(_ ms: String?) -> Date { Date(timeIntervalSince1970: Double(Int(ms ?? "") ?? 0) / 1000) }
    static func digest(_ token: String) -> String { SHA256.hexDigest(Array(token.utf8)) }
    /// Our tokens are 43 base64url characters; anything else is not worth a Redis round trip.
    private static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }
}
