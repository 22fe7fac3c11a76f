import AgoraCore
import AgoraPostgres
package import Foundation
package import Logging

extension ProductService {
    /// A seller's own products in every state (or one `status`), newest first.
    package func sellerProducts(_ seller: UUID, status: ProductStatus?, limit: Int, cursor: String?, logger: Logger) async throws -> ProductPage {
        var after: PGQuery = "TRUE"
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            after = "(p.created_at, p.id) < (\(position.date), \(position.id))"
        }
        let rows = try await db.query(
            """
            SELECT \(literal: Product.columns) FROM \(literal: Product.from)
            WHERE p.seller_id = \(seller) AND (\(status == nil) OR p.status = \(status?.rawValue)) AND \(fragment: after)
            ORDER BY p.created_at DESC, p.id DESC
            LIMIT \(limit + 1)
            """,
            logger: logger
        )
        let items = try await products(from: Array(rows.prefix(limit)), logger: logger)
        var next: String?
        if rows.count > limit, let last = items.last {
            next = OpaqueCursor.encode(TimePosition(last.createdAt, id: last.id))
        }
        return ProductPage(items: items, nextCursor: next)
    }
}

extension ProductService {
    /// How many listings of `seller` anyone can see.
    package func listingCount(of seller: UUID, logger: Logger) async throws -> Int {
        try await db.query("SELECT count(*) AS n FROM products WHERE seller_id = \(seller) AND status = 'published'", logger: logger).one().decode("n")
    }
}
