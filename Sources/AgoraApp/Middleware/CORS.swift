import Accounts
import AgoraCore
import Foundation
import HTTPTypes
import Hummingbird

/// Cross-origin requests from the web clients in `AGORA_CORS_ORIGINS` (a native app needs none: it is not a browser).
///
/// A listed origin gets `Access-Control-Allow-Origin` naming it (never `*`), `Access-Control-Allow-Credentials`,
/// `Vary: Origin` and the headers it may read; its preflight (`OPTIONS` with `Access-Control-Request-Method`) is
/// answered here, before routing, with the methods and headers the API takes and `Access-Control-Max-Age`, so a
/// browser asks once per `AGORA_CORS_MAX_AGE`. Any other origin gets no CORS header, so the browser keeps the
/// answer from the page, and its preflight is a 403. Listed origins count as our own for the cookie CSRF check
/// (`OriginPolicy`), which is what "credentials only for listed origins" means on the server's side.
struct CORSPolicy: Sendable {
    let origins: Set<String>
    let maxAge: Int

    init?(origins: [String], maxAge: Int) {
        let normalized = Set(origins.compactMap(OriginPolicy.normalize))
        guard !normalized.isEmpty else { return nil }
        self.origins = normalized
        self.maxAge = maxAge
    }

    static let methods = "GET, HEAD, POST, PUT, PATCH, DELETE"
    static let requestHeaders = "Authorization, Content-Type, Idempotency-Key, Agora-Token-Delivery, X-Request-ID"
    static let exposed = "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-ID"

    /// The listed origin a request comes from, normalized as it was listed; nil for a same-origin request or a foreign one.
    func listed(_ request: Request) -> String? {
        guard let origin = request.headers[.origin], let normalized = OriginPolicy.normalize(origin), origins.contains(normalized) else { return nil }
        return origin.trimmingCharacters(in: .whitespaces)
    }

    /// The answer to a preflight, or nil when the request is not one.
    /// - Throws: 403 `origin_not_allowed` for a preflight from an origin not listed.
    func preflight(_ request: Request) throws -> Response? {
        guard request.method == .options, request.headers[.origin] != nil, request.headers[.accessControlRequestMethod] != nil else { return nil }
        guard let origin = listed(request) else {
            throw AgoraError(.forbidden, code: "origin_not_allowed", "This origin may not call the API from a browser")
        }
        var headers: HTTPFields = [
            .accessControlAllowMethods: Self.methods, .accessControlAllowHeaders: Self.requestHeaders, .accessControlMaxAge: String(maxAge),
        ]
        decorate(&headers, origin: origin)
        return Response(status: .noContent, headers: headers)
    }

    /// Adds the headers a listed origin's page needs to read the response.
    func decorate(_ headers: inout HTTPFields, origin: String) {
        headers[.accessControlAllowOrigin] = origin
        headers[.accessControlAllowCredentials] = "true"
        headers[.accessControlExposeHeaders] = Self.exposed
        headers.append(HTTPField(name: .vary, value: "Origin"))
    }
}
