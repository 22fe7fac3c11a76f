public import Foundation
public import Logging

/// How the catalog and the social graph learn who accounts are, without reading the accounts tables: the application adapts the
/// accounts service to it.
public protocol AccountDirectory: Sendable {
    /// The public summaries of `ids`; ids that name no account are absent.
    func summaries(_ ids: [UUID], logger: Logger) async throws -> [UUID: AccountSummary]
    /// The account id of `username` (case-insensitive), or nil.
    func accountID(username: String, logger: Logger) async throws -> UUID?
}
