package import Foundation

/// An account as products (their seller) and follower lists show it.
package struct AccountSummary: Sendable, Codable, Equatable {
    package var id: UUID
    package var username: String
    package var displayName: String
    package var avatarUrl: String?
    package init(id: UUID, username: String, displayName: String, avatarUrl: String?) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.avatarUrl = avatarUrl
    }
}
