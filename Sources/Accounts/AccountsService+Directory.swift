import AgoraPostgres
public import Foundation
public import Logging

extension AccountsService {
    /// The public profiles of `ids` (one query), for other domains that show accounts: product sellers, follower
    /// lists. Unknown ids are absent.
    public func profiles(_ ids: [UUID], logger: Logger) async throws -> [UUID: PublicProfile] {
        let rows = try await db.query("SELECT \(literal: Account.columns) FROM accounts WHERE id = ANY(\(ids))", logger: logger)
        var profiles: [UUID: PublicProfile] = [:]
        for row in rows {
            let profile = try Account(row: row).publicProfile
            profiles[profile.id] = profile
        }
        return profiles
    }

    /// The id of `username` (case-insensitive), or nil.
    public func accountID(username: String, logger: Logger) async throws -> UUID? {
        let rows = try await db.query("SELECT id FROM accounts WHERE username = \(username.lowercased())", logger: logger)
        return try rows.first?.decode("id")
    }
}
