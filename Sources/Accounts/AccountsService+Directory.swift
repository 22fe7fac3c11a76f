package import AgoraCore
import AgoraPostgres
package import Foundation
package import Logging

extension AccountsService: AccountDirectory {
    /// The public profiles of `ids` (one query), for other domains that show accounts: product sellers, follower
    /// lists. Unknown ids are absent.
    package func profiles(_ ids: [UUID], logger: Logger) async throws -> [UUID: PublicProfile] {
        let rows = try await db.query("SELECT \(literal: Account.columns) FROM accounts WHERE id = ANY(\(ids))", logger: logger)
        var profiles: [UUID: PublicProfile] = [:]
        for row in rows {
            let profile = try Account(row: row).publicProfile
            profiles[profile.id] = profile
        }
        return profiles
    }

    /// The id of `username` (case-insensitive), or nil.
    package func accountID(username: String, logger: Logger) async throws -> UUID? {
        let rows = try await db.query("SELECT id FROM accounts WHERE username = \(username.lowercased())", logger: logger)
        return try rows.first?.decode("id")
    }

    /// `AccountDirectory`: the administrators' ids.
    package func administrators(logger: Logger) async throws -> [UUID] {
        try await db.query("SELECT id FROM accounts WHERE role = 'admin' ORDER BY id", logger: logger).map { try $0.decode("id") }
    }

    /// `AccountDirectory`: the public summaries of `ids`, from their profiles.
    package func summaries(_ ids: [UUID], logger: Logger) async throws -> [UUID: AccountSummary] {
        try await profiles(ids, logger: logger).mapValues {
            AccountSummary(id: $0.id, username: $0.username, displayName: $0.displayName, avatarUrl: $0.avatarUrl)
        }
    }
}

extension AccountsService: AccountContacts {
    /// `AccountContacts`: the address of `account`.
    package func email(of account: UUID, logger: Logger) async throws -> String? {
        try await db.query("SELECT email FROM accounts WHERE id = \(account)", logger: logger).first?.decode("email")
    }
}
