package import AgoraRedis
package import Foundation
package import Logging

/// Caps on open sockets per account and per client address, counted across every instance.
///
/// Each open socket holds a claim in two Redis sorted sets, `<prefix>ws:u:<accountId>` and `<prefix>ws:ip:<address>`,
/// scored by when the claim expires. A new socket is refused when either set already holds `limit` unexpired claims.
/// Claims are renewed with presence (every third of its TTL) and dropped on close, so a killed instance's sockets stop
/// counting within the TTL without anyone cleaning up after it.
package struct SocketClaims: Sendable {
    /// One socket's claim; give it back with `release`.
    package struct Claim: Sendable, Hashable {
        let id: String
        let userKey: String
        let ipKey: String?
    }

    private let redis: RedisClient
    private let prefix: String
    private let ttl: Duration
    private let perUser: Int
    private let perIP: Int

    /// - Parameters:
    ///   - perUser: sockets one account may hold open (`AGORA_WS_MAX_PER_USER`).
    ///   - perIP: sockets one client address may hold open (`AGORA_WS_MAX_PER_IP`).
    ///   - ttl: how long a claim outlives its last renewal (the presence TTL).
    package init(redis: RedisClient, prefix: String, perUser: Int, perIP: Int, ttl: Duration) {
        self.redis = redis
        self.prefix = prefix
        self.perUser = perUser
        self.perIP = perIP
        self.ttl = ttl
    }

    private var ttlMS: Int { Int(ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000) }

    /// A claim for a new socket of `user` from `ip`, or nil when either cap is reached.
    package func claim(user: UUID, ip: String?, logger: Logger) async throws -> Claim? {
        let id = UUID().uuidString
        let claim = Claim(id: id, userKey: prefix + "ws:u:" + user.uuidString, ipKey: ip.map { prefix + "ws:ip:" + $0 })
        let reply = try await redis.run(
            Self.claimScript, keys: [claim.userKey, claim.ipKey ?? ""],
            arguments: [id, Int(Date().timeIntervalSince1970 * 1000), ttlMS, perUser, perIP], logger: logger
        )
        return reply.int == 1 ? claim : nil
    }

    /// Gives a claim back (the socket closed).
    package func release(_ claim: Claim, logger: Logger) async throws {
        try await redis.run(Self.releaseScript, keys: [claim.userKey, claim.ipKey ?? ""], arguments: [claim.id], logger: logger)
    }

    /// Pushes the expiry of `claims` (this instance's open sockets) one TTL ahead.
    package func renew(_ claims: [Claim], logger: Logger) async throws {
        let expiry = Int(Date().timeIntervalSince1970 * 1000) + ttlMS
        for start in stride(from: 0, to: claims.count, by: 500) {
            let chunk = claims[start..<min(start + 500, claims.count)]
            var arguments: [any RedisArgument] = [expiry]
            for claim in chunk { arguments += [claim.id, claim.userKey, claim.ipKey ?? ""] }
            try await redis.run(Self.renewScript, keys: [], arguments: arguments, logger: logger)
        }
    }

    /// KEYS: user set, ip set ('' for none). ARGV: claim id, now ms, ttl ms, per-user cap, per-ip cap. 1 if claimed.
    static let claimScript = RedisScript(
        """
        local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
        if KEYS[2] ~= '' then
            redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
            if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 0 end
            redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
            redis.call('PEXPIRE', KEYS[2], ttl)
        end
        redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ttl)
        return 1
        """
    )

    /// KEYS: user set, ip set ('' for none). ARGV: claim id.
    static let releaseScript = RedisScript(
        """
        redis.call('ZREM', KEYS[1], ARGV[1])
        if KEYS[2] ~= '' then redis.call('ZREM', KEYS[2], ARGV[1]) end
        return 1
        """
    )

    /// ARGV: expiry ms, then (claim id, user set, ip set or '') per claim. Keys are named in ARGV: a renewal touches
    /// many sets at once, which Redis Cluster would refuse; Agora runs one Redis (or a replicated primary).
    static let renewScript = RedisScript(
        """
        local expiry = tonumber(ARGV[1])
        for i = 2, #ARGV, 3 do
            redis.call('ZADD', ARGV[i + 1], 'XX', expiry, ARGV[i])
            redis.call('PEXPIREAT', ARGV[i + 1], expiry)
            if ARGV[i + 2] ~= '' then
                redis.call('ZADD', ARGV[i + 2], 'XX', expiry, ARGV[i])
                redis.call('PEXPIREAT', ARGV[i + 2], expiry)
            end
        end
        return 1
        """
    )
}
