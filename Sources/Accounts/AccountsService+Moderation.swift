package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// An account as the back office sees it.
package struct AdminUser: Codable, Sendable, Equatable {
    package var id: UUID
    package var username: String
    package var displayName: String
    package var email: String
    package var emailVerified: Bool
    package var role: Role
    package var suspendedAt: Date?
    package var suspensionReason: String?
    package var createdAt: Date

    static let columns: StaticString = "id, username, display_name, email, email_verified_at, role, suspended_at, suspension_reason, created_at"

    init(row: PGRow) throws {
        id = try row.decode("id")
        username = try row.decode("username")
        displayName = try row.decode("display_name")
        email = try row.decode("email")
        emailVerified = try row.decode("email_verified_at", as: Date?.self) != nil
        role = try Role(rawValue: row.decode("role")) ?? .buyer
        suspendedAt = try row.decode("suspended_at")
        suspensionReason = try row.decode("suspension_reason")
        createdAt = try row.decode("created_at")
    }
}

/// Which accounts the back office lists; nil fields do not narrow.
package struct AdminUserFilter: Sendable, Equatable {
    /// A prefix of the username, the display name or the email address (case-insensitive).
    package var query: String?
    package var role: Role?
    package var suspended: Bool?

    package init(query: String? = nil, role: Role? = nil, suspended: Bool? = nil) {
        self.query = query
        self.role = role
        self.suspended = suspended
    }
}

/// Suspensions and role changes made by administrators. Each runs in the caller's transaction (which records the
/// audit entry and hides the listings beside it); the caller ends the account's sessions after the commit
/// (`endSessions`), which closes its sockets on every instance.
extension AccountsService {
    /// Accounts matching `filter`, newest first.
    package func adminUsers(_ filter: AdminUserFilter, limit: Int, cursor: String?, logger: Logger) async throws -> Page<AdminUser> {
        var conditions: PGQuery = "TRUE"
        if let query = filter.query {
            // A prefix match: LIKE's own characters in the query are matched literally.
            let pattern = query.lowercased().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            conditions.append(" AND (username LIKE \(pattern) OR lower(display_name) LIKE \(pattern) OR lower(email) LIKE \(pattern))")
        }
        if let role = filter.role { conditions.append(" AND role = \(role.rawValue)") }
        if let suspended = filter.suspended { conditions.append(" AND (suspended_at IS NOT NULL) = \(suspended)") }
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            conditions.append(" AND (created_at, id) < (\(position.date), \(position.id))")
        }
        let rows = try await db.query(
            "SELECT \(literal: AdminUser.columns) FROM accounts WHERE \(fragment: conditions) ORDER BY created_at DESC, id DESC LIMIT \(limit + 1)",
            logger: logger
        )
        let items = try rows.prefix(limit).map(AdminUser.init(row:))
        var next: String?
        if rows.count > limit, let last = items.last { next = OpaqueCursor.encode(TimePosition(last.createdAt, id: last.id)) }
        return Page(items: items, nextCursor: next)
    }

    /// One account as the back office sees it.
    package func adminUser(_ id: UUID, logger: Logger) async throws -> AdminUser {
        guard let row = try await db.query("SELECT \(literal: AdminUser.columns) FROM accounts WHERE id = \(id)", logger: logger).first else {
            throw AgoraError(.notFound, code: "user_not_found", "No such user")
        }
        return try AdminUser(row: row)
    }

    /// Locks an account for a moderation change.
    func lockForModeration(_ id: UUID, in tx: PGTransaction) async throws -> AdminUser {
        guard let row = try await tx.query("SELECT \(literal: AdminUser.columns) FROM accounts WHERE id = \(id) FOR UPDATE").first else {
            throw AgoraError(.notFound, code: "user_not_found", "No such user")
        }
        return try AdminUser(row: row)
    }

    /// Suspends an account and queues the mail that tells its owner why.
    /// - Returns: the account before and after.
    /// - Throws: 404; 409 `already_suspended`.
    package func suspend(_ id: UUID, reason: String, in tx: PGTransaction) async throws -> (before: AdminUser, after: AdminUser) {
        let before = try await lockForModeration(id, in: tx)
        guard before.suspendedAt == nil else { throw AgoraError(.conflict, code: "already_suspended", "This account is already suspended") }
        let row = try await tx.query(
            "UPDATE accounts SET suspended_at = now(), suspension_reason = \(reason) WHERE id = \(id) RETURNING \(literal: AdminUser.columns)"
        ).one()
        try await mail.enqueue(
            AccountMail(
                to: before.email, subject: "Your Agora account is suspended",
                text: """
                    Hello \(before.displayName),

                    Your account has been suspended by the marketplace's administrators, and you have been logged out.

                    Reason: \(reason)

                    Your listings are hidden while the suspension lasts. Orders you placed or sold can still be refunded.
                    """
            ),
            in: tx
        )
        return (before, try AdminUser(row: row))
    }

    /// Lifts a suspension.
    /// - Throws: 404; 409 `not_suspended`.
    package func unsuspend(_ id: UUID, in tx: PGTransaction) async throws -> (before: AdminUser, after: AdminUser) {
        let before = try await lockForModeration(id, in: tx)
        guard before.suspendedAt != nil else { throw AgoraError(.conflict, code: "not_suspended", "This account is not suspended") }
        let row = try await tx.query(
            "UPDATE accounts SET suspended_at = NULL, suspension_reason = NULL WHERE id = \(id) RETURNING \(literal: AdminUser.columns)"
        ).one()
        return (before, try AdminUser(row: row))
    }

    /// Gives an account another role. Becoming a seller needs a verified email address, as it does for the owner.
    /// - Throws: 404; 409 `role_unchanged`; 422 `email_not_verified`.
    package func changeRole(_ id: UUID, to role: Role, in tx: PGTransaction) async throws -> (before: AdminUser, after: AdminUser) {
        let before = try await lockForModeration(id, in: tx)
        guard before.role != role else { throw AgoraError(.conflict, code: "role_unchanged", "This account is already \(role.rawValue)") }
        if role != .buyer, !before.emailVerified {
            throw AgoraError(.validation, code: "email_not_verified", "Only an account with a verified email address can sell or administer",
                             fields: ["role": "needs a verified email address"])
        }
        let row = try await tx.query("UPDATE accounts SET role = \(role.rawValue) WHERE id = \(id) RETURNING \(literal: AdminUser.columns)").one()
        return (before, try AdminUser(row: row))
    }

    /// Sends the owner a warning from the administrators, in the caller's transaction.
    package func warn(_ id: UUID, reason: String, in tx: PGTransaction) async throws {
        let user = try await lockForModeration(id, in: tx)
        try await mail.enqueue(
            AccountMail(
                to: user.email, subject: "A warning from Agora's administrators",
                text: """
                    Hello \(user.displayName),

                    The marketplace's administrators looked into a report about you and send you this warning:

                    \(reason)

                    A further breach of the rules may lead to the suspension of your account.
                    """
            ),
            in: tx
        )
    }

    /// Ends every session of `id` (after a suspension or a role change committed): its sockets close on every
    /// instance, and its access tokens stop working.
    package func endSessions(of id: UUID, logger: Logger) async throws {
        let ended = try await sessions.revokeAll(account: id, logger: logger)
        logger.info("Sessions ended by an administrator", metadata: [LogKey.account.rawValue: "\(id)", "sessions": "\(ended)"])
    }

    /// Whether `id` is suspended (a refresh checks it: a session that outlived its suspension ends there).
    func isSuspended(_ id: UUID, logger: Logger) async throws -> Bool {
        try await !db.query("SELECT 1 FROM accounts WHERE id = \(id) AND suspended_at IS NOT NULL", logger: logger).isEmpty
    }

    static let suspended = AgoraError(.forbidden, code: "account_suspended", "This account is suspended; the mail we sent says why")
}
