import AgoraCore
import AgoraCrypto
import AgoraPostgres
package import Foundation
package import Logging

extension AccountsService {
    /// Creates an account for a provider's user (`OAuthLogin`): the provider's verified email, a username made from
    /// the provider's name (made valid and free), no password, and the provider link, in one transaction.
    /// - Throws: 409 `email_taken` if the email was registered meanwhile.
    package func registerWithoutPassword(
        email: String, usernameHint: String, displayName: String, provider: String, subject: String, providerUsername: String, logger: Logger
    ) async throws -> Account {
        let base = Self.usernameBase(usernameHint)
        let shown = displayName.trimmingCharacters(in: .whitespacesAndNewlines).filter { !$0.isNewline && $0 != "\0" }
        let display = shown.isEmpty ? base : String(shown.prefix(50))
        var candidates = [base] + (2...9).map { "\(base.prefix(27))_\($0)" }
        candidates.append("\(base.prefix(21))_\(Hex.encode(SecureRandom.bytes(4)))")
        for candidate in candidates {
            guard case .success(let username) = AccountValidation.username(candidate) else { continue }
            do {
                return try await db.withTransaction(logger: logger) { transaction in
                    let row = try await transaction.query(
                        """
                        INSERT INTO accounts (email, username, display_name, password_hash, email_verified_at)
                        VALUES (\(email), \(username), \(display), NULL, now())
                        RETURNING \(literal: Account.columns)
                        """
                    ).one()
                    let account = try Account(row: row)
                    try await transaction.execute(
                        "INSERT INTO oauth_identities (provider, subject, account_id, username) VALUES (\(provider), \(subject), \(account.id), \(providerUsername))")
                    return account
                }
            } catch let error as PGError where error.isUniqueViolation && error.constraint == "accounts_username_key" {
                continue
            } catch let error as PGError where error.isUniqueViolation {
                throw AgoraError(.conflict, code: "email_taken", "That email was registered meanwhile; continue with the provider again")
            }
        }
        throw AgoraError(.conflict, code: "username_unavailable", "No free username could be made; try again")
    }

    /// A valid username from a provider's name: lower-case letters, digits and underscores, starting with a letter,
    /// 3 to 30 characters, not reserved.
    static func usernameBase(_ hint: String) -> String {
        var name = String(hint.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        if name.isEmpty { name = "user" }
        if let first = name.unicodeScalars.first, !("a"..."z").contains(first) { name = "u" + name }
        name = String(name.prefix(30))
        if name.count < 3 { name += "_user" }
        if case .failure = AccountValidation.username(name) { name = "user_" + String(name.prefix(25)) }  // reserved
        return name
    }
}
