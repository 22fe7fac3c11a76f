import AgoraCore
import AgoraEvents
package import AgoraPostgres
package import Foundation
package import Logging

/// Listings taken down and put back by administrators, and hidden while their seller is suspended. Each runs in
/// the caller's transaction (which records the audit entry beside it); the caller invalidates the cache after the
/// commit (`forget`).
extension ProductService {
    /// A listing as moderation changed it.
    package struct Moderated: Sendable, Equatable {
        package var id: UUID
        package var sellerID: UUID
        package var title: String
        package var before: ProductStatus
        package var after: ProductStatus
    }

    /// Takes a listing down: hidden from everyone but its seller, who sees `reason`.
    /// - Throws: 404; 409 `invalid_transition` when it is archived or already taken down.
    package func takeDown(_ id: UUID, reason: String, actor: UUID, in tx: PGTransaction) async throws -> Moderated {
        let row = try await lockForModeration(id, in: tx)
        let before: ProductStatus = try Product.enumValue(row, "status")
        guard before != .takenDown, before != .archived else {
            throw AgoraError(.conflict, code: "invalid_transition", "A product that is \(before.rawValue) cannot be taken down")
        }
        try await tx.execute(
            """
            UPDATE products SET status = 'taken_down', hidden_by = 'admin', status_before_takedown = status, takedown_reason = \(reason),
                   taken_down_at = now(), updated_at = now()
            WHERE id = \(id)
            """
        )
        let seller: UUID = try row.decode("seller_id")
        if before == .published {
            try await events.record(
                DomainEvent(.productUnpublished, actor: actor, subject: id, payload: ["sellerId": .string(seller.uuidString), "takenDown": .bool(true)]),
                in: tx
            )
        }
        return Moderated(id: id, sellerID: seller, title: try row.decode("title"), before: before, after: .takenDown)
    }

    /// Puts a listing an administrator took down back as it was.
    /// - Throws: 404; 409 `invalid_transition` unless an administrator took it down (a suspended seller's listings
    ///   come back when the suspension ends).
    package func restore(_ id: UUID, actor: UUID, in tx: PGTransaction) async throws -> Moderated {
        let row = try await lockForModeration(id, in: tx)
        let before: ProductStatus = try Product.enumValue(row, "status")
        guard before == .takenDown, try row.decode("hidden_by", as: String?.self) == "admin" else {
            throw AgoraError(
                .conflict, code: "invalid_transition",
                before == .takenDown
                    ? "This listing is hidden because its seller is suspended; it comes back when the suspension ends"
                    : "Only a listing that was taken down can be restored"
            )
        }
        let after: ProductStatus = try Product.enumValue(row, "status_before_takedown")
        try await tx.execute(Self.restoreStatement("id = \(id)"))
        let seller: UUID = try row.decode("seller_id")
        if after == .published {
            try await events.record(DomainEvent(.productPublished, actor: actor, subject: id, payload: ["sellerId": .string(seller.uuidString)]), in: tx)
        }
        return Moderated(id: id, sellerID: seller, title: try row.decode("title"), before: before, after: after)
    }

    /// Hides every published listing of a seller being suspended.
    /// - Returns: the ids hidden.
    package func hideListings(of seller: UUID, actor: UUID, in tx: PGTransaction) async throws -> [UUID] {
        let ids: [UUID] = try await tx.query(
            """
            UPDATE products SET status = 'taken_down', hidden_by = 'suspension', status_before_takedown = status,
                   takedown_reason = 'The seller''s account is suspended', taken_down_at = now(), updated_at = now()
            WHERE seller_id = \(seller) AND status = 'published'
            RETURNING id
            """
        ).map { try $0.decode("id") }
        // Sockets following these products lose their topics, as for an unpublish.
        try await events.record(
            ids.map { DomainEvent(.productUnpublished, actor: actor, subject: $0, payload: ["sellerId": .string(seller.uuidString), "takenDown": .bool(true)]) },
            in: tx
        )
        return ids
    }

    /// Puts back the listings a seller's suspension hid (not those an administrator took down).
    /// - Returns: the ids restored.
    package func restoreListings(of seller: UUID, in tx: PGTransaction) async throws -> [UUID] {
        try await tx.query(Self.restoreStatement("seller_id = \(seller) AND hidden_by = 'suspension'", returning: true)).map { try $0.decode("id") }
    }

    static func restoreStatement(_ filter: PGQuery, returning: Bool = false) -> PGQuery {
        var statement: PGQuery = """
            UPDATE products SET status = status_before_takedown, hidden_by = NULL, status_before_takedown = NULL, takedown_reason = NULL,
                   taken_down_at = NULL, updated_at = now()
            WHERE status = 'taken_down' AND \(fragment: filter)
            """
        if returning { statement.append(" RETURNING id") }
        return statement
    }

    func lockForModeration(_ id: UUID, in tx: PGTransaction) async throws -> PGRow {
        let rows = try await tx.query(
            "SELECT seller_id, title, status, hidden_by, status_before_takedown FROM products WHERE id = \(id) FOR UPDATE"
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "product_not_found", "No such product") }
        return row
    }

    /// Drops the cached public views of `ids`, after the change that hid or restored them committed.
    package func forget(_ ids: [UUID], logger: Logger) async {
        guard !ids.isEmpty else { return }
        await cache.invalidate(products: ids, logger: logger)
    }

    /// The seller and title of a product anyone may see (for a report of it), or nil.
    package func reportable(_ id: UUID, logger: Logger) async throws -> (sellerID: UUID, title: String)? {
        guard let row = try await db.query("SELECT seller_id, title FROM products WHERE id = \(id) AND status = 'published'", logger: logger).first
        else { return nil }
        return (try row.decode("seller_id"), try row.decode("title"))
    }
}
