import AgoraCore
import AgoraCrypto
package import AgoraPostgres
package import Foundation
package import Logging

/// Accounts: registration, profiles, roles, and the mails and tokens that go with them. Owns the `accounts` and
/// `account_tokens` tables.
package struct AccountsService: Sendable {
    /// What `POST /api/auth/register` sends; every field is checked by `register`.
    package struct Registration: Decodable, Sendable {
        package var email: String?
        package var username: String?
        package var displayName: String?
        package var password: String?
        package init(email: String?, username: String?, displayName: String?, password: String?) {
            self.email = email
            self.username = username
            self.displayName = displayName
            self.password = password
        }
    }

    /// Settings of the service.
    package struct Settings: Sendable {
        /// Base of the links in mails, e.g. `https://agora.example` (`AGORA_PUBLIC_URL`).
        package var publicURL: String
        package var verificationLifetime: Duration
        package var resetLifetime: Duration
        package init(publicURL: String, verificationLifetime: Duration = .seconds(86_400), resetLifetime: Duration = .seconds(3_600)) {
            self.publicURL = publicURL
            self.verificationLifetime = verificationLifetime
            self.resetLifetime = resetLifetime
        }
    }

    let db: PGPool
    let hasher: PasswordHasher
    let mail: any MailQueue
    let sessions: SessionStore
    let settings: Settings

    package init(db: PGPool, hasher: PasswordHasher, mail: any MailQueue, sessions: SessionStore, settings: Settings) {
        self.db = db
        self.hasher = hasher
        self.mail = mail
        self.sessions = sessions
        self.settings = settings
    }

    /// Creates a buyer account and queues its verification mail in the same transaction.
    /// - Throws: 422 with per-field messages for invalid or taken email/username and weak passwords.
    package func register(_ input: Registration, logger: Logger) async throws -> Account {
        var errors = FieldErrors()
        let email = AccountValidation.email(input.email ?? "").value("email", into: &errors)
        let username = AccountValidation.username(input.username ?? "").value("username", into: &errors)
        let displayName = AccountValidation.line(input.displayName ?? "", 1...50).value("displayName", into: &errors)
        if let problem = AccountValidation.passwordProblem(input.password ?? "", email: email, username: username) {
            errors.add("password", input.password == nil ? "is required" : problem.description)
        }
        try errors.throwIfAny()
        guard let email, let username, let displayName, let password = input.password else { throw AgoraError(.internalError, "unreachable") }

        // Check before hashing, so a taken name costs a query, not a quarter second of bcrypt; the unique indexes
        // below still decide races.
        let taken = try await db.query(
            """
            SELECT EXISTS (SELECT 1 FROM accounts WHERE lower(email) = lower(\(email))) AS email_taken,
                   EXISTS (SELECT 1 FROM accounts WHERE username = \(username)) AS username_taken
            """,
            logger: logger
        ).one()
        try Self.throwIfTaken(email: try taken.decode("email_taken"), username: try taken.decode("username_taken"))
        let hash = try await hasher.hash(password)
        do {
            return try await db.withTransaction(logger: logger) { transaction in
                let row = try await transaction.query(
                    """
                    INSERT INTO accounts (email, username, display_name, password_hash)
                    VALUES (\(email), \(username), \(displayName), \(hash))
                    RETURNING \(literal: Account.columns)
                    """
                ).one()
                let account = try Account(row: row)
                try await queueVerification(for: account, in: transaction)
                return account
            }
        } catch let error as PGError where error.isUniqueViolation {
            try Self.throwIfTaken(email: error.constraint == "accounts_email_key", username: error.constraint == "accounts_username_key")
            throw error
        }
    }

    /// The account with `id`, as its owner sees it.
    package func account(id: UUID, logger: Logger) async throws -> Account {
        let rows = try await db.query("SELECT \(literal: Account.columns) FROM accounts WHERE id = \(id)", logger: logger)
        guard let row = rows.first else { throw AgoraError(.notFound, code: "account_not_found", "No such account") }
        return try Account(row: row)
    }

    /// The public profile of `username` (matched without regard to case).
    package func profile(username: String, logger: Logger) async throws -> PublicProfile {
        let rows = try await db.query(
            "SELECT \(literal: Account.columns) FROM accounts WHERE username = \(username.lowercased())",
            logger: logger
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "user_not_found", "No user named \(username.prefix(30))") }
        return try Account(row: row).publicProfile
    }

    /// The account `email` names if `password` is its password; nil otherwise, after the same amount of work
    /// either way (bcrypt runs against a decoy hash when no account matches), so timing does not reveal
    /// which emails are registered.
    package func authenticate(email: String, password: String, logger: Logger) async throws -> Account? {
        let rows = try await db.query(
            "SELECT \(literal: Account.columns), password_hash, suspended_at FROM accounts WHERE lower(email) = lower(\(email))",
            logger: logger
        )
        let hash: String? = try rows.first?.decode("password_hash")
        guard try await hasher.verify(password, against: hash), let row = rows.first else { return nil }
        // Said only to someone who knows the password: a suspension is nobody else's business.
        if try row.decode("suspended_at", as: Date?.self) != nil { throw Self.suspended }
        return try Account(row: row)
    }

    static func throwIfTaken(email: Bool, username: Bool) throws(AgoraError) {
        var errors = FieldErrors()
        if email { errors.add("email", "is already registered") }
        if username { errors.add("username", "is taken") }
        try errors.throwIfAny("That email or username is already in use")
    }
}
