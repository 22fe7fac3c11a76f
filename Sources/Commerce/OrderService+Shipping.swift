import AgoraCore
import AgoraEvents
import AgoraPostgres
package import Foundation
package import Logging

extension OrderService {
    /// A locked seller order, for a transition.
    struct LockedSellerOrder {
        var id: UUID
        var orderID: UUID
        var sellerID: UUID
        var buyerID: UUID
        var status: SellerOrderStatus
        var hasPhysical: Bool
        var total: Int64
        /// What the ledger holds for it as pending: its earnings and shipping, less any partial refund's share.
        var pendingCredit: Int64
        var currency: String
    }

    func lockSellerOrder(where filter: PGQuery, in tx: PGTransaction) async throws -> LockedSellerOrder {
        let rows = try await tx.query(
            """
            SELECT so.id, so.order_id, so.seller_id, o.buyer_id, so.status, so.has_physical, so.total_minor, so.currency,
                   (SELECT coalesce(sum(amount_minor), 0) FROM seller_ledger WHERE seller_order_id = so.id AND bucket = 'pending')::bigint
                       AS pending_credit
            FROM seller_orders so JOIN orders o ON o.id = so.order_id
            WHERE \(fragment: filter)
            FOR UPDATE OF so
            """
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "order_not_found", "No such order") }
        return LockedSellerOrder(
            id: try row.decode("id"), orderID: try row.decode("order_id"), sellerID: try row.decode("seller_id"), buyerID: try row.decode("buyer_id"),
            status: try OrderRecords.enumValue(row, "status"), hasPhysical: try row.decode("has_physical"), total: try row.decode("total_minor"),
            pendingCredit: try row.decode("pending_credit"), currency: try row.decode("currency")
        )
    }

    static func illegal(_ from: SellerOrderStatus, _ to: SellerOrderStatus) -> AgoraError {
        AgoraError(.conflict, code: "invalid_transition", "A \(from.rawValue) order cannot become \(to.rawValue)")
    }

    /// The seller hands a paid order to a carrier.
    /// - Throws: 404 unless it is the seller's; 409 `invalid_transition` unless it is paid; 422 for a missing
    ///   carrier or tracking number.
    package func ship(_ id: UUID, seller: UUID, carrier: String, trackingNumber: String, logger: Logger) async throws -> SellerOrderView {
        var problems: [String: String] = [:]
        let carrier = carrier.trimmingCharacters(in: .whitespacesAndNewlines)
        let tracking = trackingNumber.trimmingCharacters(in: .whitespacesAndNewlines)
        if !(1...100).contains(carrier.count) { problems["carrier"] = "is required (at most 100 characters)" }
        if !(1...100).contains(tracking.count) { problems["trackingNumber"] = "is required (at most 100 characters)" }
        guard problems.isEmpty else { throw AgoraError(.validation, "Shipping needs a carrier and a tracking number", fields: problems) }
        try await db.withTransaction(logger: logger) { tx in
            let order = try await lockSellerOrder(where: "so.id = \(id) AND so.seller_id = \(seller)", in: tx)
            guard order.status.canMove(to: .shipped), order.hasPhysical else { throw Self.illegal(order.status, .shipped) }
            try await tx.execute(
                """
                UPDATE seller_orders SET status = 'shipped', carrier = \(carrier), tracking_number = \(tracking), shipped_at = now(), updated_at = now()
                WHERE id = \(id)
                """
            )
            try await OrderRecords.recordHistory(order: order.orderID, sellerOrder: id, from: order.status.rawValue, to: "shipped", actor: .seller(seller),
                                    note: "\(carrier) \(tracking)", in: tx)
            try await events.record(
                OrderRecords.orderEvent(.orderShipped, order: order.orderID, sellerOrder: id, buyer: order.buyerID, seller: seller, status: .shipped,
                                total: order.total, currency: order.currency, actor: seller,
                                extra: ["carrier": .string(carrier), "trackingNumber": .string(tracking)]),
                in: tx
            )
            try await mail(
                order, subject: "Your order is on its way",
                text: "Your order was handed to \(carrier). Tracking number: \(tracking)\n\nWhen it arrives, confirm it on the order page.", in: tx
            )
        }
        return try await sellerOrder(id, seller: seller, logger: logger)
    }

    /// The seller says a shipped order arrived.
    package func markDelivered(_ id: UUID, seller: UUID, logger: Logger) async throws -> SellerOrderView {
        try await db.withTransaction(logger: logger) { tx in
            let order = try await lockSellerOrder(where: "so.id = \(id) AND so.seller_id = \(seller)", in: tx)
            guard order.status == .shipped else { throw Self.illegal(order.status, .delivered) }
            try await deliver(order, actor: .seller(seller), in: tx)
        }
        return try await sellerOrder(id, seller: seller, logger: logger)
    }

    /// The buyer confirms receipt of the shipped seller orders of their order (or just `sellerOrder`).
    /// - Throws: 404 unless the order is the buyer's; 409 when nothing of it is shipped.
    package func confirmReceipt(_ orderID: UUID, buyer: UUID, sellerOrder: UUID?, logger: Logger) async throws -> OrderView {
        try await db.withTransaction(logger: logger) { tx in
            try await requireBuyerOrder(orderID, buyer: buyer, in: tx)
            let ids = try await tx.query(
                """
                SELECT id FROM seller_orders WHERE order_id = \(orderID) AND status = 'shipped' AND (\(sellerOrder == nil) OR id = \(sellerOrder))
                ORDER BY id
                """
            ).map { try $0.decode("id", as: UUID.self) }
            guard !ids.isEmpty else { throw AgoraError(.conflict, code: "invalid_transition", "Nothing in this order is shipped and awaiting receipt") }
            for id in ids {
                try await deliver(try await lockSellerOrder(where: "so.id = \(id)", in: tx), actor: .buyer(buyer), in: tx)
            }
        }
        return try await buyerOrder(orderID, buyer: buyer, logger: logger)
    }

    func requireBuyerOrder(_ orderID: UUID, buyer: UUID, in tx: PGTransaction) async throws {
        guard try await !tx.query("SELECT 1 FROM orders WHERE id = \(orderID) AND buyer_id = \(buyer)").isEmpty else {
            throw AgoraError(.notFound, code: "order_not_found", "No such order")
        }
    }

    /// shipped → delivered on a locked seller order: what the ledger holds as pending for it becomes available.
    func deliver(_ order: LockedSellerOrder, actor: OrderActor, note: String? = nil, in tx: PGTransaction) async throws {
        try await tx.execute("UPDATE seller_orders SET status = 'delivered', delivered_at = now(), updated_at = now() WHERE id = \(order.id)")
        // A disputed order's earnings stay held; the dispute's end releases them.
        if try await !DisputeService.isDisputed(order.id, in: tx) {
            try await SellerLedger.releaseEarnings(sellerOrder: order.id, seller: order.sellerID, currency: order.currency, amount: order.pendingCredit, in: tx)
        }
        try await OrderRecords.recordHistory(order: order.orderID, sellerOrder: order.id, from: order.status.rawValue, to: "delivered", actor: actor, note: note, in: tx)
        try await events.record(
            OrderRecords.orderEvent(.orderDelivered, order: order.orderID, sellerOrder: order.id, buyer: order.buyerID, seller: order.sellerID,
                            status: .delivered, total: order.total, currency: order.currency, actor: actor.accountID),
            in: tx
        )
        // The buyer who confirmed it knows; anyone else's say-so is news to them.
        if actor != .buyer(order.buyerID) {
            try await mail(
                order, subject: "Your order was delivered",
                text: "Your order is marked delivered. If it did not arrive, or is not as described, open a dispute from the order page.", in: tx
            )
        }
    }

    /// Queues the buyer's mail about a seller order's journey (silenced by their `order_status` mute).
    func mail(_ order: LockedSellerOrder, subject: String, text: String, in tx: PGTransaction) async throws {
        let link = "\(publicURL)/#/orders/\(order.orderID.uuidString.lowercased())"
        let mail = OrderMail(to: order.buyerID, subject: subject, body: "\(text)\n\nOrder: \(link)\n", muteKind: "order_status")
        if let statement = try mailer.enqueueStatement([mail]) { try await tx.execute(statement) }
    }
}
