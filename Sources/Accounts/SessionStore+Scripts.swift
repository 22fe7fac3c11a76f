import AgoraRedis

// The Lua behind SessionStore. Each runs atomically in Redis, which is what makes rotation safe across instances.
// Every script that ends a session also publishes `SessionSignals` on the account's channel (`<prefix>u:<uid>`), in
// the same atomic step, so the sockets of that session close on every instance.
extension SessionStore {
    /// KEYS: sess, rt, usess. ARGV: uid, token hash, now ms, ttl ms, device, ip, sid.
    static let createScript = RedisScript(
        """
        redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'cur', ARGV[2], 'created', ARGV[3], 'used', ARGV[3], 'device', ARGV[5], 'ip', ARGV[6])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[4])
        redis.call('SADD', KEYS[3], ARGV[7])
        redis.call('PEXPIRE', KEYS[3], ARGV[4])
        return 1
        """
    )

    /// KEYS: rt of the presented token. ARGV: prefix, its hash, the next token's hash, now ms, ttl ms.
    /// The presented token's key is kept (it expires on its own) so that presenting it again is seen as reuse.
    static let rotateScript = RedisScript(
        """
        local sid = redis.call('GET', KEYS[1])
        if not sid then return {'invalid'} end
        local sess = ARGV[1] .. 'sess:' .. sid
        local fields = redis.call('HMGET', sess, 'cur', 'uid')
        local cur, uid = fields[1], fields[2]
        if not cur or not uid then return {'invalid'} end
        if cur ~= ARGV[2] then
            redis.call('DEL', sess)
            redis.call('SREM', ARGV[1] .. 'usess:' .. uid, sid)
            redis.call('PUBLISH', ARGV[1] .. 'u:' .. uid, 's' .. sid .. '\\n')
            return {'reused', sid, uid}
        end
        redis.call('HSET', sess, 'cur', ARGV[3], 'used', ARGV[4])
        redis.call('PEXPIRE', sess, ARGV[5])
        redis.call('SET', ARGV[1] .. 'rt:' .. ARGV[3], sid, 'PX', ARGV[5])
        redis.call('PEXPIRE', ARGV[1] .. 'usess:' .. uid, ARGV[5])
        return {'ok', sid, uid}
        """
    )

    /// KEYS: sess. ARGV: uid, now ms.
    static let touchScript = RedisScript(
        """
        if redis.call('HGET', KEYS[1], 'uid') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'used', ARGV[2])
        return 1
        """
    )

    /// KEYS: sess. ARGV: prefix, required uid or '', sid.
    static let revokeScript = RedisScript(
        """
        local uid = redis.call('HGET', KEYS[1], 'uid')
        if not uid then return 0 end
        if ARGV[2] ~= '' and uid ~= ARGV[2] then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('SREM', ARGV[1] .. 'usess:' .. uid, ARGV[3])
        redis.call('PUBLISH', ARGV[1] .. 'u:' .. uid, 's' .. ARGV[3] .. '\\n')
        return 1
        """
    )

    /// KEYS: usess. ARGV: prefix, uid.
    static let revokeAllScript = RedisScript(
        """
        local ended = 0
        for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            ended = ended + redis.call('DEL', ARGV[1] .. 'sess:' .. sid)
        end
        redis.call('DEL', KEYS[1])
        redis.call('PUBLISH', ARGV[1] .. 'u:' .. ARGV[2], 's*\\n')
        return ended
        """
    )

    /// KEYS: sess of each session asked about. Returns the 1-based indexes of those that exist.
    static let liveScript = RedisScript(
        """
        local live = {}
        for i, key in ipairs(KEYS) do
            if redis.call('EXISTS', key) == 1 then live[#live + 1] = i end
        end
        return live
        """
    )

    /// KEYS: usess. ARGV: prefix. Returns {sid, field, value, ...} per live session; drops ids whose session expired.
    static let listScript = RedisScript(
        """
        local out = {}
        for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            local fields = redis.call('HGETALL', ARGV[1] .. 'sess:' .. sid)
            if #fields == 0 then
                redis.call('SREM', KEYS[1], sid)
            else
                local entry = {sid}
                for i = 1, #fields do entry[#entry + 1] = fields[i] end
                out[#out + 1] = entry
            end
        end
        return out
        """
    )
}
