import AgoraCore
import AgoraCrypto
import AgoraPostgres
package import Foundation
package import Logging

/// Email verification, password reset and password change: the flows driven by single-use tokens.
///
/// A token is 256 random bits sent in a link; only its SHA-256 is stored, with a purpose and an expiry. Using it
/// is a conditional UPDATE (`used_at IS NULL AND expires_at > now()`), so it works once even under a race.
extension AccountsService {
    enum TokenPurpose: String { case verifyEmail = "verify_email", resetPassword = "reset_password" }

    /// Queues a fresh verification mail (older unused links stop working).
    /// - Throws: 409 `already_verified`.
    package func resendVerification(id: UUID, logger: Logger) async throws {
        let account = try await account(id: id, logger: logger)
        guard !account.emailVerified else { throw AgoraError(.conflict, code: "already_verified", "Your email address is already verified") }
        try await db.withTransaction(logger: logger) { try await queueVerification(for: account, in: $0) }
    }

    /// Marks the email of the token's account verified.
    /// - Throws: 400 `invalid_link` for an unknown, used or expired token.
    package func verifyEmail(token: String, logger: Logger) async throws -> Account {
        try await db.withTransaction(logger: logger) { transaction in
            let id = try await consume(token, purpose: .verifyEmail, in: transaction)
            let row = try await transaction.query(
                """
                UPDATE accounts SET email_verified_at = COALESCE(email_verified_at, now()) WHERE id = \(id)
                RETURNING \(literal: Account.columns)
                """
            ).one()
            return try Account(row: row)
        }
    }

    /// Queues a reset mail if `email` belongs to an account. Says nothing either way, so it cannot be used to learn
    /// which addresses are registered.
    package func requestPasswordReset(email: String, logger: Logger) async throws {
        let rows = try await db.query("SELECT \(literal: Account.columns) FROM accounts WHERE lower(email) = lower(\(email))", logger: logger)
        guard let row = rows.first else {
            logger.debug("Password reset for an unknown email")
            return
        }
        let account = try Account(row: row)
        try await db.withTransaction(logger: logger) { transaction in
            let token = try await issueToken(for: account.id, purpose: .resetPassword, lifetime: settings.resetLifetime, in: transaction)
            try await mail.enqueue(AccountMails.passwordReset(to: account, link: link("reset-password", token), lifetime: settings.resetLifetime), in: transaction)
        }
    }

    /// Sets a new password with a reset token, and ends every session of the account.
    /// - Throws: 400 `invalid_link`; 422 for a weak password (the token stays usable).
    package func resetPassword(token: String, newPassword: String, logger: Logger) async throws {
        // Look before consuming: a rejected password should leave the link usable for a second try.
        let digest = PGBytes(SHA256.hash(Array(token.utf8)))
        let rows = try await db.query(
            """
            SELECT a.email, a.username FROM account_tokens t JOIN accounts a ON a.id = t.account_id
            WHERE t.token_hash = \(digest) AND t.purpose = \(TokenPurpose.resetPassword.rawValue) AND t.used_at IS NULL AND t.expires_at > now()
            """,
            logger: logger
        )
        guard let row = rows.first else { throw Self.invalidLink }
        try Self.checkNewPassword(newPassword, email: try row.decode("email"), username: try row.decode("username"), field: "password")
        let hash = try await hasher.hash(newPassword)
        let id = try await db.withTransaction(logger: logger) { transaction in
            let id = try await consume(token, purpose: .resetPassword, in: transaction)
            try await transaction.execute("UPDATE accounts SET password_hash = \(hash), password_changed_at = now() WHERE id = \(id)")
            // Following a reset link proves the mailbox, so the address is verified too.
            try await transaction.execute("UPDATE accounts SET email_verified_at = now() WHERE id = \(id) AND email_verified_at IS NULL")
            return id
        }
        let ended = try await sessions.revokeAll(account: id, logger: logger)
        logger.info("Password reset; sessions revoked", metadata: [LogKey.account.rawValue: "\(id)", "sessions": "\(ended)"])
    }

    /// Changes the password after checking the current one, and ends every session of the account (this one too).
    /// - Throws: 422 with `currentPassword` or `newPassword` explained.
    package func changePassword(id: UUID, current: String, new: String, logger: Logger) async throws {
        let rows = try await db.query("SELECT email, username, password_hash FROM accounts WHERE id = \(id)", logger: logger)
        guard let row = rows.first else { throw AgoraError(.notFound, code: "account_not_found", "No such account") }
        // An account made through a login provider has no password until a reset sets one.
        guard let stored: String = try row.decode("password_hash") else {
            throw AgoraError(
                .validation, "This account has no password yet: set one with a password reset", fields: ["currentPassword": "no password is set"])
        }
        guard try await hasher.verify(current, against: stored) else {
            throw AgoraError(.validation, "The current password is not right", fields: ["currentPassword": "is incorrect"])
        }
        try Self.checkNewPassword(new, email: try row.decode("email"), username: try row.decode("username"), field: "newPassword")
        let hash = try await hasher.hash(new)
        try await db.execute("UPDATE accounts SET password_hash = \(hash), password_changed_at = now() WHERE id = \(id)", logger: logger)
        let ended = try await sessions.revokeAll(account: id, logger: logger)
        logger.info("Password changed; sessions revoked", metadata: [LogKey.account.rawValue: "\(id)", "sessions": "\(ended)"])
    }

    // MARK: Tokens

    func queueVerification(for account: Account, in transaction: PGTransaction) async throws {
        let token = try await issueToken(for: account.id, purpose: .verifyEmail, lifetime: settings.verificationLifetime, in: transaction)
        try await mail.enqueue(AccountMails.verification(to: account, link: link("verify-email", token), lifetime: settings.verificationLifetime), in: transaction)
    }

    /// Stores a new token for `purpose` and retires the account's earlier unused ones of that purpose.
    private func issueToken(for account: UUID, purpose: TokenPurpose, lifetime: Duration, in transaction: PGTransaction) async throws -> String {
        let token = SecureRandom.token(byteCount: 32)
        let expires = Date.now.addingTimeInterval(Double(lifetime.components.seconds))
        try await transaction.execute(
            "UPDATE account_tokens SET used_at = now() WHERE account_id = \(account) AND purpose = \(purpose.rawValue) AND used_at IS NULL"
        )
        try await transaction.execute(
            """
            INSERT INTO account_tokens (token_hash, account_id, purpose, expires_at)
            VALUES (\(PGBytes(SHA256.hash(Array(token.utf8)))), \(account), \(purpose.rawValue), \(expires))
            """
        )
        return token
    }

    /// Marks the token used and returns its account, or throws `invalidLink`.
    private func consume(_ token: String, purpose: TokenPurpose, in transaction: PGTransaction) async throws -> UUID {
        guard token.utf8.count == 43 else { throw Self.invalidLink }
        let rows = try await transaction.query(
            """
            UPDATE account_tokens SET used_at = now()
            WHERE token_hash = \(PGBytes(SHA256.hash(Array(token.utf8)))) AND purpose = \(purpose.rawValue)
              AND used_at IS NULL AND expires_at > now()
            RETURNING account_id
            """
        )
        guard let row = rows.first else { throw Self.invalidLink }
        return try row.decode("account_id")
    }

    private func link(_ page: String, _ token: String) -> String {
        var base = settings.publicURL
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/\(page)?token=\(token)"
    }

    static var invalidLink: AgoraError { AgoraError(.badRequest, code: "invalid_link", "This link is not valid: it was already used, has expired, or was mistyped") }

    static func checkNewPassword(_ password: String, email: String, username: String, field: String) throws(AgoraError) {
        if let problem = AccountValidation.passwordProblem(password, email: email, username: username) {
            throw AgoraError(.validation, "The new password is not acceptable", fields: [field: problem.description])
        }
    }
}
