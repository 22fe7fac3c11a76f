import AgoraCore
import AgoraEvents
import AgoraMail
import AgoraPostgres
import Foundation
import Logging

extension CommerceService {
    /// Payment arrived for a pending order: in the caller's transaction, the order and its seller orders become
    /// paid, reservations become sales (stock goes down), digital items are allocated one per unit, earnings are
    /// credited as pending, and the buyer (with their digital items) and sellers are mailed.
    func fulfil(_ order: LockedOrder, actor: OrderActor, in tx: PGTransaction) async throws {
        try await tx.execute("UPDATE orders SET status = 'paid', paid_at = now(), updated_at = now() WHERE id = \(order.id)")
        try await recordHistory(order: order.id, from: "pending_payment", to: "paid", actor: actor, in: tx)
        let lines = try await tx.query(
            """
            UPDATE order_lines SET reservation = 'sold' WHERE order_id = \(order.id) AND reservation = 'held'
            RETURNING id, seller_order_id, product_id, product_type, quantity, title
            """
        )
        // Sales: stock and reservation both drop by the quantity; one row per product (a product is on one line).
        let productIDs: [UUID] = try lines.map { try $0.decode("product_id") }
        let quantities: [Int] = try lines.map { try $0.decode("quantity") }
        let sold = try await tx.query(
            """
            UPDATE products p SET stock = p.stock - l.q, reserved = p.reserved - l.q
            FROM unnest(\(productIDs), \(quantities)) AS l(id, q)
            WHERE p.id = l.id
            RETURNING p.id, p.seller_id, p.title, p.stock, p.stock + l.q AS old_stock, p.low_stock_threshold
            """
        )
        // Digital items: exactly `quantity` per line, skipping rows another fulfilment has locked.
        var delivered: [UUID: [String]] = [:]
        for line in lines where try line.decode("product_type", as: String.self) != "physical" {
            let lineID: UUID = try line.decode("id")
            let product: UUID = try line.decode("product_id")
            let quantity: Int = try line.decode("quantity")
            let items = try await tx.query(
                """
                UPDATE inventory_items SET status = 'sold', order_line_id = \(lineID), sold_at = now()
                WHERE id IN (
                    SELECT id FROM inventory_items WHERE product_id = \(product) AND status = 'available'
                    ORDER BY created_at, id LIMIT \(quantity) FOR UPDATE SKIP LOCKED
                )
                RETURNING key_id, sealed
                """
            )
            guard items.count == quantity else {
                // Stock of a digital product is its count of available items, so this means they disagree: roll the
                // whole payment back (the provider retries) rather than deliver less than was paid for.
                throw AgoraError(.internalError, "Digital inventory of \(product) is short of its stock")
            }
            delivered[lineID] = try items.map { try vault.open(try $0.decode("sealed", as: PGBytes.self).bytes, keyID: try $0.decode("key_id"), product: product) }
        }

        // Seller orders: physical ones wait for shipping; digital-only ones are delivered now (the items are the delivery).
        let sellerOrders = try await tx.query(
            """
            UPDATE seller_orders SET status = CASE WHEN has_physical THEN 'paid' ELSE 'delivered' END,
                                     delivered_at = CASE WHEN has_physical THEN NULL ELSE now() END, updated_at = now()
            WHERE order_id = \(order.id) AND status = 'pending_payment'
            RETURNING id, seller_id, has_physical, total_minor, seller_earnings_minor, shipping_minor, currency
            """
        )
        var events: [DomainEvent] = []
        for row in sellerOrders {
            let id: UUID = try row.decode("id")
            let seller: UUID = try row.decode("seller_id")
            let physical: Bool = try row.decode("has_physical")
            let credit = try row.decode("seller_earnings_minor", as: Int64.self) + row.decode("shipping_minor", as: Int64.self)
            let currency: String = try row.decode("currency")
            try await recordHistory(order: order.id, sellerOrder: id, from: "pending_payment", to: "paid", actor: actor, in: tx)
            try await ledger(seller: seller, currency: currency, bucket: "pending", amount: credit, entry: "earning", sellerOrder: id, in: tx)
            events.append(Self.orderEvent(.orderPaid, order: order.id, sellerOrder: id, buyer: order.buyerID, seller: seller, status: .paid,
                                          total: try row.decode("total_minor"), currency: currency, actor: order.buyerID))
            if !physical {
                try await recordHistory(order: order.id, sellerOrder: id, from: "paid", to: "delivered", actor: .system, note: "digital items delivered", in: tx)
                try await releaseEarnings(sellerOrder: id, seller: seller, currency: currency, amount: credit, in: tx)
                events.append(Self.orderEvent(.orderDelivered, order: order.id, sellerOrder: id, buyer: order.buyerID, seller: seller,
                                              status: .delivered, total: try row.decode("total_minor"), currency: currency, actor: nil))
            }
        }
        // Low stock: a sale that takes a product to or below its threshold (crossing it, so it is said once).
        var lowStock: [(seller: UUID, title: String, stock: Int)] = []
        for row in sold {
            let stock: Int = try row.decode("stock")
            let old: Int = try row.decode("old_stock")
            let threshold: Int = try row.decode("low_stock_threshold")
            // Live stock on the product page (the realtime relay coalesces these per product).
            events.append(DomainEvent(.productStockChanged, actor: nil, subject: try row.decode("id"), payload: [
                "oldStock": .int(Int64(old)), "stock": .int(Int64(stock)), "lowStockThreshold": .int(Int64(threshold)), "lowStock": .bool(stock <= threshold),
            ]))
            guard stock <= threshold, old > threshold else { continue }
            let seller: UUID = try row.decode("seller_id")
            let title: String = try row.decode("title")
            lowStock.append((seller, title, stock))
            events.append(DomainEvent(.productLowStock, actor: nil, subject: try row.decode("id"), payload: [
                "sellerId": .string(seller.uuidString.lowercased()), "stock": .int(Int64(stock)), "lowStockThreshold": .int(Int64(threshold)),
                "title": .string(title),
            ]))
        }
        if !events.isEmpty { try await self.events.record(events, in: tx) }
        try await mailFulfilment(order, lines: lines, delivered: delivered, sellerOrders: sellerOrders, lowStock: lowStock, in: tx)
    }

    /// The buyer's receipt (with digital items), each seller's new-order note and low-stock warnings, through the outbox.
    func mailFulfilment(
        _ order: LockedOrder, lines: [PGRow], delivered: [UUID: [String]], sellerOrders: [PGRow],
        lowStock: [(seller: UUID, title: String, stock: Int)], in tx: PGTransaction
    ) async throws {
        let sellers: [UUID] = try sellerOrders.map { try $0.decode("seller_id") }
        let emails = try await emails(of: [order.buyerID] + sellers + lowStock.map(\.seller), in: tx)
        let reference = order.id.uuidString.lowercased().prefix(8)
        var receipt = "Thank you: order \(reference) is paid (\(Self.display(order.total, order.currency))).\n\n"
        for line in lines {
            receipt += "- \(try line.decode("title", as: String.self)) × \(try line.decode("quantity", as: Int.self))\n"
            for item in delivered[try line.decode("id")] ?? [] { receipt += "    \(item)\n" }
        }
        receipt += "\nYour order: \(settings.publicURL)/orders/\(order.id.uuidString.lowercased())\n"
        if let to = emails[order.buyerID] {
            // Holds digital items: the outbox drops the body once it is sent.
            _ = try await mail.enqueue(to: to, subject: "Your Agora order \(reference)", body: receipt, sensitive: !delivered.isEmpty, in: tx)
        }
        for row in sellerOrders {
            guard let to = emails[try row.decode("seller_id")] else { continue }
            let total = Self.display(try row.decode("total_minor"), try row.decode("currency"))
            _ = try await mail.enqueue(to: to, subject: "New order \(reference) on Agora",
                                       body: "You have a new paid order (\(total)).\n\n\(settings.publicURL)/seller.html\n", in: tx)
        }
        for warning in lowStock {
            guard let to = emails[warning.seller] else { continue }
            _ = try await mail.enqueue(to: to, subject: "Low stock: \(warning.title)",
                                       body: "“\(warning.title)” has \(warning.stock) left in stock.\n\n\(settings.publicURL)/seller.html\n", in: tx)
        }
    }

    /// Ends a pending order unpaid (its own transaction): reservations released, seller orders cancelled.
    /// - Returns: false when the order was no longer pending (paid or ended meanwhile).
    @discardableResult
    func release(_ orderID: UUID, to status: OrderStatus, reason: String, actor: OrderActor, logger: Logger) async throws -> Bool {
        try await db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query("SELECT buyer_id, status, total_minor, currency FROM orders WHERE id = \(orderID) FOR UPDATE")
            guard let row = rows.first else { return false }
            let order = LockedOrder(
                id: orderID, buyerID: try row.decode("buyer_id"), status: try Self.enumValue(row, "status"), total: try row.decode("total_minor"),
                refunded: 0, currency: try row.decode("currency"), session: nil, reference: nil
            )
            return try await releaseLocked(order, to: status, reason: reason, actor: actor, in: tx)
        }
    }

    /// `release` inside the caller's transaction, on a locked order.
    func releaseLocked(_ order: LockedOrder, to status: OrderStatus, reason: String, actor: OrderActor, in tx: PGTransaction) async throws -> Bool {
        guard order.status == .pendingPayment else { return false }
        try await tx.execute(
            "UPDATE orders SET status = \(status.rawValue), cancelled_at = now(), cancel_reason = \(reason), updated_at = now() WHERE id = \(order.id)"
        )
        let lines = try await tx.query(
            "UPDATE order_lines SET reservation = 'released' WHERE order_id = \(order.id) AND reservation = 'held' RETURNING product_id, quantity"
        )
        try await tx.execute(
            """
            UPDATE products p SET reserved = p.reserved - l.q
            FROM unnest(\(try lines.map { try $0.decode("product_id", as: UUID.self) }), \(try lines.map { try $0.decode("quantity", as: Int.self) })) AS l(id, q)
            WHERE p.id = l.id
            """
        )
        let sellerOrders = try await tx.query(
            """
            UPDATE seller_orders SET status = 'cancelled', cancelled_at = now(), updated_at = now()
            WHERE order_id = \(order.id) AND status = 'pending_payment'
            RETURNING id, seller_id, total_minor
            """
        )
        try await tx.execute("UPDATE simulated_payments SET status = 'expired' WHERE order_id = \(order.id) AND status = 'open'")
        try await recordHistory(order: order.id, from: "pending_payment", to: status.rawValue, actor: actor, note: reason, in: tx)
        try await events.record(
            try sellerOrders.map { row in
                Self.orderEvent(.orderCancelled, order: order.id, sellerOrder: try row.decode("id"), buyer: order.buyerID, seller: try row.decode("seller_id"),
                                status: .cancelled, total: try row.decode("total_minor"), currency: order.currency, actor: actor.accountID,
                                extra: ["reason": .string(reason)])
            },
            in: tx
        )
        return true
    }

    /// Cancels a paid (or, for a provider refund, shipped or delivered) seller order: earnings reversed, stock of
    /// its physical lines put back when `restock` (only ever for unshipped ones), the refunded amount recorded on
    /// the seller order. The caller updates the order's own refunded total and status.
    /// - Returns: what this refunds: the seller order's total less what an earlier partial refund gave back.
    @discardableResult
    func cancelPaidSellerOrder(_ id: UUID, order: UUID, actor: OrderActor, refundReference: String?, restock: Bool, in tx: PGTransaction) async throws -> Int64 {
        let rows = try await tx.query(
            """
            SELECT so.seller_id, so.status, so.total_minor, so.refunded_minor, so.currency, o.buyer_id
            FROM seller_orders so JOIN orders o ON o.id = so.order_id
            WHERE so.id = \(id) FOR UPDATE OF so
            """
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "order_not_found", "No such order") }
        let old: SellerOrderStatus = try Self.enumValue(row, "status")
        guard [.paid, .shipped, .delivered].contains(old) else { return 0 }
        let seller: UUID = try row.decode("seller_id")
        let currency: String = try row.decode("currency")
        let total: Int64 = try row.decode("total_minor")
        try await tx.execute(
            """
            UPDATE seller_orders SET status = 'cancelled', cancelled_at = now(), refunded_minor = total_minor,
                   refund_reference = \(refundReference), updated_at = now()
            WHERE id = \(id)
            """
        )
        if restock {
            try await restockPhysicalLines(of: id, in: tx)
        }
        // The earnings come back out of whichever bucket holds them now, as much as the ledger holds for this
        // seller order: after a partial refund that is only what the seller kept.
        let bucket = old == .delivered ? "available" : "pending"
        let held: Int64 = try await tx.query(
            "SELECT coalesce(sum(amount_minor), 0)::bigint AS held FROM seller_ledger WHERE seller_order_id = \(id) AND bucket = \(bucket)"
        ).one().decode("held")
        if held != 0 {
            try await ledger(seller: seller, currency: currency, bucket: bucket, amount: -held, entry: "reversal", sellerOrder: id, in: tx)
        }
        try await recordHistory(order: order, sellerOrder: id, from: old.rawValue, to: "cancelled", actor: actor, note: "refunded", in: tx)
        try await events.record(
            Self.orderEvent(.orderCancelled, order: order, sellerOrder: id, buyer: try row.decode("buyer_id"), seller: seller, status: .cancelled,
                            total: total, currency: currency, actor: actor.accountID, extra: ["reason": .string("refunded")]),
            in: tx
        )
        return total - (try row.decode("refunded_minor", as: Int64.self))
    }

    /// Appends one ledger entry; a repeat of the same (seller order, entry) is a no-op.
    func ledger(seller: UUID, currency: String, bucket: String, amount: Int64, entry: String, sellerOrder: UUID?, payout: UUID? = nil, in tx: PGTransaction) async throws {
        try await tx.execute(
            """
            INSERT INTO seller_ledger (seller_id, currency, bucket, amount_minor, entry, seller_order_id, payout_id)
            VALUES (\(seller), \(currency), \(bucket), \(amount), \(entry), \(sellerOrder), \(payout))
            ON CONFLICT DO NOTHING
            """
        )
    }

    /// Moves a delivered seller order's earnings from pending to available.
    func releaseEarnings(sellerOrder: UUID, seller: UUID, currency: String, amount: Int64, in tx: PGTransaction) async throws {
        try await ledger(seller: seller, currency: currency, bucket: "pending", amount: -amount, entry: "release", sellerOrder: sellerOrder, in: tx)
        try await ledger(seller: seller, currency: currency, bucket: "available", amount: amount, entry: "release_credit", sellerOrder: sellerOrder, in: tx)
    }
}
