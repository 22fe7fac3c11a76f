import Accounts
import Catalog
import Foundation
import Logging

/// The accounts service as the catalog and the social graph see it.
struct AccountsDirectory: AccountDirectory {
    let accounts: AccountsService

    func summaries(_ ids: [UUID], logger: Logger) async throws -> [UUID: AccountSummary] {
        try await accounts.profiles(ids, logger: logger).mapValues {
            AccountSummary(id: $0.id, username: $0.username, displayName: $0.displayName, avatarUrl: $0.avatarUrl)
        }
    }

    func accountID(username: String, logger: Logger) async throws -> UUID? {
        try await accounts.accountID(username: username, logger: logger)
    }
}
