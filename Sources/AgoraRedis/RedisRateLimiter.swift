import Foundation
package import Logging

/// One limit: at most `limit` requests per `period` for the subject named by `key`.
package struct RateLimitRule: Sendable, Equatable {
    /// The full Redis key, e.g. `agora:rl:auth-ip:203.0.113.9`.
    package var key: String
    package var limit: Int
    package var period: Duration

    package init(key: String, limit: Int, period: Duration) {
        precondition(limit > 0, "a rate limit must allow at least one request")
        self.key = key
        self.limit = limit
        self.period = period
    }
}

/// The verdict for a request, with what the `RateLimit-*` response headers report.
package struct RateLimitDecision: Sendable, Equatable {
    package var isAllowed: Bool
    /// The limit of the most constrained rule.
    package var limit: Int
    /// Requests still allowed under that rule right now.
    package var remaining: Int
    /// Seconds until that rule's full quota is back.
    package var resetSeconds: Int
    /// Seconds until a refused request would be allowed (0 when allowed).
    package var retryAfterSeconds: Int
    /// The period of the most constrained rule, in seconds.
    package var windowSeconds: Int
}

/// Rate limits shared by every instance, kept in Redis and decided by one Lua script per request.
///
/// The algorithm is GCRA (the generic cell rate algorithm, a leaky bucket that stores one timestamp per key):
/// `limit` requests may come at once, then one per `period / limit`. So "10 per minute" lets an 11th request in
/// through only after six seconds have passed, and never more than 10 in any 60-second window. Several rules are
/// checked together and a request counts against all of them only if all allow it. The clock is Redis's own
/// (`TIME`), so instances with skewed clocks still agree.
package struct RedisRateLimiter: Sendable {
    private let redis: RedisClient

    package init(redis: RedisClient) {
        self.redis = redis
    }

    /// Checks `rules` and, if every one allows it, counts one request against each.
    package func check(_ rules: [RateLimitRule], logger: Logger) async throws -> RateLimitDecision {
        precondition(!rules.isEmpty, "no rules to check")
        var arguments: [any RedisArgument] = []
        for rule in rules {
            arguments.append(rule.limit)
            arguments.append(Int(rule.period.components.seconds) * 1000 + Int(rule.period.components.attoseconds / 1_000_000_000_000_000))
        }
        let reply = try await redis.run(Self.script, keys: rules.map(\.key), arguments: arguments, logger: logger)
        guard let values = reply.array?.compactMap(\.int), values.count == 5 else {
            throw RedisError(.unexpectedReply, message: "rate limit script returned \(reply)")
        }
        let index = values[1]
        return RateLimitDecision(
            isAllowed: values[0] == 1,
            limit: rules[index].limit,
            remaining: values[2],
            resetSeconds: Self.seconds(ms: values[3]),
            retryAfterSeconds: values[0] == 1 ? 0 : max(1, Self.seconds(ms: values[4])),
            windowSeconds: Int(rules[index].period.components.seconds)
        )
    }

    private static func seconds(ms: Int) -> Int { (ms + 999) / 1000 }

    /// KEYS: one per rule. ARGV: limit, period ms for each rule.
    /// Returns {allowed, index (0-based) of the most constrained rule, its remaining, its reset ms, retry ms}.
    static let script = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local allowed = true
        local retry = 0
        local rules = {}
        for i = 1, #KEYS do
            local limit = tonumber(ARGV[2 * i - 1])
            local period = tonumber(ARGV[2 * i])
            local interval = period / limit
            local tat = tonumber(redis.call('GET', KEYS[i])) or now
            if tat < now then tat = now end
            local wait = tat + interval - period - now
            if wait > 0 then
                allowed = false
                if wait > retry then retry = wait end
            end
            rules[i] = {tat, limit, period, interval}
        end
        local worst, worstRemaining, worstReset = 0, nil, 0
        for i = 1, #KEYS do
            local tat, limit, period, interval = rules[i][1], rules[i][2], rules[i][3], rules[i][4]
            if allowed then
                tat = tat + interval
                redis.call('SET', KEYS[i], tostring(tat), 'PX', math.max(1, math.ceil(tat - now)))
            end
            local remaining = math.max(0, math.floor((now + period - tat) / interval))
            if worstRemaining == nil or remaining < worstRemaining then
                worst, worstRemaining, worstReset = i - 1, remaining, math.ceil(tat - now)
            end
        end
        return {allowed and 1 or 0, worst, worstRemaining, worstReset, math.ceil(retry)}
        """
    )
}

extension RateLimitDecision {
    /// The `RateLimit-*` response fields (draft-ietf-httpapi-ratelimit-headers) describing this decision.
    package var headerFields: [String: String] {
        [
            "RateLimit-Limit": String(limit),
            "RateLimit-Remaining": String(remaining),
            "RateLimit-Reset": String(resetSeconds),
            "RateLimit-Policy": "\(limit);w=\(windowSeconds)",
        ]
    }
}
