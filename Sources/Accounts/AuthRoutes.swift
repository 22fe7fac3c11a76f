package import AgoraCore
import Foundation
import HTTPTypes
package import Hummingbird
import Logging

/// `/api/auth/*`: register, log in, refresh, log out, verify email, reset password.
package struct AuthRoutes: Sendable {
    let auth: AuthService
    let cookies: AuthCookies
    let origins: OriginPolicy

    package init(auth: AuthService, cookies: AuthCookies, origins: OriginPolicy) {
        self.auth = auth
        self.cookies = cookies
        self.origins = origins
    }

    /// The body of a login, refresh or registration response. `refreshToken` only for a client that asked for its
    /// tokens in the body (`Agora-Token-Delivery: body`); a browser gets it as an `HttpOnly` cookie instead.
    struct GrantBody: ResponseEncodable {
        var accessToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
        var expiresAt: Date
        var refreshToken: String?
        var account: Account

        init(_ grant: AuthService.Grant, inBody: Bool = false) {
            accessToken = grant.accessToken
            expiresIn = grant.accessLifetime
            expiresAt = grant.accessExpiresAt
            refreshToken = inBody ? grant.refreshToken : nil
            account = grant.account
        }
    }

    /// The header a client without cookies (a native app, a server) sends to log in or register with its refresh
    /// token in the response body, and no cookie set.
    static let tokenDelivery = HTTPField.Name("Agora-Token-Delivery")!

    /// Whether the request asks for its tokens in the body.
    /// - Throws: 400 for a value other than `body` or `cookie`.
    static func wantsBody(_ request: Request) throws -> Bool {
        guard let value = request.headers[tokenDelivery] else { return false }
        switch value.lowercased() {
        case "body": return true
        case "cookie": return false
        default: throw AgoraError(.badRequest, code: "invalid_token_delivery", "Agora-Token-Delivery must be body or cookie")
        }
    }

    /// A refresh or logout body: the refresh token of a client that keeps it itself. The field may be absent (the
    /// cookie is used then), but when present it must be a string: `null` or a number is a 400, never a fallback.
    struct RefreshBody: Decodable {
        var refreshToken: String?

        enum CodingKeys: String, CodingKey { case refreshToken }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            refreshToken = container.contains(.refreshToken) ? try container.decode(String.self, forKey: .refreshToken) : nil
        }
    }

    /// The refresh token in a JSON body, if the request has one.
    static func bodyToken(_ request: Request, context: AgoraRequestContext) async throws -> String? {
        var request = request
        let bytes = try await request.collectBody(upTo: context.maxUploadSize)
        guard bytes.readableBytes > 0 else { return nil }
        guard let token = try await request.decode(as: RefreshBody.self, context: context).refreshToken else { return nil }
        return token
    }

    struct Login: Decodable {
        var email: String?
        var password: String?
        /// A name for the session list (e.g. "Pixel 8"); the User-Agent otherwise.
        var device: String?
    }

    struct TokenBody: Decodable { var token: String? }
    struct EmailBody: Decodable { var email: String? }
    struct ResetBody: Decodable {
        var token: String?
        var password: String?
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        let group = router.group("/api/auth")
        group.post("register", use: register)
        group.post("login", use: login)
        group.post("refresh", use: refresh)
        group.post("logout", use: logout)
        group.post("logout-all", use: logoutAll)
        group.post("verify-email", use: verifyEmail)
        group.post("verify-email/resend", use: resendVerification)
        group.post("password-reset", use: requestReset)
        group.post("password-reset/confirm", use: confirmReset)
    }

    @Sendable func register(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<GrantBody> {
        try origins.checkIfPresent(origin: request.headers[.origin])
        let input = try await request.decode(as: AccountsService.Registration.self, context: context)
        try await auth.limiter.check(ip: context.clientIP, account: input.email, logger: context.logger)
        let account = try await auth.accounts.register(input, logger: context.logger)
        context.logger.info("Account registered", metadata: [LogKey.account.rawValue: "\(account.id)"])
        let grant = try await auth.startSession(for: account, device: Self.device(nil, request), ip: context.clientIP, logger: context.logger)
        let inBody = try Self.wantsBody(request)
        return EditedResponse(status: .created, headers: inBody ? [:] : cookies.set(grant), response: GrantBody(grant, inBody: inBody))
    }

    @Sendable func login(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<GrantBody> {
        try origins.checkIfPresent(origin: request.headers[.origin])
        let input = try await request.decode(as: Login.self, context: context)
        var errors = FieldErrors()
        if (input.email ?? "").isEmpty { errors.add("email", "is required") }
        if (input.password ?? "").isEmpty { errors.add("password", "is required") }
        try errors.throwIfAny()
        let inBody = try Self.wantsBody(request)
        let grant = try await auth.login(
            email: input.email ?? "", password: input.password ?? "", device: Self.device(input.device, request), ip: context.clientIP, logger: context.logger
        )
        return EditedResponse(headers: inBody ? [:] : cookies.set(grant), response: GrantBody(grant, inBody: inBody))
    }

    @Sendable func refresh(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        // A client that keeps its refresh token sends it in the body and gets the next one there: no cookie, and no
        // Origin check, since nothing ambient authenticates it. Rotation and reuse detection are the same.
        if let token = try await Self.bodyToken(request, context: context) {
            return try await GrantBody(auth.refresh(token, logger: context.logger), inBody: true).response(from: request, context: context)
        }
        guard let token = request.cookies[AuthCookies.refresh]?.value, !token.isEmpty else {
            throw AgoraError(.unauthorized, code: "invalid_refresh_token", "No session cookie; log in")
        }
        // The refresh cookie is ambient authority: only our own pages may use it.
        try origins.check(origin: request.headers[.origin], referer: request.headers[.referer])
        do {
            let grant = try await auth.refresh(token, logger: context.logger)
            var response = try GrantBody(grant).response(from: request, context: context)
            response.headers.append(contentsOf: cookies.set(grant))
            return response
        } catch let error as AgoraError where error.kind == .unauthorized {
            // Also tell the browser to drop cookies that will never work again.
            var response = try error.response(from: request, context: context)
            response.headers.append(contentsOf: cookies.cleared())
            return response
        }
    }

    @Sendable func logout(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        if let token = try await Self.bodyToken(request, context: context) {
            // The session of the refresh token in the body (a client without cookies); an unknown one ends nothing.
            if let session = try await auth.sessions.session(ofRefreshToken: token, logger: context.logger) {
                try await auth.sessions.revoke(session: session, account: nil, logger: context.logger)
            }
            return Response(status: .noContent)
        }
        if let token = request.cookies[AuthCookies.refresh]?.value {
            try origins.check(origin: request.headers[.origin], referer: request.headers[.referer])
            if let session = try await auth.sessions.session(ofRefreshToken: token, logger: context.logger) {
                try await auth.sessions.revoke(session: session, account: nil, logger: context.logger)
            }
        } else if let identity = context.identity {
            try await auth.sessions.revoke(session: identity.sessionID, account: identity.accountID, logger: context.logger)
        } else {
            throw context.authFailure.map { _ in AgoraError(.unauthorized, code: "authentication_required", "Log in to do this") }
                ?? AgoraError(.unauthorized, code: "authentication_required", "No session to log out of")
        }
        return Response(status: .noContent, headers: cookies.cleared())
    }

    @Sendable func logoutAll(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let ended = try await auth.sessions.revokeAll(account: identity.accountID, logger: context.logger)
        context.logger.info("Logged out everywhere", metadata: ["sessions": "\(ended)"])
        return Response(status: .noContent, headers: cookies.cleared())
    }

    @Sendable func verifyEmail(_ request: Request, context: AgoraRequestContext) async throws -> Account {
        let input = try await request.decode(as: TokenBody.self, context: context)
        try await auth.limiter.check(ip: context.clientIP, account: nil, logger: context.logger)
        return try await auth.accounts.verifyEmail(token: input.token ?? "", logger: context.logger)
    }

    @Sendable func resendVerification(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try await auth.limiter.check(ip: context.clientIP, account: identity.accountID.uuidString, logger: context.logger)
        try await auth.accounts.resendVerification(id: identity.accountID, logger: context.logger)
        return Response(status: .accepted)
    }

    @Sendable func requestReset(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let input = try await request.decode(as: EmailBody.self, context: context)
        guard let email = input.email, !email.isEmpty else {
            throw AgoraError(.validation, "An email address is needed", fields: ["email": "is required"])
        }
        try await auth.limiter.check(ip: context.clientIP, account: email, logger: context.logger)
        try await auth.accounts.requestPasswordReset(email: email, logger: context.logger)
        // The same answer whether or not the address has an account.
        return Response(status: .accepted)
    }

    @Sendable func confirmReset(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let input = try await request.decode(as: ResetBody.self, context: context)
        try await auth.limiter.check(ip: context.clientIP, account: nil, logger: context.logger)
        try await auth.accounts.resetPassword(token: input.token ?? "", newPassword: input.password ?? "", logger: context.logger)
        return Response(status: .noContent, headers: cookies.cleared())
    }

    static func device(_ given: String?, _ request: Request) -> String {
        let name = given?.trimmingCharacters(in: .whitespacesAndNewlines) ?? request.headers[.userAgent] ?? "unknown"
        return String(name.unicodeScalars.filter { $0.properties.generalCategory != .control }.prefix(200).map(Character.init))
    }
}

// Done here, so the model files never import Hummingbird.
extension Account: ResponseEncodable {}
extension PublicProfile: ResponseEncodable {}
