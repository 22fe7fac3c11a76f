package import AgoraCore
package import AgoraMedia
package import AgoraPostgres
package import Foundation
import HTTPTypes
package import Hummingbird
package import Logging

/// A user's uploaded avatar and shop banner (issue 23, part 3).
///
/// The upload is checked by its bytes as product images are (JPEG, PNG or WebP within `ImageLimits`, at least
/// `minimumSide` pixels a side), stored under a random key, then recorded; the file it replaces is deleted after the
/// commit, and a file whose recording failed is deleted at once. Only uploads set `avatar_key`/`banner_key`, so an
/// avatar URL given through `PATCH /api/me` never makes this delete a file that is not the user's own upload.
///
/// What the image pipeline of issue 21 will add (thumbnails, metadata stripped, libvips) applies here as it does to
/// product images: both go through `ImageStore` (libvips cleans them; no thumbnails for these).
package struct ProfileImages: Sendable {
    package enum Kind: String, Sendable, CaseIterable {
        case avatar, banner

        /// The smallest side an upload may have: an avatar is shown at 80 px, a banner across a page.
        var minimumSide: (width: Int, height: Int) {
            switch self {
            case .avatar: (32, 32)
            case .banner: (320, 80)
            }
        }
    }

    let db: PGPool
    let images: ImageStore
    let limits: ImageLimits

    package init(db: PGPool, images: ImageStore, limits: ImageLimits) {
        self.db = db
        self.images = images
        self.limits = limits
    }

    /// Stores `bytes` as the account's avatar or banner.
    /// - Throws: 413/415/422 from `ImagePipeline.process`; 422 `image_too_small`.
    package func set(_ kind: Kind, of account: UUID, bytes: [UInt8], logger: Logger) async throws -> Account {
        let minimum = kind.minimumSide
        // Checked on the cleaned image: upright, as it will be shown.
        let stored = try await images.store(bytes, limits: limits, thumbnails: false, logger: logger) { width, height in
            guard width >= minimum.width, height >= minimum.height else {
                throw AgoraError(
                    .validation, code: "image_too_small", "A \(kind.rawValue) is at least \(minimum.width)x\(minimum.height) pixels",
                    fields: ["image": "is \(width)x\(height) pixels"])
            }
        }
        let key = stored.key
        let url = stored.url
        let result: (account: Account, old: String?)
        do {
            result = try await replace(kind, of: account, url: url, key: key.rawValue, logger: logger)
        } catch {
            await delete(key.rawValue, logger: logger)
            throw error
        }
        if let old = result.old { await delete(old, logger: logger) }
        logger.info("Profile image set", metadata: ["kind": "\(kind.rawValue)", "bytes": "\(stored.byteSize)"])
        return result.account
    }

    /// Removes the account's avatar or banner (and its file, when it was uploaded). Removing none is not an error.
    package func remove(_ kind: Kind, of account: UUID, logger: Logger) async throws -> Account {
        let result = try await replace(kind, of: account, url: nil, key: nil, logger: logger)
        if let old = result.old { await delete(old, logger: logger) }
        return result.account
    }

    /// Points the account's `kind` at `url` and `key` (nil: none) in one statement, returning the account and the key
    /// of the upload it replaced (read under the row's lock, so two concurrent uploads each remove the file before theirs).
    func replace(_ kind: Kind, of account: UUID, url: String?, key: String?, logger: Logger) async throws -> (account: Account, old: String?) {
        let statement: PGQuery =
            switch kind {
            case .avatar:
                """
                UPDATE accounts a SET avatar_url = \(url), avatar_key = \(key)
                FROM (SELECT avatar_key AS old_key FROM accounts WHERE id = \(account) FOR UPDATE) old
                WHERE a.id = \(account) RETURNING old.old_key, \(literal: Account.columns)
                """
            case .banner:
                """
                UPDATE accounts a SET banner_url = \(url), banner_key = \(key)
                FROM (SELECT banner_key AS old_key FROM accounts WHERE id = \(account) FOR UPDATE) old
                WHERE a.id = \(account) RETURNING old.old_key, \(literal: Account.columns)
                """
            }
        guard let row = try await db.query(statement, logger: logger).first else {
            throw AgoraError(.notFound, code: "account_not_found", "No such account")
        }
        return (try Account(row: row), try row.decode("old_key"))
    }

    func delete(_ key: String, logger: Logger) async {
        guard let mediaKey = MediaKey(validating: key) else { return }
        await images.remove(mediaKey, thumbnailWidths: [], logger: logger)
    }
}

/// `PUT /api/me/avatar` and `PUT /api/me/banner` (`multipart/form-data`, the file in field `image`), and `DELETE` of
/// each. They answer the account, as `GET /api/me` does.
package struct ProfileImageRoutes: Sendable {
    let images: ProfileImages

    package init(images: ProfileImages) { self.images = images }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        for kind in ProfileImages.Kind.allCases {
            router.put("/api/me/\(kind.rawValue)") { request, context -> Account in
                let identity = try context.requireIdentity()
                let bytes = try await ImageUpload.imageBytes(of: request, context: context, limit: context.maxUploadSize)
                return try await images.set(kind, of: identity.accountID, bytes: bytes, logger: context.logger)
            }
            router.delete("/api/me/\(kind.rawValue)") { _, context -> Account in
                try await images.remove(kind, of: try context.requireIdentity().accountID, logger: context.logger)
            }
        }
    }
}
