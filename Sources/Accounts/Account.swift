package import AgoraCore
import AgoraPostgres
package import Foundation

/// An account as its owner sees it (`GET /api/me`): everything but the password hash.
package struct Account: Codable, Sendable, Equatable {
    package var id: UUID
    package var email: String
    package var emailVerified: Bool
    package var username: String
    package var displayName: String
    package var bio: String
    package var avatarUrl: String?
    /// The shop's banner (an uploaded image), if any.
    package var bannerUrl: String?
    package var location: String?
    package var role: Role
    package var createdAt: Date

    /// What anyone may see (`GET /api/users/:username`): no email address; for a seller (or admin) whether one was
    /// verified, the shop's badge. A buyer's verification state stays theirs.
    package var publicProfile: PublicProfile {
        PublicProfile(
            id: id, username: username, displayName: displayName, bio: bio, avatarUrl: avatarUrl, bannerUrl: bannerUrl, location: location, role: role,
            emailVerified: role == .buyer ? nil : emailVerified, createdAt: createdAt
        )
    }

    /// The columns `init(row:)` reads, for SELECT and RETURNING lists.
    static let columns: StaticString = "id, email, email_verified_at, username, display_name, bio, avatar_url, banner_url, location, role, created_at"

    init(row: PGRow) throws {
        id = try row.decode("id")
        email = try row.decode("email")
        emailVerified = try row.decode("email_verified_at", as: Date?.self) != nil
        username = try row.decode("username")
        displayName = try row.decode("display_name")
        bio = try row.decode("bio")
        avatarUrl = try row.decode("avatar_url")
        bannerUrl = try row.decode("banner_url")
        location = try row.decode("location")
        let roleName: String = try row.decode("role")
        guard let role = Role(rawValue: roleName) else { throw AgoraError(.internalError, "Unknown role") }
        self.role = role
        createdAt = try row.decode("created_at")
    }
}

/// An account as everyone sees it.
package struct PublicProfile: Codable, Sendable, Equatable {
    package var id: UUID
    package var username: String
    package var displayName: String
    package var bio: String
    package var avatarUrl: String?
    package var bannerUrl: String?
    package var location: String?
    package var role: Role
    /// The verified-email badge of a seller; nil for a buyer.
    package var emailVerified: Bool?
    package var createdAt: Date
}
