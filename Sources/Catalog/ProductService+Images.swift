import AgoraCore
import AgoraEvents
import AgoraMedia
import AgoraPostgres
package import Foundation
package import Logging

extension ProductService {
    /// Adds an image to the end of `seller`'s product `id`.
    ///
    /// The bytes are checked by their magic numbers (JPEG, PNG, WebP), cleaned by the image pipeline (upright, no
    /// metadata) with WebP thumbnails, stored under a random name, and only then recorded; if recording fails the
    /// files are removed again.
    /// - Throws: 404 for someone else's product; 409 at the image limit or for an archived product; 413/415/422
    ///   from `ImagePipeline.process`.
    package func addImage(_ id: UUID, seller: UUID, bytes: [UInt8], logger: Logger) async throws -> Product {
        _ = try ImageUpload.validate(bytes: bytes, limits: settings.imageLimits)
        // Check ownership before decoding or writing anything.
        _ = try await ownProduct(id, seller: seller, logger: logger)
        let image = try await images.store(bytes, limits: settings.imageLimits, thumbnails: true, logger: logger)
        do {
            try await db.withTransaction(logger: logger) { tx in
                let old = try await lockOwned(id, seller: seller, in: tx)
                guard old.status != .archived else {
                    throw AgoraError(.conflict, code: "product_archived", "An archived product cannot be edited")
                }
                let count: Int = try await tx.query("SELECT count(*) AS n FROM product_images WHERE product_id = \(id)").one().decode("n")
                guard count < settings.maxImages else {
                    throw AgoraError(.conflict, code: "too_many_images", "A product has at most \(settings.maxImages) images")
                }
                try await tx.execute(
                    """
                    INSERT INTO product_images (product_id, position, storage_key, content_type, width, height, byte_size, thumbnail_widths)
                    VALUES (\(id), \(count), \(image.key.rawValue), \(image.format.contentType), \(image.width), \(image.height),
                            \(image.byteSize), \(image.thumbnailWidths))
                    """
                )
                try await tx.execute("UPDATE products SET updated_at = now() WHERE id = \(id)")
            }
        } catch {
            await images.remove(image.key, thumbnailWidths: image.thumbnailWidths, logger: logger)
            throw error
        }
        logger.info(
            "Product image added",
            metadata: ["agora.product_id": "\(id)", "bytes": "\(bytes.count)", "stored_bytes": "\(image.byteSize)", "thumbnails": "\(image.thumbnailWidths)"])
        await cache.invalidate(products: [id], logger: logger)
        return try await ownProduct(id, seller: seller, logger: logger)
    }

    /// Removes image `imageID` of `seller`'s product; the others close ranks. The files go after the commit.
    package func deleteImage(_ id: UUID, imageID: UUID, seller: UUID, logger: Logger) async throws -> Product {
        let (key, widths): (String, [Int]) = try await db.withTransaction(logger: logger) { tx in
            _ = try await lockOwned(id, seller: seller, in: tx)
            let rows = try await tx.query(
                "DELETE FROM product_images WHERE id = \(imageID) AND product_id = \(id) RETURNING storage_key, thumbnail_widths::bigint[] AS thumbnail_widths")
            guard let row = rows.first else { throw AgoraError(.notFound, code: "image_not_found", "No such image") }
            try await tx.execute(
                """
                UPDATE product_images i SET position = r.position - 1
                FROM (SELECT id, row_number() OVER (ORDER BY position) AS position FROM product_images WHERE product_id = \(id)) r
                WHERE i.id = r.id
                """
            )
            try await tx.execute("UPDATE products SET updated_at = now() WHERE id = \(id)")
            return (try row.decode("storage_key"), try row.decode("thumbnail_widths", as: [Int].self))
        }
        if let mediaKey = MediaKey(validating: key) { await images.remove(mediaKey, thumbnailWidths: widths, logger: logger) }
        await cache.invalidate(products: [id], logger: logger)
        return try await ownProduct(id, seller: seller, logger: logger)
    }

    /// Puts the images of `seller`'s product in the order of `imageIDs`, which must name each image once.
    /// - Throws: 422 when the list is not exactly the product's images.
    package func reorderImages(_ id: UUID, order imageIDs: [UUID], seller: UUID, logger: Logger) async throws -> Product {
        try await db.withTransaction(logger: logger) { tx in
            _ = try await lockOwned(id, seller: seller, in: tx)
            let current = Set(try await tx.query("SELECT id FROM product_images WHERE product_id = \(id)").map { try $0.decode("id", as: UUID.self) })
            guard Set(imageIDs) == current, imageIDs.count == current.count else {
                throw AgoraError(.validation, "Some fields are not valid", fields: ["order": "must list each of the product's images exactly once"])
            }
            // The position constraint is deferred, so swapping positions within this statement is fine.
            try await tx.execute(
                """
                UPDATE product_images i SET position = o.position - 1
                FROM unnest(\(imageIDs)) WITH ORDINALITY AS o(id, position) WHERE i.id = o.id
                """
            )
            try await tx.execute("UPDATE products SET updated_at = now() WHERE id = \(id)")
        }
        await cache.invalidate(products: [id], logger: logger)
        return try await ownProduct(id, seller: seller, logger: logger)
    }
}
