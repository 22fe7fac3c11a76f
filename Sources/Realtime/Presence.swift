package import AgoraPostgres
package import AgoraRedis
package import Foundation
package import Logging

/// Who is online, right across instances and surviving an instance crash.
///
/// In Redis, each user has a sorted set of the instances that hold a connection of theirs, scored by when that claim
/// expires; every instance renews its claims every third of `ttl`. A user is online while any claim is unexpired. A
/// global set scores each user by their latest claim, so whichever instance sweeps first finds users whose every
/// claim ran out (their instance was killed) and says they went offline. The last-seen time and the choice to hide
/// are kept in PostgreSQL (`presence`).
package struct Presence: Sendable {
    /// One user's presence as others may see it.
    package struct Status: Sendable, Codable, Equatable {
        package var userId: UUID
        package var online: Bool
        package var lastSeen: Date?

        enum CodingKeys: String, CodingKey { case userId, online, lastSeen }

        package init(userId: UUID, online: Bool, lastSeen: Date?) {
            self.userId = userId
            self.online = online
            self.lastSeen = lastSeen
        }

        /// Writes `"lastSeen": null` rather than leaving it out.
        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(userId, forKey: .userId)
            try container.encode(online, forKey: .online)
            try container.encode(lastSeen, forKey: .lastSeen)
        }
    }

    let redis: RedisClient
    let db: PGPool
    let prefix: String
    /// How long a claim lasts unless renewed (`AGORA_PRESENCE_TTL_SECONDS`).
    package let ttl: Duration
    /// This process, in the claims.
    let instance: String

    package init(redis: RedisClient, db: PGPool, prefix: String, ttl: Duration) {
        self.redis = redis
        self.db = db
        self.prefix = prefix
        self.ttl = ttl
        self.instance = UUID().uuidString
    }

    var allKey: String { prefix + "presence:all" }
    func key(_ user: UUID) -> String { prefix + "presence:" + user.uuidString }
    var nowMS: Int { Int(Date().timeIntervalSince1970 * 1000) }
    var ttlMS: Int { Int(ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000) }

    /// Claims `user` for this instance; true if they were offline before.
    func up(_ user: UUID, logger: Logger) async throws -> Bool {
        let now = nowMS
        let reply = try await redis.run(Self.upScript, keys: [key(user), allKey], arguments: [instance, now, now + ttlMS, user.uuidString], logger: logger)
        return reply.int == 0
    }

    /// Drops this instance's claim on `user`; true if that left them offline.
    func down(_ user: UUID, logger: Logger) async throws -> Bool {
        let reply = try await redis.run(Self.downScript, keys: [key(user), allKey], arguments: [instance, nowMS, user.uuidString], logger: logger)
        return reply.int == 1
    }

    /// Renews this instance's claims on `users`.
    func renew(_ users: [UUID], logger: Logger) async throws {
        guard !users.isEmpty else { return }
        let expiry = nowMS + ttlMS
        for chunk in users.chunked(500) {
            try await redis.run(Self.renewScript, keys: [allKey], arguments: [prefix + "presence:", instance, expiry] + chunk.map(\.uuidString), logger: logger)
        }
    }

    /// Users whose every claim expired (their instance died), now marked offline; each is returned by one sweep only.
    func sweepExpired(logger: Logger) async throws -> [UUID] {
        let reply = try await redis.run(Self.sweepScript, keys: [allKey], arguments: [nowMS, prefix + "presence:", 500], logger: logger)
        return (reply.array ?? []).compactMap { $0.string.flatMap(UUID.init(uuidString:)) }
    }

    /// Records when `user` went offline.
    func wentOffline(_ user: UUID, logger: Logger) async throws -> Date {
        let rows = try await db.query(
            """
            INSERT INTO presence (user_id, last_seen) VALUES (\(user), now())
            ON CONFLICT (user_id) DO UPDATE SET last_seen = now() RETURNING last_seen
            """,
            logger: logger
        )
        return try rows.one().decode("last_seen")
    }

    /// Whether `user` hides their presence.
    package func isHidden(_ user: UUID, logger: Logger) async throws -> Bool {
        try await db.query("SELECT hidden FROM presence WHERE user_id = \(user)", logger: logger).first?.decode("hidden") ?? false
    }

    /// Hides (or shows) `user`'s presence from everyone.
    package func setHidden(_ user: UUID, _ hidden: Bool, logger: Logger) async throws {
        try await db.execute(
            "INSERT INTO presence (user_id, hidden) VALUES (\(user), \(hidden)) ON CONFLICT (user_id) DO UPDATE SET hidden = EXCLUDED.hidden",
            logger: logger
        )
    }

    /// The presence of `users` as others see it: hidden users are always offline with no last-seen time.
    package func status(of users: [UUID], logger: Logger) async throws -> [Status] {
        guard !users.isEmpty else { return [] }
        let online = try await isOnline(users, logger: logger)
        let rows = try await db.query("SELECT user_id, hidden, last_seen FROM presence WHERE user_id = ANY(\(users))", logger: logger)
        var stored: [UUID: (hidden: Bool, lastSeen: Date?)] = [:]
        for row in rows { stored[try row.decode("user_id")] = (try row.decode("hidden"), try row.decode("last_seen")) }
        return users.enumerated().map { index, user in
            let entry = stored[user]
            if entry?.hidden == true { return Status(userId: user, online: false, lastSeen: nil) }
            return Status(userId: user, online: online[index], lastSeen: entry?.lastSeen)
        }
    }

    /// Whether each of `users` has a connection on some instance, hidden or not (for the server's own decisions,
    /// such as whether to leave an offline notice; never shown to others).
    package func isOnline(_ users: [UUID], logger: Logger) async throws -> [Bool] {
        guard !users.isEmpty else { return [] }
        let reply = try await redis.run(Self.queryScript, keys: [], arguments: [nowMS, prefix + "presence:"] + users.map(\.uuidString), logger: logger)
        let online = (reply.array ?? []).map { $0.int == 1 }
        return users.indices.map { $0 < online.count && online[$0] }
    }

    // KEYS[1] the user's claims, KEYS[2] the global set; ARGV instance, now, expiry, user. Returns live claims before.
    static let upScript = RedisScript("""
        local alive = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
        local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
        redis.call('PEXPIREAT', KEYS[1], top[2])
        redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[4])
        return alive
        """)

    // KEYS[1] the user's claims, KEYS[2] the global set; ARGV instance, now, user. Returns 1 if now offline.
    static let downScript = RedisScript("""
        redis.call('ZREM', KEYS[1], ARGV[1])
        if redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf') > 0 then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[3])
        return 1
        """)

    // KEYS[1] the global set; ARGV key prefix, instance, expiry, users...
    static let renewScript = RedisScript("""
        for i = 4, #ARGV do
            local key = ARGV[1] .. ARGV[i]
            redis.call('ZADD', key, ARGV[3], ARGV[2])
            local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
            redis.call('PEXPIREAT', key, top[2])
            redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[i])
        end
        return #ARGV - 3
        """)

    // KEYS[1] the global set; ARGV now, key prefix, limit. Returns the users found expired (and removes them).
    static let sweepScript = RedisScript("""
        local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
        for _, user in ipairs(users) do
            redis.call('ZREM', KEYS[1], user)
            redis.call('DEL', ARGV[2] .. user)
        end
        return users
        """)

    // ARGV now, key prefix, users... Returns 1 or 0 per user.
    static let queryScript = RedisScript("""
        local out = {}
        for i = 3, #ARGV do
            out[#out + 1] = redis.call('ZCOUNT', ARGV[2] .. ARGV[i], '(' .. ARGV[1], '+inf') > 0 and 1 or 0
        end
        return out
        """)
}

/// Who hears of a user's presence changes (their conversation partners).
package protocol PresenceAudience: Sendable {
    func audience(of user: UUID, logger: Logger) async throws -> [UUID]
}
