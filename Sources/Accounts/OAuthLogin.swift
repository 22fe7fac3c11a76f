import AgoraCore
import AgoraCrypto
package import AgoraNet
package import AgoraPostgres
package import AgoraRedis
package import Foundation
package import Logging

/// Logging in with an OAuth 2 provider: the authorization-code flow with PKCE (S256) and `state` (RFC 6749, RFC 7636).
/// Discord by default; any provider of the same shape (an authorize URL, a token URL taking the code and verifier, a
/// user URL answering `{id, username, email, verified}` for the access token) works with its URLs in the settings.
///
/// - `start` makes a single-use `state` and a PKCE verifier, keeps them in Redis for `stateLifetime`, and returns the
///   provider's authorize URL. The browser also gets the state in a cookie, so a callback is accepted only in the
///   browser that started it (no login CSRF: an attacker's callback link fails in a victim's browser).
/// - `finish` takes the state once (`GETDEL`), exchanges the code with the verifier, reads the provider's user, and:
///   - a linked provider account logs in to its Agora account;
///   - a new one whose email is not registered gets a new account (the provider's email, verified if the provider
///     says so; no password until a reset sets one);
///   - a new one whose email is registered is never linked on the email alone: the user must prove the account's
///     password (`confirmLink`) within the state's lifetime;
///   - in link mode (a logged-in user on the account page), it is linked to that user.
/// - `unlink` refuses to remove an account's last way to log in.
package struct OAuthLogin: Sendable {
    /// One provider's settings (`AGORA_OAUTH_<NAME>_*`).
    package struct Provider: Sendable {
        /// `discord`: the path segment and the stored provider name.
        package var name: String
        /// Shown on the button ("Continue with Discord").
        package var displayName: String
        package var clientID: String
        package var clientSecret: String
        package var authorizeURL: String
        package var tokenURL: String
        package var userURL: String
        package var scopes: String
        /// PEM roots for the provider's HTTPS, instead of the system's (tests).
        package var caFile: String?

        package init(
            name: String, displayName: String, clientID: String, clientSecret: String, authorizeURL: String, tokenURL: String,
            userURL: String, scopes: String, caFile: String? = nil
        ) {
            self.name = name
            self.displayName = displayName
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.authorizeURL = authorizeURL
            self.tokenURL = tokenURL
            self.userURL = userURL
            self.scopes = scopes
            self.caFile = caFile
        }

        /// Discord's endpoints (https://discord.com/developers/docs/topics/oauth2).
        package static func discord(clientID: String, clientSecret: String) -> Provider {
            Provider(
                name: "discord", displayName: "Discord", clientID: clientID, clientSecret: clientSecret,
                authorizeURL: "https://discord.com/oauth2/authorize", tokenURL: "https://discord.com/api/oauth2/token",
                userURL: "https://discord.com/api/users/@me", scopes: "identify email"
            )
        }
    }

    /// Why a callback did not log anyone in: the code goes to the page the browser is sent back to.
    package enum Failure: String, Sendable, Error {
        /// No such state, already used, expired, or not this browser's.
        case invalidState = "invalid_state"
        /// The provider said no (the user cancelled, or an error).
        case providerError = "provider_error"
        /// The provider refused the code (replayed, expired, or a PKCE mismatch) or could not be reached.
        case exchangeFailed = "exchange_failed"
        /// The provider's user had no id, or no verified email for a new account.
        case profileUnusable = "profile_unusable"
        /// This provider account is linked to another Agora account.
        case alreadyLinked = "already_linked"
        /// The Agora account is suspended.
        case suspended
    }

    /// What a finished callback does.
    package enum Outcome: Sendable {
        /// Log in as this account (`created`: just made).
        case login(Account, created: Bool)
        /// Linked to the logged-in account that started the flow.
        case linked(Account)
        /// An account has this email: the user must prove its password (`confirmLink` with this token).
        case confirmLink(token: String, email: String)
    }

    /// What a state holds, in Redis, for `stateLifetime`.
    struct Pending: Codable {
        var provider: String
        var verifier: String
        /// The account linking a provider; nil when logging in.
        var linking: UUID?
        /// Only for a pending link: the provider's user waiting for a password.
        var subject: String?
        var username: String?
        var email: String?
    }

    /// A linked provider, as the account page shows it.
    package struct Link: Sendable, Encodable, Equatable {
        package var provider: String
        package var username: String
        package var linkedAt: Date
    }

    package let providers: [String: Provider]
    let accounts: AccountsService
    let db: PGPool
    let redis: RedisClient
    let prefix: String
    /// Where the provider sends the browser back: `<public URL>/api/auth/oauth/<name>/callback`.
    let publicURL: String
    let stateLifetime: Duration
    let timeout: Duration
    /// Each provider's token and user endpoints: a client (and its connection pool) made once, and the path to call.
    let endpoints: [String: (token: (HTTPSClient, String), user: (HTTPSClient, String))]

    /// - Throws: `HTTPClientError` for a provider URL or CA file that cannot be used.
    package init(
        providers: [Provider], accounts: AccountsService, db: PGPool, redis: RedisClient, prefix: String, publicURL: String,
        stateLifetime: Duration = .seconds(600), timeout: Duration = .seconds(10)
    ) throws {
        self.providers = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var endpoints: [String: (token: (HTTPSClient, String), user: (HTTPSClient, String))] = [:]
        for provider in self.providers.values {
            endpoints[provider.name] = (
                try Self.client(provider.tokenURL, caFile: provider.caFile, timeout: timeout),
                try Self.client(provider.userURL, caFile: provider.caFile, timeout: timeout)
            )
        }
        self.endpoints = endpoints
        self.accounts = accounts
        self.db = db
        self.redis = redis
        self.prefix = prefix
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.stateLifetime = stateLifetime
        self.timeout = timeout
    }

    /// The provider called `name`.
    /// - Throws: 404 `oauth_provider_not_found` for one that is not configured.
    package func provider(_ name: String) throws -> Provider {
        guard let provider = providers[name] else {
            throw AgoraError(.notFound, code: "oauth_provider_not_found", "No login provider called \(name.prefix(30))")
        }
        return provider
    }

    func redirectURI(_ provider: Provider) -> String { "\(publicURL)/api/auth/oauth/\(provider.name)/callback" }

    /// A new state for `provider` (linking to `account` when given) and the authorize URL to send the browser to.
    package func start(_ name: String, linking account: UUID?, logger: Logger) async throws -> (url: String, state: String) {
        let provider = try provider(name)
        let state = SecureRandom.token(byteCount: 32)
        let verifier = SecureRandom.token(byteCount: 32)  // 43 base64url characters, as RFC 7636 asks
        let challenge = Base64.encode(SHA256.hash(Array(verifier.utf8)), url: true, padding: false)
        try await store(state, Pending(provider: provider.name, verifier: verifier, linking: account), logger: logger)
        var url = URLComponents(string: provider.authorizeURL) ?? URLComponents()
        url.queryItems = (url.queryItems ?? []) + [
            URLQueryItem(name: "response_type", value: "code"),
            URLQueryItem(name: "client_id", value: provider.clientID),
            URLQueryItem(name: "redirect_uri", value: redirectURI(provider)),
            URLQueryItem(name: "scope", value: provider.scopes),
            URLQueryItem(name: "state", value: state),
            URLQueryItem(name: "code_challenge", value: challenge),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        // `+` and other reserved characters in values must be encoded for every provider's parser.
        url.percentEncodedQuery = url.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return (url.string ?? provider.authorizeURL, state)
    }

    /// Finishes a callback. `cookieState` is the state cookie of the browser that made the request.
    package func finish(
        _ name: String, state: String?, cookieState: String?, code: String?, error: String?, logger: Logger
    ) async throws(Failure) -> Outcome {
        guard let provider = providers[name], let state, state.count <= 128, let cookieState, cookieState == state else {
            throw .invalidState
        }
        // Taken once: a replayed callback finds nothing.
        guard let pending = try? await take(state, logger: logger), pending.provider == provider.name, pending.subject == nil else {
            throw .invalidState
        }
        if error != nil {
            logger.info("OAuth provider refused", metadata: ["oauth.provider": "\(provider.name)", "oauth.error": "\(error?.prefix(64) ?? "")"])
            throw .providerError
        }
        guard let code, !code.isEmpty, code.utf8.count <= 2048 else { throw .providerError }
        let user = try await fetchUser(provider, code: code, verifier: pending.verifier, logger: logger)
        do {
            return try await resolve(provider, user: user, linking: pending.linking, logger: logger)
        } catch let failure as Failure {
            throw failure
        } catch {
            logger.error("OAuth login failed", metadata: ["error": "\(error)"])
            throw .exchangeFailed
        }
    }

    /// The provider's user, as the user URL describes them.
    struct ProviderUser: Decodable {
        var id: String
        var username: String?
        var email: String?
        var verified: Bool?

        enum CodingKeys: String, CodingKey { case id, username, email, verified }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // Discord's ids are strings; some providers send numbers.
            if let text = try? container.decode(String.self, forKey: .id) {
                id = text
            } else {
                id = String(try container.decode(Int64.self, forKey: .id))
            }
            username = try? container.decodeIfPresent(String.self, forKey: .username)
            email = try? container.decodeIfPresent(String.self, forKey: .email)
            verified = try? container.decodeIfPresent(Bool.self, forKey: .verified)
        }
    }

    func fetchUser(_ provider: Provider, code: String, verifier: String, logger: Logger) async throws(Failure) -> ProviderUser {
        do {
            let form = [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI(provider)),
                ("client_id", provider.clientID), ("client_secret", provider.clientSecret), ("code_verifier", verifier),
            ]
            let body = Array(Self.formEncode(form).utf8)
            guard let (token, user) = endpoints[provider.name] else { throw Failure.exchangeFailed }
            let (tokenClient, tokenPath) = token
            let tokenResponse = try await tokenClient.send(
                .post, tokenPath, headers: [.init("Content-Type", "application/x-www-form-urlencoded"), .init("Accept", "application/json")], body: body)
            struct TokenAnswer: Decodable {
                var access_token: String?
                var token_type: String?
            }
            guard tokenResponse.status == 200, let answer = try? JSONDecoder().decode(TokenAnswer.self, from: Data(tokenResponse.body)),
                let accessToken = answer.access_token, !accessToken.isEmpty
            else {
                logger.info("OAuth code refused", metadata: ["oauth.provider": "\(provider.name)", "http.status": "\(tokenResponse.status)"])
                throw Failure.exchangeFailed
            }
            let (userClient, userPath) = user
            let userResponse = try await userClient.send(.get, userPath, headers: [.init("Authorization", "Bearer \(accessToken)"), .init("Accept", "application/json")])
            guard userResponse.status == 200 else { throw Failure.exchangeFailed }
            guard let user = try? JSONDecoder().decode(ProviderUser.self, from: Data(userResponse.body)), !user.id.isEmpty, user.id.utf8.count <= 255,
                !user.id.utf8.contains(0)
            else { throw Failure.profileUnusable }
            return user
        } catch let failure as Failure {
            throw failure
        } catch {
            logger.warning("OAuth provider unreachable", metadata: ["oauth.provider": "\(provider.name)", "error": "\(error)"])
            throw .exchangeFailed
        }
    }

    private static func client(_ url: String, caFile: String?, timeout: Duration) throws -> (HTTPSClient, String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            throw HTTPClientError(.invalidRequest, "not a URL: \(url)")
        }
        let origin = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host)" + (components.port.map { ":\($0)" } ?? "")
        var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { path += "?" + query }
        let client = try HTTPSClient(
            baseURL: origin, caFile: caFile, connectTimeout: min(timeout, .seconds(5)), timeout: timeout, maxResponseBytes: 64 * 1024)
        return (client, path)
    }

    static func formEncode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }

    // MARK: Accounts

    private func resolve(_ provider: Provider, user: ProviderUser, linking: UUID?, logger: Logger) async throws -> Outcome {
        let username = String((user.username ?? "").prefix(100))
        let linked = try await db.query(
            "SELECT account_id FROM oauth_identities WHERE provider = \(provider.name) AND subject = \(user.id)", logger: logger)
        if let linking {
            if let owner: UUID = try linked.first?.decode("account_id") {
                guard owner == linking else { throw Failure.alreadyLinked }
                return .linked(try await accounts.account(id: linking, logger: logger))
            }
            do {
                try await db.execute(
                    "INSERT INTO oauth_identities (provider, subject, account_id, username) VALUES (\(provider.name), \(user.id), \(linking), \(username))",
                    logger: logger)
            } catch let error as PGError where error.isUniqueViolation {
                throw Failure.alreadyLinked  // a race, or this account already has another account of the provider
            }
            logger.info("OAuth provider linked", metadata: ["oauth.provider": "\(provider.name)", LogKey.account.rawValue: "\(linking)"])
            return .linked(try await accounts.account(id: linking, logger: logger))
        }
        if let owner: UUID = try linked.first?.decode("account_id") {
            try await db.execute(
                "UPDATE oauth_identities SET username = \(username) WHERE provider = \(provider.name) AND subject = \(user.id)", logger: logger)
            return .login(try await loginAccount(owner, logger: logger), created: false)
        }
        // Not linked: a new account, unless the email is taken (then only the password links it).
        guard user.verified == true, let email = user.email, case .success(let address) = AccountValidation.email(email) else {
            throw Failure.profileUnusable
        }
        let taken = try await db.query("SELECT id FROM accounts WHERE lower(email) = lower(\(address))", logger: logger)
        if !taken.isEmpty {
            let token = SecureRandom.token(byteCount: 32)
            try await store(token, Pending(provider: provider.name, verifier: "", linking: nil, subject: user.id, username: username, email: address), logger: logger)
            return .confirmLink(token: token, email: address)
        }
        let account = try await accounts.registerWithoutPassword(
            email: address, usernameHint: user.username ?? "", displayName: user.username ?? "", provider: provider.name, subject: user.id,
            providerUsername: username, logger: logger)
        logger.info("Account registered through OAuth", metadata: ["oauth.provider": "\(provider.name)", LogKey.account.rawValue: "\(account.id)"])
        return .login(account, created: true)
    }

    private func loginAccount(_ id: UUID, logger: Logger) async throws -> Account {
        let rows = try await db.query("SELECT suspended_at FROM accounts WHERE id = \(id)", logger: logger)
        if try rows.first?.decode("suspended_at", as: Date?.self) != nil { throw Failure.suspended }
        return try await accounts.account(id: id, logger: logger)
    }

    /// Links the provider account a callback left pending to the account whose email it had, once its password is
    /// proven; returns the account to log in as.
    /// - Throws: 401 `invalid_credentials` for a wrong password; 404 `oauth_link_expired` for an unknown or used token;
    ///   409 `oauth_already_linked` when it was linked meanwhile.
    package func confirmLink(token: String, password: String, logger: Logger) async throws -> Account {
        guard let pending = try await pendingLink(token, logger: logger), let subject = pending.subject, let email = pending.email else {
            throw Self.linkExpired
        }
        // A wrong password leaves the request as it was (same expiry); a right one uses it up, once.
        guard let account = try await accounts.authenticate(email: email, password: password, logger: logger) else {
            throw AgoraError(.unauthorized, code: "invalid_credentials", "The password is not right")
        }
        guard try await take(token, logger: logger) != nil else { throw Self.linkExpired }
        do {
            try await db.execute(
                "INSERT INTO oauth_identities (provider, subject, account_id, username) VALUES (\(pending.provider), \(subject), \(account.id), \(pending.username ?? ""))",
                logger: logger)
        } catch let error as PGError where error.isUniqueViolation {
            throw AgoraError(.conflict, code: "oauth_already_linked", "That \(pending.provider) account is already linked")
        }
        logger.info("OAuth provider linked after a password", metadata: ["oauth.provider": "\(pending.provider)", LogKey.account.rawValue: "\(account.id)"])
        return account
    }

    /// The email a pending link (`confirmLink`'s token) waits on, for rate limiting by account as a login is; nil for
    /// an unknown or used token.
    package func pendingEmail(token: String, logger: Logger) async throws -> String? {
        try await pendingLink(token, logger: logger)?.email
    }

    private func pendingLink(_ token: String, logger: Logger) async throws -> Pending? {
        guard token.count <= 128, let json = try await redis.send(["GET", key(token)], logger: logger).string,
            let pending = try? JSONDecoder().decode(Pending.self, from: Data(json.utf8)), pending.subject != nil
        else { return nil }
        return pending
    }

    static let linkExpired = AgoraError(.notFound, code: "oauth_link_expired", "This link request has expired; continue with the provider again")

    /// The providers linked to `account`, and whether it has a password.
    package func links(of account: UUID, logger: Logger) async throws -> (links: [Link], hasPassword: Bool) {
        let rows = try await db.query(
            """
            SELECT i.provider, i.username, i.linked_at, (a.password_hash IS NOT NULL) AS has_password
            FROM accounts a LEFT JOIN oauth_identities i ON i.account_id = a.id
            WHERE a.id = \(account) ORDER BY i.provider
            """,
            logger: logger)
        guard let first = rows.first else { throw AgoraError(.notFound, code: "account_not_found", "No such account") }
        let links = try rows.compactMap { row -> Link? in
            guard let provider: String = try row.decode("provider") else { return nil }
            return Link(provider: provider, username: try row.decode("username"), linkedAt: try row.decode("linked_at"))
        }
        return (links, try first.decode("has_password"))
    }

    /// Unlinks `provider` from `account`, unless it is the account's last way to log in.
    /// - Throws: 404 `oauth_not_linked`; 409 `last_login_method`.
    package func unlink(_ provider: String, account: UUID, logger: Logger) async throws {
        try await db.withTransaction(logger: logger) { transaction in
            let rows = try await transaction.query(
                """
                SELECT (password_hash IS NOT NULL) AS has_password,
                       (SELECT count(*) FROM oauth_identities WHERE account_id = \(account)) AS links,
                       EXISTS (SELECT 1 FROM oauth_identities WHERE account_id = \(account) AND provider = \(provider)) AS linked
                FROM accounts WHERE id = \(account) FOR UPDATE
                """)
            guard let row = rows.first, try row.decode("linked", as: Bool.self) else {
                throw AgoraError(.notFound, code: "oauth_not_linked", "That provider is not linked to your account")
            }
            guard try row.decode("has_password", as: Bool.self) || (try row.decode("links", as: Int64.self)) > 1 else {
                throw AgoraError(
                    .conflict, code: "last_login_method", "This is your only way to log in: set a password (a password reset) before unlinking it")
            }
            try await transaction.execute("DELETE FROM oauth_identities WHERE account_id = \(account) AND provider = \(provider)")
        }
        logger.info("OAuth provider unlinked", metadata: ["oauth.provider": "\(provider)", LogKey.account.rawValue: "\(account)"])
    }

    // MARK: State

    private func key(_ state: String) -> String { prefix + "oauth:" + SHA256.hexDigest(Array(state.utf8)) }

    private func store(_ state: String, _ pending: Pending, logger: Logger) async throws {
        let json = String(decoding: try JSONEncoder().encode(pending), as: UTF8.self)
        let seconds = max(1, Int(stateLifetime.components.seconds))
        try await redis.send(["SET", key(state), json, "EX", String(seconds)], logger: logger)
    }

    private func take(_ state: String, logger: Logger) async throws -> Pending? {
        guard let json = try await redis.send(["GETDEL", key(state)], logger: logger).string else { return nil }
        return try? JSONDecoder().decode(Pending.self, from: Data(json.utf8))
    }
}
