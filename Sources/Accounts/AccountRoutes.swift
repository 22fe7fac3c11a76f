package import AgoraCore
import Foundation
import HTTPTypes
package import Hummingbird
import Logging

/// `/api/me*` (the caller's own account and sessions), `/api/users/:username` (public profiles) and
/// `/api/realtime/ticket`.
package struct AccountRoutes: Sendable {
    let auth: AuthService
    let cookies: AuthCookies

    package init(auth: AuthService, cookies: AuthCookies) {
        self.auth = auth
        self.cookies = cookies
    }

    struct PasswordChange: Decodable {
        var currentPassword: String?
        var newPassword: String?
    }

    struct SellerBody: ResponseEncodable {
        var account: Account
        /// A token carrying the new role; the old one says `buyer` until it expires.
        var accessToken: String
        var expiresAt: Date
    }

    struct SessionsBody: ResponseEncodable { var sessions: [SessionStore.Session] }

    struct TicketBody: ResponseEncodable {
        var ticket: String
        var expiresIn: Int
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/me", use: me)
        router.patch("/api/me", use: updateMe)
        router.post("/api/me/password", use: changePassword)
        router.post("/api/me/seller", use: becomeSeller)
        router.get("/api/me/sessions", use: sessions)
        router.delete("/api/me/sessions/:id", use: endSession)
        router.get("/api/users/:username", use: profile)
        router.post("/api/realtime/ticket", use: ticket)
    }

    @Sendable func me(_ request: Request, context: AgoraRequestContext) async throws -> Account {
        let identity = try context.requireIdentity()
        return try await auth.accounts.account(id: identity.accountID, logger: context.logger)
    }

    @Sendable func updateMe(_ request: Request, context: AgoraRequestContext) async throws -> Account {
        let identity = try context.requireIdentity()
        let update = try await request.decode(as: ProfileUpdate.self, context: context)
        return try await auth.accounts.updateProfile(id: identity.accountID, update, logger: context.logger)
    }

    @Sendable func changePassword(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        // Checking the current password is a bcrypt guess like a login: the same limits, per address and per account,
        // so a stolen session cannot guess at the general limit's pace.
        try await auth.limiter.check(ip: context.clientIP, account: identity.accountID.uuidString, logger: context.logger)
        let input = try await request.decode(as: PasswordChange.self, context: context)
        try await auth.accounts.changePassword(id: identity.accountID, current: input.currentPassword ?? "", new: input.newPassword ?? "", logger: context.logger)
        // Every session ended, this one included: the client logs in again with the new password.
        return Response(status: .noContent, headers: cookies.cleared())
    }

    @Sendable func becomeSeller(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<SellerBody> {
        let identity = try context.requireIdentity()
        let account = try await auth.accounts.becomeSeller(id: identity.accountID, logger: context.logger)
        context.logger.info("Account became a seller")
        let access = auth.tokens.issue(account: account.id, role: account.role, session: identity.sessionID)
        let expiresAt = Date(timeIntervalSince1970: Double(access.claims.exp))
        let headers = identity.transport == .cookie ? cookies.setAccess(access.token, expiresAt: expiresAt) : [:]
        return EditedResponse(headers: headers, response: SellerBody(account: account, accessToken: access.token, expiresAt: expiresAt))
    }

    @Sendable func sessions(_ request: Request, context: AgoraRequestContext) async throws -> SessionsBody {
        let identity = try context.requireIdentity()
        return SessionsBody(sessions: try await auth.sessions.sessions(of: identity.accountID, current: identity.sessionID, logger: context.logger))
    }

    @Sendable func endSession(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try context.parameters.require("id")
        // Only the caller's own sessions: someone else's id is simply "not found".
        guard try await auth.sessions.revoke(session: id, account: identity.accountID, logger: context.logger) else {
            throw AgoraError(.notFound, code: "session_not_found", "No such session")
        }
        return Response(status: .noContent)
    }

    @Sendable func profile(_ request: Request, context: AgoraRequestContext) async throws -> PublicProfile {
        let username = try context.parameters.require("username")
        return try await auth.accounts.profile(username: username, logger: context.logger)
    }

    @Sendable func ticket(_ request: Request, context: AgoraRequestContext) async throws -> TicketBody {
        let identity = try context.requireIdentity()
        let ticket = try await auth.tickets.issue(for: identity, logger: context.logger)
        return TicketBody(ticket: ticket, expiresIn: Int(auth.tickets.lifetime.components.seconds))
    }
}
