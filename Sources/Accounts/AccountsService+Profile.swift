package import AgoraCore
import AgoraPostgres
package import Foundation
package import Logging

/// What `PATCH /api/me` sends: only the fields present change; `null` clears an optional one.
package struct ProfileUpdate: Decodable, Sendable {
    package var displayName: FieldChange<String> = .keep
    package var bio: FieldChange<String> = .keep
    package var avatarUrl: FieldChange<String> = .keep
    package var location: FieldChange<String> = .keep

    package init() {}

    enum CodingKeys: String, CodingKey { case displayName, bio, avatarUrl, location }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func change(_ key: CodingKeys) throws -> FieldChange<String> {
            guard container.contains(key) else { return .keep }
            if try container.decodeNil(forKey: key) { return .clear }
            return .set(try container.decode(String.self, forKey: key))
        }
        displayName = try change(.displayName)
        bio = try change(.bio)
        avatarUrl = try change(.avatarUrl)
        location = try change(.location)
    }
}

extension AccountsService {
    /// Applies `update` to the account's profile.
    /// - Throws: 422 naming each invalid field; nothing changes unless every field is valid.
    package func updateProfile(id: UUID, _ update: ProfileUpdate, logger: Logger) async throws -> Account {
        var errors = FieldErrors()
        var displayName: String?
        switch update.displayName {
        case .keep: break
        case .clear: errors.add("displayName", "is required")
        case .set(let value): displayName = AccountValidation.line(value, 1...50).value("displayName", into: &errors)
        }
        // A cleared bio is the empty string (the column is NOT NULL); cleared avatar and location are NULL.
        var bio: String?
        switch update.bio {
        case .keep: break
        case .clear: bio = ""
        case .set(let value): bio = AccountValidation.text(value, max: 500).value("bio", into: &errors)
        }
        let avatar = Self.optional(update.avatarUrl, "avatarUrl", into: &errors) { AccountValidation.avatarURL($0) }
        let location = Self.optional(update.location, "location", into: &errors) { AccountValidation.line($0, 0...100) }
        try errors.throwIfAny()

        // COALESCE keeps a field that is not being changed; the flags say whether to write an optional one (which
        // may be written as NULL).
        let rows = try await db.query(
            """
            UPDATE accounts SET
                display_name = COALESCE(\(displayName), display_name),
                bio = COALESCE(\(bio), bio),
                avatar_url = CASE WHEN \(avatar.change) THEN \(avatar.value) ELSE avatar_url END,
                location = CASE WHEN \(location.change) THEN \(location.value) ELSE location END
            WHERE id = \(id)
            RETURNING \(literal: Account.columns)
            """,
            logger: logger
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "account_not_found", "No such account") }
        return try Account(row: row)
    }

    /// Makes a buyer a seller. Needs a verified email, so that buyers can reach whoever sells to them.
    /// - Throws: 403 `email_not_verified`.
    package func becomeSeller(id: UUID, logger: Logger) async throws -> Account {
        let rows = try await db.query(
            """
            UPDATE accounts SET role = CASE WHEN role = 'admin' THEN role ELSE 'seller' END
            WHERE id = \(id) AND email_verified_at IS NOT NULL
            RETURNING \(literal: Account.columns)
            """,
            logger: logger
        )
        if let row = rows.first { return try Account(row: row) }
        _ = try await account(id: id, logger: logger)  // 404 if the account is gone
        throw AgoraError(.forbidden, code: "email_not_verified", "Verify your email address before selling")
    }

    /// Sets the role of `username` (the `agora accounts set-role` command; there is no HTTP route to become admin).
    package func setRole(username: String, to role: Role, logger: Logger) async throws -> Account {
        let rows = try await db.query(
            "UPDATE accounts SET role = \(role.rawValue) WHERE username = \(username.lowercased()) RETURNING \(literal: Account.columns)",
            logger: logger
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "user_not_found", "No user named \(username.prefix(30))") }
        return try Account(row: row)
    }

    private static func optional(
        _ change: FieldChange<String>,
        _ field: String,
        into errors: inout FieldErrors,
        validate: (String) -> Result<String, AccountValidation.Problem>
    ) -> (change: Bool, value: String?) {
        switch change {
        case .keep: return (false, nil)
        case .clear: return (true, nil)
        case .set(let raw):
            guard let value = validate(raw).value(field, into: &errors) else { return (false, nil) }
            return (true, value.isEmpty ? nil : value)
        }
    }
}
