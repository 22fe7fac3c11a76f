package import AgoraCore
import Foundation
import HTTPTypes
package import Hummingbird
import Logging

/// Finds the caller: an access token from `Authorization: Bearer` or, for the PWA, the `HttpOnly` access cookie.
///
/// A valid token whose session is live becomes `context.identity`. A missing, expired or refused token leaves the
/// request anonymous with `context.authFailure` set, so public routes still work and `requireIdentity()` can say
/// why it refuses. Cookie-authenticated unsafe requests must pass the `OriginPolicy` (CSRF).
package struct AuthMiddleware: RouterMiddleware {
    package typealias Context = AgoraRequestContext
    let auth: AuthService
    let origins: OriginPolicy

    package init(auth: AuthService, origins: OriginPolicy) {
        self.auth = auth
        self.origins = origins
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let (token, transport) = Self.credentials(in: request) else { return try await next(request, context) }
        var context = context
        switch try await auth.identity(accessToken: token, transport: transport, logger: context.logger) {
        case .success(let identity):
            if transport == .cookie, !request.method.isSafe {
                try origins.check(origin: request.headers[.origin], referer: request.headers[.referer])
            }
            context.identity = identity
            context.logger[agora: .account] = "\(identity.accountID)"
        case .failure(let failure):
            context.authFailure = failure
        }
        return try await next(request, context)
    }

    /// The access token and how it came; a Bearer header wins over the cookie.
    static func credentials(in request: Request) -> (String, Identity.Transport)? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return (String(parts[1]).trimmingCharacters(in: .whitespaces), .bearer) }
        }
        if let cookie = request.cookies[AuthCookies.access] { return (cookie.value, .cookie) }
        return nil
    }
}

extension HTTPRequest.Method {
    /// GET, HEAD and OPTIONS: methods that must not change anything, so they need no CSRF check.
    var isSafe: Bool { self == .get || self == .head || self == .options }
}
