package import Foundation
package import Logging

/// How other domains (the catalog, the social graph, chat, notifications, commerce) learn who accounts are without
/// reading the accounts tables. Accounts implements it (`AccountsService`); the application passes that in.
package protocol AccountDirectory: Sendable {
    /// The public summaries of `ids`; ids that name no account are absent.
    func summaries(_ ids: [UUID], logger: Logger) async throws -> [UUID: AccountSummary]
    /// The account id of `username` (case-insensitive), or nil.
    func accountID(username: String, logger: Logger) async throws -> UUID?
    /// The administrators' ids, for notices meant for all of them.
    func administrators(logger: Logger) async throws -> [UUID]
}
