package import AgoraCore
import AgoraPostgres
package import Foundation
package import Logging

/// What was sold, per UTC day of a range and in all: the commerce half of the operator's dashboard.
package struct SalesFigures: Sendable, Equatable {
    package struct Day: Sendable, Equatable {
        /// `YYYY-MM-DD`.
        package var day: String
        /// Orders paid that day, and their value per currency.
        package var orders: Int
        package var gmv: [Money]
    }
    package struct TopProduct: Codable, Sendable, Equatable {
        package var productId: UUID
        package var title: String
        package var unitsSold: Int
        package var revenue: Money
    }
    package var days: [Day]
    package var ordersPaid: Int
    package var gmv: [Money]
    /// Orders that had a payment declined and were never paid, over those plus the orders paid, among the orders
    /// created in the range; nil when there are none. An order paid after a decline counts as paid.
    package var paymentFailureRate: Double?
    package var topProducts: [TopProduct]
}

extension OrderService {
    /// Figures for `from`…`to` inclusive (UTC days). GMV counts what buyers paid (totals of paid orders, refunds
    /// not deducted) per currency.
    package func salesFigures(from: Date, to: Date, logger: Logger) async throws -> SalesFigures {
        let days = try await db.query(
            """
            WITH d AS (SELECT generate_series(\(from)::timestamptz AT TIME ZONE 'UTC', \(to)::timestamptz AT TIME ZONE 'UTC', '1 day')::date AS day)
            SELECT to_char(d.day, 'YYYY-MM-DD') AS day,
                   (SELECT count(*) FROM orders o WHERE (o.paid_at AT TIME ZONE 'UTC')::date = d.day) AS orders,
                   (SELECT coalesce(array_agg(currency || ':' || total ORDER BY currency), '{}') FROM (
                        SELECT currency, sum(total_minor) AS total FROM orders o WHERE (o.paid_at AT TIME ZONE 'UTC')::date = d.day GROUP BY currency
                   ) g) AS gmv
            FROM d ORDER BY d.day
            """,
            logger: logger
        ).map { row in
            SalesFigures.Day(day: try row.decode("day"), orders: try row.decode("orders"), gmv: Self.moneyList(try row.decode("gmv")))
        }
        let end = to.addingTimeInterval(86_400)
        let totals = try await db.query(
            """
            SELECT (SELECT count(*) FROM orders WHERE paid_at >= \(from) AND paid_at < \(end)) AS paid,
                   (SELECT count(*) FROM orders o WHERE o.created_at >= \(from) AND o.created_at < \(end) AND o.paid_at IS NULL
                      AND (o.cancel_reason = 'payment_failed'
                           OR EXISTS (SELECT 1 FROM payment_events e WHERE e.order_id = o.id AND e.kind = 'failed'))) AS failed,
                   (SELECT count(*) FROM orders WHERE created_at >= \(from) AND created_at < \(end) AND paid_at IS NOT NULL) AS paid_created,
                   (SELECT coalesce(array_agg(currency || ':' || total ORDER BY currency), '{}') FROM (
                        SELECT currency, sum(total_minor) AS total FROM orders WHERE paid_at >= \(from) AND paid_at < \(end) GROUP BY currency) g) AS gmv
            """,
            logger: logger
        ).one()
        let failed: Int = try totals.decode("failed")
        let outcomes = failed + (try totals.decode("paid_created", as: Int.self))
        let top = try await db.query(
            """
            SELECT l.product_id, max(l.title) AS title, sum(l.quantity) AS units, sum(l.line_total_minor) AS revenue, max(o.currency) AS currency
            FROM order_lines l JOIN orders o ON o.id = l.order_id
            WHERE o.paid_at >= \(from) AND o.paid_at < \(end) AND l.reservation = 'sold'
            GROUP BY l.product_id ORDER BY units DESC, revenue DESC LIMIT 10
            """,
            logger: logger
        ).map { row in
            SalesFigures.TopProduct(
                productId: try row.decode("product_id"), title: try row.decode("title"), unitsSold: try row.decode("units"),
                revenue: Money(amount: try row.decode("revenue"), currency: try row.decode("currency"))
            )
        }
        return SalesFigures(
            days: days, ordersPaid: try totals.decode("paid"), gmv: Self.moneyList(try totals.decode("gmv")),
            paymentFailureRate: outcomes == 0 ? nil : (Double(failed) / Double(outcomes) * 10_000).rounded() / 10_000,
            topProducts: top
        )
    }

    /// `currency:amount` pairs as money, skipping any that do not parse.
    static func moneyList(_ pairs: [String]) -> [Money] {
        pairs.compactMap { pair in
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let amount = Int64(parts[1]) else { return nil }
            return Money(amount: amount, currency: String(parts[0]))
        }
    }
}

/// What a shop's public profile says of its sales: its rating over every review of its products, and how many of
/// its seller orders were delivered.
package struct ShopFigures: Codable, Sendable, Equatable {
    package var rating: Rating
    package var salesCount: Int
}

extension OrderService {
    /// The shop figures of `seller` (zeros for someone who never sold).
    package func shopFigures(of seller: UUID, logger: Logger) async throws -> ShopFigures {
        let row = try await db.query(
            """
            SELECT coalesce((SELECT rating_sum FROM seller_ratings WHERE seller_id = \(seller)), 0)::bigint AS rating_sum,
                   coalesce((SELECT rating_count FROM seller_ratings WHERE seller_id = \(seller)), 0) AS rating_count,
                   (SELECT count(*) FROM seller_orders WHERE seller_id = \(seller) AND status = 'delivered') AS sales
            """,
            logger: logger
        ).one()
        return ShopFigures(
            rating: Rating(sum: try row.decode("rating_sum"), count: try row.decode("rating_count")), salesCount: try row.decode("sales")
        )
    }
}
