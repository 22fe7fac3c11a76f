public import Foundation

/// An account as products (their seller) and follower lists show it.
public struct AccountSummary: Sendable, Codable, Equatable {
    public var id: UUID
    public var username: String
    public var displayName: String
    public var avatarUrl: String?
    public init(id: UUID, username: String, displayName: String, avatarUrl: String?) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.avatarUrl = avatarUrl
    }
}
