package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// Reviews of products by buyers who received them, sellers' replies, and the ratings they add up to.
package struct ReviewService: Sendable {
    let db: PGPool
    /// The authors' names, from Accounts.
    let directory: any AccountDirectory

    package init(db: PGPool, directory: any AccountDirectory) {
        self.db = db
        self.directory = directory
    }
}

extension ReviewService {
    /// `buyer` reviews `product`: allowed once per product, after a seller order that bought it was delivered.
    /// The product's and the seller's ratings move in the same transaction.
    /// - Throws: 422 for a rating outside 1–5 or a body over 2,000 characters; 403 `review_not_allowed` without
    ///   a delivered purchase; 409 `already_reviewed`.
    package func review(_ product: UUID, buyer: UUID, rating: Int, body: String, logger: Logger) async throws -> Review {
        var problems: [String: String] = [:]
        if !(1...5).contains(rating) { problems["rating"] = "must be a whole number from 1 to 5" }
        if TextPolicy.length(body) > 2000 { problems["body"] = "must be at most 2000 characters" }
        guard problems.isEmpty else { throw AgoraError(.validation, "The review is not valid", fields: problems) }
        let body = body.trimmingCharacters(in: .whitespacesAndNewlines)
        let id: UUID
        do {
            id = try await db.withTransaction(logger: logger) { tx in
                let bought = try await tx.query(
                    """
                    SELECT so.id, so.seller_id FROM order_lines l
                    JOIN seller_orders so ON so.id = l.seller_order_id JOIN orders o ON o.id = so.order_id
                    WHERE l.product_id = \(product) AND o.buyer_id = \(buyer) AND so.status = 'delivered'
                    ORDER BY so.delivered_at LIMIT 1
                    """
                )
                guard let row = bought.first else {
                    throw AgoraError(.forbidden, code: "review_not_allowed", "You can review a product once an order of it has been delivered to you")
                }
                let seller: UUID = try row.decode("seller_id")
                let id: UUID = try await tx.query(
                    """
                    INSERT INTO reviews (product_id, seller_id, buyer_id, seller_order_id, rating, body)
                    VALUES (\(product), \(seller), \(buyer), \(try row.decode("id", as: UUID.self)), \(rating), \(body))
                    RETURNING id
                    """
                ).one().decode("id")
                try await tx.execute("UPDATE products SET rating_count = rating_count + 1, rating_sum = rating_sum + \(rating) WHERE id = \(product)")
                try await tx.execute(
                    """
                    INSERT INTO seller_ratings (seller_id, rating_count, rating_sum) VALUES (\(seller), 1, \(rating))
                    ON CONFLICT (seller_id) DO UPDATE SET rating_count = seller_ratings.rating_count + 1,
                                                          rating_sum = seller_ratings.rating_sum + EXCLUDED.rating_sum
                    """
                )
                return id
            }
        } catch let error as PGError where error.isUniqueViolation {
            throw AgoraError(.conflict, code: "already_reviewed", "You have already reviewed this product")
        }
        return try await reviews(where: "r.id = \(id)", limit: 1, logger: logger).one()
    }

    /// The seller of the reviewed product replies, once.
    /// - Throws: 404 unless the review is of the seller's product; 409 `already_replied`; 422 for an empty or long reply.
    package func reply(to review: UUID, seller: UUID, text: String, logger: Logger) async throws -> Review {
        let raw = text
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, TextPolicy.length(raw) <= 2000 else {
            throw AgoraError(.validation, "The reply is not valid", fields: ["reply": "must be 1 to 2000 characters"])
        }
        let rows = try await db.query(
            """
            WITH target AS (SELECT id, reply FROM reviews WHERE id = \(review) AND seller_id = \(seller)),
                 updated AS (UPDATE reviews SET reply = \(text), replied_at = now() WHERE id IN (SELECT id FROM target WHERE reply IS NULL) RETURNING id)
            SELECT (SELECT count(*) FROM target) AS found, (SELECT count(*) FROM updated) AS replied
            """,
            logger: logger
        )
        guard try rows.one().decode("found", as: Int.self) == 1 else { throw AgoraError(.notFound, code: "review_not_found", "No such review") }
        guard try rows.one().decode("replied", as: Int.self) == 1 else { throw AgoraError(.conflict, code: "already_replied", "This review already has a reply") }
        return try await reviews(where: "r.id = \(review)", limit: 1, logger: logger).one()
    }

    /// A published product's reviews, newest first, with its rating and its seller's.
    package func productReviews(_ product: UUID, limit: Int, cursor: String?, logger: Logger) async throws -> ReviewPage {
        let rows = try await db.query(
            """
            SELECT p.rating_sum, p.rating_count, coalesce(s.rating_sum, 0) AS seller_sum, coalesce(s.rating_count, 0) AS seller_count
            FROM products p LEFT JOIN seller_ratings s ON s.seller_id = p.seller_id
            WHERE p.id = \(product) AND p.status IN ('published', 'unpublished')
            """,
            logger: logger
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "product_not_found", "No such product") }
        var filter: PGQuery = "r.product_id = \(product)"
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            filter.append(" AND (r.created_at, r.id) < (\(position.date), \(position.id))")
        }
        let found = try await reviews(where: filter, limit: limit + 1, logger: logger)
        let items = Array(found.prefix(limit))
        return ReviewPage(
            items: items, nextCursor: found.count > limit ? items.last.map { OpaqueCursor.encode(TimePosition($0.createdAt, id: $0.id)) } : nil,
            rating: Rating(sum: try row.decode("rating_sum"), count: try row.decode("rating_count")),
            sellerRating: Rating(sum: try row.decode("seller_sum"), count: try row.decode("seller_count"))
        )
    }

    func reviews(where filter: PGQuery, limit: Int, logger: Logger) async throws -> [Review] {
        let rows = try await db.query(
            """
            SELECT r.id, r.product_id, r.rating, r.body, r.reply, r.replied_at, r.created_at, r.buyer_id
            FROM reviews r
            WHERE \(fragment: filter)
            ORDER BY r.created_at DESC, r.id DESC LIMIT \(limit)
            """,
            logger: logger
        )
        guard !rows.isEmpty else { return [] }
        let authors = try await directory.summaries(Array(Set(try rows.map { try $0.decode("buyer_id", as: UUID.self) })), logger: logger)
        return try rows.map { row in
            let author: UUID = try row.decode("buyer_id")
            let summary = authors[author]
            return Review(
                id: try row.decode("id"), productId: try row.decode("product_id"), rating: try row.decode("rating"), body: try row.decode("body"),
                author: .init(id: author, username: summary?.username ?? "", displayName: summary?.displayName ?? ""),
                reply: try row.decode("reply"), repliedAt: try row.decode("replied_at"), createdAt: try row.decode("created_at")
            )
        }
    }
}
