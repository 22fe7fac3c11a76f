package import AgoraCore
import Foundation
import HTTPTypes
package import Hummingbird
import Logging

/// `/api/auth/oauth/*` and `/api/me/oauth*`: logging in with, linking and unlinking an OAuth 2 provider (`OAuthLogin`).
package struct OAuthRoutes: Sendable {
    let oauth: OAuthLogin
    let auth: AuthService
    let cookies: AuthCookies
    let origins: OriginPolicy
    let secureCookies: Bool

    /// Holds the state between the start and the callback, in the browser that started (`HttpOnly`, `SameSite=Lax`:
    /// the provider's redirect back is a top-level GET, which Lax cookies go with).
    static let stateCookie = "agora_oauth"
    static let statePath = "/api/auth/oauth"

    package init(oauth: OAuthLogin, auth: AuthService, cookies: AuthCookies, origins: OriginPolicy, secureCookies: Bool) {
        self.oauth = oauth
        self.auth = auth
        self.cookies = cookies
        self.origins = origins
        self.secureCookies = secureCookies
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/auth/oauth/providers", use: providers)
        router.get("/api/auth/oauth/:provider/start", use: start)
        router.get("/api/auth/oauth/:provider/callback", use: callback)
        router.post("/api/auth/oauth/link/confirm", use: confirmLink)
        router.get("/api/me/oauth", use: links)
        router.post("/api/me/oauth/:provider/link", use: link)
        router.delete("/api/me/oauth/:provider", use: unlink)
    }

    struct ProviderView: ResponseEncodable {
        struct Item: Encodable {
            var name: String
            var displayName: String
        }
        var providers: [Item]
    }

    @Sendable func providers(_ request: Request, context: AgoraRequestContext) async throws -> ProviderView {
        ProviderView(providers: oauth.providers.values.sorted { $0.name < $1.name }.map { .init(name: $0.name, displayName: $0.displayName) })
    }

    /// Sends the browser to the provider.
    @Sendable func start(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let name = context.parameters.get("provider") ?? ""
        try await auth.limiter.check(ip: context.clientIP, account: nil, logger: context.logger)
        let (url, state) = try await oauth.start(name, linking: nil, logger: context.logger)
        var headers: HTTPFields = [.location: url, .cacheControl: "no-store"]
        headers.append(HTTPField(name: .setCookie, value: stateCookie(state).description))
        return Response(status: .found, headers: headers)
    }

    /// The link flow's start, for the logged-in account page: the URL to send the browser to (the state cookie is set
    /// on this response).
    struct LinkStart: ResponseEncodable { var url: String }

    @Sendable func link(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<LinkStart> {
        let identity = try context.requireIdentity()
        let (url, state) = try await oauth.start(context.parameters.get("provider") ?? "", linking: identity.accountID, logger: context.logger)
        return EditedResponse(headers: [.setCookie: stateCookie(state).description, .cacheControl: "no-store"], response: LinkStart(url: url))
    }

    /// The provider sends the browser back here: it leaves logged in (session cookies set), linked, asked for a
    /// password, or with an error, on a page of the app.
    @Sendable func callback(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let name = context.parameters.get("provider") ?? ""
        // No browser is sent back to a provider that is not configured: a plain 404, not a page of the app.
        _ = try oauth.provider(name)
        let query = request.uri.queryParameters
        let state = query["state"].map(String.init)
        let cookieState = request.cookies[Self.stateCookie]?.value
        var headers: HTTPFields = [.cacheControl: "no-store"]
        headers.append(HTTPField(name: .setCookie, value: clearedStateCookie().description))
        let outcome: OAuthLogin.Outcome
        do {
            outcome = try await oauth.finish(
                name, state: state, cookieState: cookieState, code: query["code"].map(String.init), error: query["error"].map(String.init),
                logger: context.logger)
        } catch {
            headers[.location] = "/login?oauthError=\(error.rawValue)"
            return Response(status: .found, headers: headers)
        }
        switch outcome {
        case .login(let account, let created):
            let device = String((request.headers[.userAgent] ?? "\(name) login").prefix(100))
            let grant = try await auth.startSession(for: account, device: device, ip: context.clientIP, logger: context.logger)
            headers.append(contentsOf: cookies.set(grant))
            headers[.location] = created ? "/explore?welcome=1" : "/"
            context.logger.info("Logged in with OAuth", metadata: ["oauth.provider": "\(name)", LogKey.account.rawValue: "\(account.id)"])
        case .linked:
            headers[.location] = "/account?linked=\(name)"
        case .confirmLink(let token, let email):
            // In the fragment: never sent to a server, so in no access log.
            let encoded = email.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            headers[.location] = "/login#oauthLink=\(token)&provider=\(name)&email=\(encoded)"
        }
        return Response(status: .found, headers: headers)
    }

    struct ConfirmBody: Decodable {
        var token: String?
        var password: String?
    }

    /// Proves the password of the account whose email the provider gave, links the provider, and logs in.
    @Sendable func confirmLink(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<AuthRoutes.GrantBody> {
        try origins.checkIfPresent(origin: request.headers[.origin])
        let input = try await request.decode(as: ConfirmBody.self, context: context)
        var errors = FieldErrors()
        if (input.token ?? "").isEmpty { errors.add("token", "is required") }
        if (input.password ?? "").isEmpty { errors.add("password", "is required") }
        try errors.throwIfAny()
        // Counted against the account whose password is tried, as a login is: the same budget, however it is tried.
        guard let email = try await oauth.pendingEmail(token: input.token ?? "", logger: context.logger) else { throw OAuthLogin.linkExpired }
        try await auth.limiter.check(ip: context.clientIP, account: email, logger: context.logger)
        let account = try await oauth.confirmLink(token: input.token ?? "", password: input.password ?? "", logger: context.logger)
        let device = String((request.headers[.userAgent] ?? "login").prefix(100))
        let grant = try await auth.startSession(for: account, device: device, ip: context.clientIP, logger: context.logger)
        let inBody = try AuthRoutes.wantsBody(request)
        return EditedResponse(headers: inBody ? [:] : cookies.set(grant), response: AuthRoutes.GrantBody(grant, inBody: inBody))
    }

    struct LinksView: ResponseEncodable {
        var links: [OAuthLogin.Link]
        var hasPassword: Bool
        var providers: [ProviderView.Item]
    }

    @Sendable func links(_ request: Request, context: AgoraRequestContext) async throws -> LinksView {
        let identity = try context.requireIdentity()
        let (links, hasPassword) = try await oauth.links(of: identity.accountID, logger: context.logger)
        let available = oauth.providers.values.sorted { $0.name < $1.name }.map { ProviderView.Item(name: $0.name, displayName: $0.displayName) }
        return LinksView(links: links, hasPassword: hasPassword, providers: available)
    }

    @Sendable func unlink(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let name = context.parameters.get("provider") ?? ""
        guard name.count <= 30 else { throw AgoraError(.notFound, code: "oauth_not_linked", "That provider is not linked to your account") }
        try await oauth.unlink(name, account: identity.accountID, logger: context.logger)
        return Response(status: .noContent)
    }

    private func stateCookie(_ state: String) -> Cookie {
        Cookie(
            name: Self.stateCookie, value: state, maxAge: Int(oauth.stateLifetime.components.seconds), path: Self.statePath, secure: secureCookies,
            httpOnly: true, sameSite: .lax)
    }

    private func clearedStateCookie() -> Cookie {
        Cookie(name: Self.stateCookie, value: "", maxAge: 0, path: Self.statePath, secure: secureCookies, httpOnly: true, sameSite: .lax)
    }
}
