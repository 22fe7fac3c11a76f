import AgoraCore
import AgoraRedis
import HTTPTypes
import Hummingbird
import Logging

/// The general API limit (per user, or per IP when anonymous) and the payment limit (per user, on unsafe requests
/// under the payment paths), both in Redis so every instance counts together.
///
/// Every `/api` response carries `RateLimit-*` fields; a refused request gets 429 with `Retry-After`. If Redis
/// cannot be reached the request goes through (logged as a warning): the general limit protects capacity, and
/// refusing all traffic because the limiter is down would be the bigger outage. The login limits, which guard
/// against password guessing, fail closed instead (see `AuthRateLimits`).
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AgoraRequestContext
    let limiter: RedisRateLimiter
    let prefix: String
    let settings: RateLimitSettings
    /// Paths whose unsafe requests count against the payment limit.
    var paymentPaths = ["/api/checkout", "/api/payments"]
    /// Provider webhooks are not limited: they are verified by signature, and refusing one only delays a payment
    /// the provider will deliver again.
    var exemptPaths = ["/api/payments/webhooks/"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path == "/api" || path.hasPrefix("/api/"), !exemptPaths.contains(where: { path.hasPrefix($0) }) else {
            return try await next(request, context)
        }
        let subject = context.identity.map { "u:\($0.accountID)" } ?? "ip:\(context.clientIP ?? "unknown")"
        var rules = [RateLimitRule(key: prefix + "rl:gen:" + subject, limit: settings.general, period: settings.window)]
        if request.method != .get, request.method != .head, paymentPaths.contains(where: { path.hasPrefix($0) }) {
            rules.append(RateLimitRule(key: prefix + "rl:pay:" + subject, limit: settings.payment, period: settings.window))
        }
        let decision: RateLimitDecision
        do {
            decision = try await limiter.check(rules, logger: context.logger)
        } catch {
            context.logger.warning("Rate limiter unavailable; request allowed", metadata: ["error": "\(error)"])
            return try await next(request, context)
        }
        guard decision.isAllowed else {
            throw AgoraError(
                .rateLimited,
                "Too many requests; try again in \(decision.retryAfterSeconds) seconds",
                retryAfter: decision.retryAfterSeconds,
                headers: decision.headerFields
            )
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch var error as AgoraError {
            for (name, value) in decision.headerFields where error.headers[name] == nil { error.headers[name] = value }
            throw error
        }
        for (name, value) in decision.headerFields {
            if let field = HTTPField.Name(name), response.headers[field] == nil { response.headers[field] = value }
        }
        return response
    }
}
