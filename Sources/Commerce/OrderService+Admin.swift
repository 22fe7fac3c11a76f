package import AgoraCore
import AgoraPostgres
package import Foundation
package import Logging

/// Which orders the back office lists; nil fields do not narrow.
package struct AdminOrderFilter: Sendable, Equatable {
    package var status: OrderStatus?
    package var buyer: UUID?
    /// Orders with a seller order of this seller.
    package var seller: UUID?
    /// Inclusive lower bound of the creation time.
    package var from: Date?
    /// Exclusive upper bound of the creation time.
    package var to: Date?
    /// Bounds of the order's total, in minor units, inclusive.
    package var minTotal: Int64?
    package var maxTotal: Int64?

    package init() {}
}

/// A row of the back office's order list.
package struct AdminOrderSummary: Codable, Sendable, Equatable {
    package struct Part: Codable, Sendable, Equatable {
        package var id: UUID
        package var seller: SellerOrderView.Party
        package var status: SellerOrderStatus
        package var total: Money
        package var refunded: Money
    }

    package var id: UUID
    package var status: OrderStatus
    package var buyer: SellerOrderView.Party
    package var total: Money
    package var refunded: Money
    package var paymentProvider: String
    package var sellerOrders: [Part]
    package var createdAt: Date
}

/// One order as the back office opens it: the order with its seller orders as their sellers see them (fees,
/// earnings, buyer, address; never the digital items), its history and refunds, the provider's events and the
/// ledger entries of its seller orders.
package struct AdminOrderView: Codable, Sendable, Equatable {
    package struct PaymentEvent: Codable, Sendable, Equatable {
        package var provider: String
        package var eventId: String
        package var kind: String
        package var outcome: String
        package var receivedAt: Date
    }

    package struct LedgerEntry: Codable, Sendable, Equatable {
        package var id: Int64
        package var sellerId: UUID
        package var sellerOrderId: UUID?
        package var refundId: UUID?
        package var bucket: String
        package var entry: String
        package var amount: Money
        package var createdAt: Date
    }

    package var order: OrderView
    package var buyer: SellerOrderView.Party
    package var paymentEvents: [PaymentEvent]
    package var ledger: [LedgerEntry]
}

extension OrderService {
    /// Every order matching `filter`, newest first.
    package func adminOrders(_ filter: AdminOrderFilter, limit: Int, cursor: String?, logger: Logger) async throws -> Page<AdminOrderSummary> {
        var conditions: [PGQuery] = []
        if let status = filter.status { conditions.append("o.status = \(status.rawValue)") }
        if let buyer = filter.buyer { conditions.append("o.buyer_id = \(buyer)") }
        if let seller = filter.seller { conditions.append("EXISTS (SELECT 1 FROM seller_orders s WHERE s.order_id = o.id AND s.seller_id = \(seller))") }
        if let from = filter.from { conditions.append("o.created_at >= \(from)") }
        if let to = filter.to { conditions.append("o.created_at < \(to)") }
        if let min = filter.minTotal { conditions.append("o.total_minor >= \(min)") }
        if let max = filter.maxTotal { conditions.append("o.total_minor <= \(max)") }
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            conditions.append("(o.created_at, o.id) < (\(position.date), \(position.id))")
        }
        var whereClause: PGQuery = "TRUE"
        for condition in conditions {
            whereClause.append(" AND ")
            whereClause.append(condition)
        }
        let rows = try await db.query(
            """
            SELECT o.id, o.status, o.buyer_id, o.currency, o.total_minor, o.refunded_minor, o.payment_provider, o.created_at,
                   coalesce((SELECT json_agg(json_build_object('id', s.id, 'sellerId', s.seller_id, 'status', s.status, 'total', s.total_minor,
                                                               'refunded', s.refunded_minor) ORDER BY s.created_at, s.id)
                             FROM seller_orders s WHERE s.order_id = o.id), '[]')::text AS parts
            FROM orders o
            WHERE \(fragment: whereClause)
            ORDER BY o.created_at DESC, o.id DESC
            LIMIT \(limit + 1)
            """,
            logger: logger
        )
        struct RawPart: Decodable {
            var id: UUID
            var sellerId: UUID
            var status: SellerOrderStatus
            var total: Int64
            var refunded: Int64
        }
        let page = Array(rows.prefix(limit))
        let parts: [[RawPart]] = try page.map { try JSONDecoder().decode([RawPart].self, from: Data(try $0.decode("parts", as: String.self).utf8)) }
        let names = try await parties(try page.map { try $0.decode("buyer_id", as: UUID.self) } + parts.flatMap { $0.map(\.sellerId) }, logger: logger)
        func party(_ id: UUID) -> SellerOrderView.Party { names[id] ?? SellerOrderView.Party(id: id, username: "", displayName: "") }
        let items = try zip(page, parts).map { row, parts in
            let currency: String = try row.decode("currency")
            return AdminOrderSummary(
                id: try row.decode("id"), status: try OrderRecords.enumValue(row, "status"), buyer: party(try row.decode("buyer_id")),
                total: Money(amount: try row.decode("total_minor"), currency: currency),
                refunded: Money(amount: try row.decode("refunded_minor"), currency: currency), paymentProvider: try row.decode("payment_provider"),
                sellerOrders: parts.map {
                    .init(id: $0.id, seller: party($0.sellerId), status: $0.status, total: Money(amount: $0.total, currency: currency),
                          refunded: Money(amount: $0.refunded, currency: currency))
                },
                createdAt: try row.decode("created_at")
            )
        }
        var next: String?
        if rows.count > limit, let last = items.last { next = OpaqueCursor.encode(TimePosition(last.createdAt, id: last.id)) }
        return Page(items: items, nextCursor: next)
    }

    /// Order `id` as the back office opens it.
    /// - Throws: 404 for no such order.
    package func adminOrder(_ id: UUID, logger: Logger) async throws -> AdminOrderView {
        async let events = db.query(
            "SELECT provider, event_id, kind, outcome, received_at FROM payment_events WHERE order_id = \(id) ORDER BY received_at, event_id",
            logger: logger
        )
        async let ledger = db.query(
            """
            SELECT l.id, l.seller_id, l.seller_order_id, l.refund_id, l.bucket, l.entry, l.amount_minor, l.currency, l.created_at
            FROM seller_ledger l JOIN seller_orders so ON so.id = l.seller_order_id
            WHERE so.order_id = \(id) ORDER BY l.id
            """,
            logger: logger
        )
        let order = try await orderView(id, where: "id = \(id)", sellerView: true, logger: logger)
        let buyerID: UUID = try await db.query("SELECT buyer_id FROM orders WHERE id = \(id)", logger: logger).one().decode("buyer_id")
        let buyer = try await parties([buyerID], logger: logger)[buyerID] ?? SellerOrderView.Party(id: buyerID, username: "", displayName: "")
        return AdminOrderView(
            order: order, buyer: buyer,
            paymentEvents: try await events.map { row in
                AdminOrderView.PaymentEvent(
                    provider: try row.decode("provider"), eventId: try row.decode("event_id"), kind: try row.decode("kind"),
                    outcome: try row.decode("outcome"), receivedAt: try row.decode("received_at")
                )
            },
            ledger: try await ledger.map { row in
                AdminOrderView.LedgerEntry(
                    id: try row.decode("id"), sellerId: try row.decode("seller_id"), sellerOrderId: try row.decode("seller_order_id"),
                    refundId: try row.decode("refund_id"), bucket: try row.decode("bucket"), entry: try row.decode("entry"),
                    amount: Money(amount: try row.decode("amount_minor"), currency: try row.decode("currency")), createdAt: try row.decode("created_at")
                )
            }
        )
    }
}
