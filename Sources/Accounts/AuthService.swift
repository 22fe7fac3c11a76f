package import AgoraCore
import AgoraCrypto
package import AgoraRedis
package import Foundation
package import Logging

/// Logging in and out, and the access tokens and sessions that come with it.
package struct AuthService: Sendable {
    /// What a login or refresh hands the client.
    package struct Grant: Sendable {
        package var account: Account
        package var accessToken: String
        package var accessExpiresAt: Date
        /// Seconds the access token is valid for, from its issue.
        package var accessLifetime: Int
        package var refreshToken: String
        package var session: String
    }

    package let accounts: AccountsService
    package let sessions: SessionStore
    package let tokens: AccessToken
    package let tickets: RealtimeTickets
    let limiter: AuthRateLimits

    package init(accounts: AccountsService, sessions: SessionStore, tokens: AccessToken, tickets: RealtimeTickets, limits: AuthRateLimits) {
        self.accounts = accounts
        self.sessions = sessions
        self.tokens = tokens
        self.tickets = tickets
        self.limiter = limits
    }

    /// Checks the password and starts a session.
    ///
    /// Counts against the per-IP and per-account login limits first. A wrong password and an unknown email give
    /// the same error after the same work.
    /// - Throws: 401 `invalid_credentials`; 429 when limited.
    package func login(email: String, password: String, device: String, ip: String?, logger: Logger) async throws -> Grant {
        try await limiter.check(ip: ip, account: email, logger: logger)
        guard let account = try await accounts.authenticate(email: email, password: password, logger: logger) else {
            logger.info("Login failed")
            throw AgoraError(.unauthorized, code: "invalid_credentials", "The email or password is not right")
        }
        var logger = logger
        logger[agora: .account] = "\(account.id)"
        let grant = try await startSession(for: account, device: device, ip: ip, logger: logger)
        logger.info("Logged in")
        return grant
    }

    /// Starts a session for an account whose credentials were just established (login, registration).
    package func startSession(for account: Account, device: String, ip: String?, logger: Logger) async throws -> Grant {
        let (session, refresh) = try await sessions.create(account: account.id, device: device, ip: ip, logger: logger)
        return grant(for: account, refreshToken: refresh, session: session)
    }

    /// A fresh access token for `account` in `session`, with the refresh token that goes with it.
    private func grant(for account: Account, refreshToken: String, session: String) -> Grant {
        let access = tokens.issue(account: account.id, role: account.role, session: session)
        return Grant(
            account: account, accessToken: access.token, accessExpiresAt: Date(timeIntervalSince1970: Double(access.claims.exp)),
            accessLifetime: access.claims.exp - access.claims.iat, refreshToken: refreshToken, session: session
        )
    }

    /// Rotates a refresh token and issues a new access token with the account's current role.
    /// - Throws: 401 `invalid_refresh_token`, or 401 `refresh_token_reused` after revoking the family.
    package func refresh(_ token: String, logger: Logger) async throws -> Grant {
        switch try await sessions.rotate(token, logger: logger) {
        case .invalid:
            throw AgoraError(.unauthorized, code: "invalid_refresh_token", "The session has ended; log in again")
        case .reused(let session, let account):
            // Either the client replayed an old token or someone stole one: both parties now have to log in again.
            logger.warning("Refresh token reused: session family revoked", metadata: [LogKey.account.rawValue: "\(account)", "session": "\(session)"])
            throw AgoraError(.unauthorized, code: "refresh_token_reused", "This session was ended because an old token was used again; log in again")
        case .rotated(let next, let session, let accountID):
            let account: Account
            do {
                account = try await accounts.account(id: accountID, logger: logger)
            } catch let error as AgoraError where error.kind == .notFound {
                try await sessions.revoke(session: session, account: nil, logger: logger)
                throw AgoraError(.unauthorized, code: "invalid_refresh_token", "The session has ended; log in again")
            }
            // Suspending ends every session; one that slipped through (Redis was unreachable then) ends here.
            if try await accounts.isSuspended(accountID, logger: logger) {
                try await sessions.revoke(session: session, account: nil, logger: logger)
                throw AccountsService.suspended
            }
            return grant(for: account, refreshToken: next, session: session)
        }
    }

    /// The identity an access token stands for, if it is valid and its session is still live.
    package func identity(accessToken: String, transport: Identity.Transport, logger: Logger) async throws -> Result<Identity, AuthFailure> {
        let claims: AccessToken.Claims
        do {
            claims = try tokens.verify(accessToken)
        } catch .expired {
            return .failure(.expired)
        } catch {
            logger.debug("Access token refused", metadata: ["reason": "\(error)"])
            return .failure(.invalid)
        }
        guard try await sessions.touch(session: claims.sid, account: claims.sub, logger: logger) else { return .failure(.revoked) }
        return .success(Identity(accountID: claims.sub, role: claims.role, sessionID: claims.sid, transport: transport))
    }
}

/// The login limits: per client IP and per account (the email tried), both counted in Redis so that every
/// instance sees the same counts.
package struct AuthRateLimits: Sendable {
    let limiter: RedisRateLimiter?
    let prefix: String
    let limit: Int
    let period: Duration

    /// - Parameters:
    ///   - limiter: nil turns the limits off (`AGORA_RATE_LIMITS=off`, for benchmarks).
    ///   - limit: attempts per `period` for each IP and each account.
    package init(limiter: RedisRateLimiter?, prefix: String, limit: Int, period: Duration) {
        self.limiter = limiter
        self.prefix = prefix
        self.limit = limit
        self.period = period
    }

    /// Counts an attempt; throws 429 with `Retry-After` and `RateLimit-*` headers when either limit is reached.
    package func check(ip: String?, account: String?, logger: Logger) async throws {
        guard let limiter else { return }
        var rules = [RateLimitRule(key: prefix + "rl:auth-ip:" + (ip ?? "unknown"), limit: limit, period: period)]
        if let account, !account.isEmpty {
            // Hash the email: keys are visible to anyone with Redis access, and addresses are personal data.
            let subject = account.trimmingCharacters(in: .whitespaces).lowercased()
            rules.append(RateLimitRule(key: prefix + "rl:auth-acct:" + String(SHA256.hexDigest(Array(subject.utf8)).prefix(32)), limit: limit, period: period))
        }
        let decision = try await limiter.check(rules, logger: logger)
        guard decision.isAllowed else {
            logger.notice("Auth rate limit reached", metadata: ["retry_after": "\(decision.retryAfterSeconds)"])
            throw AgoraError(.rateLimited, "Too many attempts; try again in \(decision.retryAfterSeconds) seconds", retryAfter: decision.retryAfterSeconds, headers: decision.headerFields)
        }
    }
}
