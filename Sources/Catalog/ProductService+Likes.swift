import AgoraCore
import AgoraEvents
import AgoraPostgres
package import Foundation
package import Logging

extension ProductService {
    /// Whether the caller likes a product, and how many do.
    package struct LikeState: Sendable, Codable, Equatable {
        package var liked: Bool
        package var likeCount: Int
    }

    /// Likes (or with `false`, unlikes) published product `id` for `account`. Idempotent: repeating it changes
    /// nothing and answers the same. The count moves in the same transaction as the like row, so it is exact under
    /// any number of concurrent toggles.
    /// - Throws: 404 for a product the account cannot see.
    package func setLike(_ id: UUID, account: UUID, liked: Bool, logger: Logger) async throws -> LikeState {
        try await db.withTransaction(logger: logger) { tx in
            let changed: Bool
            if liked {
                // Only a published product can gain likes; the INSERT … SELECT checks that in the same statement.
                let inserted = try await tx.execute(
                    """
                    INSERT INTO product_likes (account_id, product_id)
                    SELECT \(account), id FROM products WHERE id = \(id) AND status = 'published'
                    ON CONFLICT DO NOTHING
                    """
                )
                changed = inserted.affectedRows == 1
            } else {
                changed = try await tx.execute("DELETE FROM product_likes WHERE account_id = \(account) AND product_id = \(id)").affectedRows == 1
            }
            let delta = changed ? (liked ? 1 : -1) : 0
            let rows = try await tx.query(
                """
                UPDATE products SET like_count = like_count + \(Int32(delta)) WHERE id = \(id)
                  AND (status = 'published' OR \(!liked))
                RETURNING like_count, seller_id
                """
            )
            guard let row = rows.first else { throw AgoraError(.notFound, code: "product_not_found", "No such product") }
            let count: Int = try row.decode("like_count")
            if changed {
                try await events.record(
                    DomainEvent(liked ? .productLiked : .productUnliked, actor: account, subject: id, payload: [
                        "likeCount": .int(Int64(count)), "sellerId": .string((try row.decode("seller_id") as UUID).uuidString.lowercased()),
                    ]),
                    in: tx
                )
            }
            return LikeState(liked: liked, likeCount: count)
        }
    }

    /// The products `account` likes, most recently liked first.
    package func likes(of account: UUID, limit: Int, cursor: String?, logger: Logger) async throws -> ProductPage {
        var after: PGQuery = "TRUE"
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            after = "(l.created_at, l.product_id) < (\(position.date), \(position.id))"
        }
        // Archived or unpublished products stay out of the list; their likes remain and count again if re-listed.
        let rows = try await db.query(
            """
            SELECT \(literal: Product.columns), l.created_at AS liked_at
            FROM product_likes l JOIN \(literal: Product.from) ON p.id = l.product_id
            WHERE l.account_id = \(account) AND p.status = 'published' AND \(fragment: after)
            ORDER BY l.created_at DESC, l.product_id DESC
            LIMIT \(limit + 1)
            """,
            logger: logger
        )
        var items = try await products(from: Array(rows.prefix(limit)), logger: logger).map(\.publicView)
        for index in items.indices { items[index].likedByMe = true }
        var next: String?
        if rows.count > limit, let last = rows.prefix(limit).last {
            next = OpaqueCursor.encode(TimePosition(try last.decode("liked_at"), id: try last.decode("id")))
        }
        return ProductPage(items: items, nextCursor: next)
    }

    /// Which of `ids` `account` likes.
    func likedSet(of account: UUID, among ids: [UUID], logger: Logger) async throws -> Set<UUID> {
        let rows = try await db.query(
            "SELECT product_id FROM product_likes WHERE account_id = \(account) AND product_id = ANY(\(ids))",
            logger: logger
        )
        return Set(try rows.map { try $0.decode("product_id") })
    }
}
