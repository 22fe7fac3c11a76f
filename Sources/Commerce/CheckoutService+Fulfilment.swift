import AgoraCore
import AgoraEvents
import AgoraPostgres
import Foundation
import Logging

extension CheckoutService {
    /// Payment arrived for a pending order: in the caller's transaction, the order and its seller orders become
    /// paid, reservations become sales (stock goes down), digital items are allocated one per unit, earnings are
    /// credited as pending, and the buyer (with their digital items) and sellers are mailed.
    ///
    /// One statement (`fulfilStatement`) makes every write and returns what the mails need; the mails are returned
    /// as a statement for the caller to send with its COMMIT, so a payment costs two round trips after the lock.
    /// - Parameter paymentReference: stored on the order (the provider's charge), when the event carries one.
    /// - Returns: the statements still to run in the transaction (the mails).
    /// - Parameter sellerOrder: fulfil only this seller order (Solana Pay pays each to its seller's wallet); the order
    ///   itself becomes paid with the last of them. Nil fulfils them all.
    func fulfil(_ order: LockedOrder, actor: OrderActor, paymentReference: String? = nil, sellerOrder: UUID? = nil, in tx: PGTransaction) async throws -> [PGQuery] {
        let statement = Self.fulfilStatement(order: order.id, buyer: order.buyerID, actor: actor, paymentReference: paymentReference, sellerOrder: sellerOrder)
        let row = try await tx.query(statement).one()
        func decode<T: Decodable>(_ column: String, as type: [T].Type) throws -> [T] {
            guard let text = try row.decode(column, as: String?.self) else { return [] }
            return try JSONDecoder().decode([T].self, from: Data(text.utf8))
        }
        let lines = try decode("lines", as: [SoldLine].self)
        let items = try decode("items", as: [SoldItem].self)
        let sellerOrders = try decode("seller_orders", as: [PaidSellerOrder].self)
        let lowStock = try decode("low_stock", as: [LowStock].self)
        // Digital items: exactly `quantity` per line (rows another fulfilment has locked are skipped).
        var delivered: [UUID: [String]] = [:]
        for item in items {
            guard let sealed = Data(base64Encoded: item.sealed) else {
                throw AgoraError(.internalError, "Digital item of \(item.productId) is unreadable")
            }
            delivered[item.lineId, default: []].append(try vault.open(Array(sealed), keyID: item.keyId, product: item.productId))
        }
        for line in lines where line.type != "physical" && delivered[line.id]?.count ?? 0 != line.quantity {
            // Stock of a digital product is its count of available items, so this means they disagree: roll the
            // whole payment back (the provider retries) rather than deliver less than was paid for.
            throw AgoraError(.internalError, "Digital inventory of \(line.productId) is short of its stock")
        }
        let mails = Self.fulfilmentMails(order, lines: lines, delivered: delivered, sellerOrders: sellerOrders, lowStock: lowStock,
                                         publicURL: settings.publicURL, partial: sellerOrder != nil)
        return try mailer.enqueueStatement(mails).map { [$0] } ?? []
    }

    /// A line `fulfilStatement` sold.
    struct SoldLine: Decodable {
        var id: UUID
        var productId: UUID
        var title: String
        var type: String
        var quantity: Int
    }

    /// A digital item `fulfilStatement` allocated to a line, still sealed (base64).
    struct SoldItem: Decodable {
        var lineId: UUID
        var productId: UUID
        var keyId: String
        var sealed: String
    }

    /// A seller order `fulfilStatement` marked paid.
    struct PaidSellerOrder: Decodable {
        var id: UUID
        var sellerId: UUID
        var total: Int64
        var currency: String
    }

    /// A product the sale took to or below its low-stock threshold.
    struct LowStock: Decodable {
        var sellerId: UUID
        var title: String
        var stock: Int
    }

    /// The fulfilment of a locked, pending order as one statement: the order and seller orders paid (digital-only
    /// ones delivered), lines sold, stock and reservations taken down, digital items allocated, history, ledger
    /// entries and domain events (order paid and delivered, stock changed, low stock) written. Everything that
    /// depends on a row's current value (stock, the low-stock crossing) is read from that row's `RETURNING`, under
    /// its lock. Returns one row of JSON arrays (`lines`, `items`, `seller_orders`, `low_stock`).
    ///
    /// History and events are each one insert ordered as the step-by-step code wrote them (the order's row, then per
    /// seller order paid and delivered; events per seller order, then per product), so their ids keep that order.
    ///
    /// With `sellerOrder`, only that seller order's lines are sold and only it is paid; the order's own row becomes
    /// paid (with its history row) only when no other seller order is still waiting for payment (read from the
    /// statement's snapshot, which the order's row lock, taken first by every payment, keeps current).
    static func fulfilStatement(order: UUID, buyer: UUID, actor: OrderActor, paymentReference: String?, sellerOrder: UUID? = nil) -> PGQuery {
        """
        WITH paid AS (
            UPDATE orders SET status = 'paid', paid_at = now(), updated_at = now(),
                              payment_reference = coalesce(\(paymentReference)::text, payment_reference)
            WHERE id = \(order)
              AND (\(sellerOrder)::uuid IS NULL OR NOT EXISTS (
                  SELECT 1 FROM seller_orders WHERE order_id = \(order) AND id <> \(sellerOrder)::uuid AND status = 'pending_payment'))
            RETURNING id
        ), lines AS (
            UPDATE order_lines SET reservation = 'sold'
            WHERE order_id = \(order) AND reservation = 'held' AND (\(sellerOrder)::uuid IS NULL OR seller_order_id = \(sellerOrder)::uuid)
            RETURNING id, seller_order_id, product_id, product_type, quantity, title
        ), sold AS (
            -- Sales: stock and reservation both drop by the quantity; one row per product (a product is on one line).
            UPDATE products p SET stock = p.stock - l.quantity, reserved = p.reserved - l.quantity
            FROM lines l WHERE p.id = l.product_id
            RETURNING p.id, p.seller_id, p.title, p.stock, p.stock + l.quantity AS old_stock, p.low_stock_threshold
        ), items AS (
            UPDATE inventory_items i SET status = 'sold', order_line_id = pick.line_id, sold_at = now()
            FROM (
                SELECT x.id, l.id AS line_id FROM lines l
                CROSS JOIN LATERAL (
                    SELECT id FROM inventory_items WHERE product_id = l.product_id AND status = 'available'
                    ORDER BY created_at, id LIMIT l.quantity FOR UPDATE SKIP LOCKED
                ) x
                WHERE l.product_type <> 'physical'
            ) pick
            WHERE i.id = pick.id
            RETURNING i.order_line_id, i.product_id, i.key_id, i.sealed
        ), so AS (
            -- Physical seller orders wait for shipping; digital-only ones are delivered now (the items are the delivery).
            UPDATE seller_orders SET status = CASE WHEN has_physical THEN 'paid' ELSE 'delivered' END,
                                     delivered_at = CASE WHEN has_physical THEN NULL ELSE now() END, updated_at = now()
            WHERE order_id = \(order) AND status = 'pending_payment' AND (\(sellerOrder)::uuid IS NULL OR id = \(sellerOrder)::uuid)
            RETURNING id, seller_id, has_physical, total_minor, seller_earnings_minor + shipping_minor AS credit, currency
        ), history AS (
            INSERT INTO order_history (order_id, seller_order_id, from_status, to_status, actor_id, actor_kind, note)
            SELECT \(order), h.so, h.from_status, h.to_status, h.actor_id, h.actor_kind, h.note FROM (
                SELECT 0 AS rank, NULL::uuid AS so, 0 AS step, 'pending_payment' AS from_status, 'paid' AS to_status,
                       \(actor.accountID)::uuid AS actor_id, \(actor.kind)::text AS actor_kind, NULL::text AS note
                FROM paid
                UNION ALL
                SELECT 1, so.id, s.step, s.from_status, s.to_status, s.actor_id, s.actor_kind, s.note
                FROM so CROSS JOIN LATERAL (VALUES
                    (1, 'pending_payment', 'paid', \(actor.accountID)::uuid, \(actor.kind)::text, NULL::text),
                    (2, 'paid', 'delivered', NULL::uuid, 'system', 'digital items delivered')
                ) AS s(step, from_status, to_status, actor_id, actor_kind, note)
                WHERE s.step = 1 OR NOT so.has_physical
            ) h
            ORDER BY h.rank, h.so, h.step
        ), ledger AS (
            -- Earnings as pending; a delivered (digital-only) seller order's move on to available at once.
            INSERT INTO seller_ledger (seller_id, currency, bucket, amount_minor, entry, seller_order_id)
            SELECT so.seller_id, so.currency, e.bucket, e.sign * so.credit, e.entry, so.id
            FROM so CROSS JOIN LATERAL (VALUES (1, 'pending', 1, 'earning'), (2, 'pending', -1, 'release'), (3, 'available', 1, 'release_credit'))
                 AS e(step, bucket, sign, entry)
            WHERE e.step = 1 OR NOT so.has_physical
            ORDER BY so.id, e.step
            ON CONFLICT DO NOTHING
        ), events AS (
            INSERT INTO domain_events (type, actor_id, subject_id, payload)
            SELECT ev.type, ev.actor_id, ev.subject_id, ev.payload FROM (
                SELECT 0 AS rank, so.id AS key, s.step, s.type, s.actor_id, \(order)::uuid AS subject_id,
                       jsonb_build_object('sellerOrderId', so.id::text, 'buyerId', \(buyer)::text, 'sellerId', so.seller_id::text,
                                          'status', s.status, 'total', so.total_minor, 'currency', so.currency) AS payload
                FROM so CROSS JOIN LATERAL (VALUES (1, 'order.paid', \(buyer)::uuid, 'paid'), (2, 'order.delivered', NULL::uuid, 'delivered'))
                     AS s(step, type, actor_id, status)
                WHERE s.step = 1 OR NOT so.has_physical
                UNION ALL
                -- Live stock on the product page (the realtime relay coalesces these per product); low stock when a
                -- sale takes a product to or below its threshold (crossing it, so it is said once).
                SELECT 1, sold.id, s.step, s.type, NULL::uuid, sold.id,
                       CASE s.step
                           WHEN 1 THEN jsonb_build_object('oldStock', sold.old_stock, 'stock', sold.stock,
                                                          'lowStockThreshold', sold.low_stock_threshold, 'lowStock', sold.stock <= sold.low_stock_threshold)
                           ELSE jsonb_build_object('sellerId', sold.seller_id::text, 'stock', sold.stock,
                                                   'lowStockThreshold', sold.low_stock_threshold, 'title', sold.title)
                       END
                FROM sold CROSS JOIN LATERAL (VALUES (1, 'product.stock_changed'), (2, 'product.low_stock')) AS s(step, type)
                WHERE s.step = 1 OR (sold.stock <= sold.low_stock_threshold AND sold.old_stock > sold.low_stock_threshold)
            ) ev
            ORDER BY ev.rank, ev.key, ev.step
        )
        SELECT
            (SELECT json_agg(json_build_object('id', id, 'productId', product_id, 'title', title, 'type', product_type, 'quantity', quantity)
                             ORDER BY title, id) FROM lines)::text AS lines,
            (SELECT json_agg(json_build_object('lineId', order_line_id, 'productId', product_id, 'keyId', key_id,
                                               'sealed', encode(sealed, 'base64'))) FROM items)::text AS items,
            (SELECT json_agg(json_build_object('id', so.id, 'sellerId', so.seller_id, 'total', so.total_minor, 'currency', so.currency)
                             ORDER BY so.id) FROM so)::text AS seller_orders,
            (SELECT json_agg(json_build_object('sellerId', sold.seller_id, 'title', sold.title, 'stock', sold.stock) ORDER BY sold.id)
             FROM sold
             WHERE sold.stock <= sold.low_stock_threshold AND sold.old_stock > sold.low_stock_threshold)::text AS low_stock
        """
    }

    /// The buyer's receipt (with digital items), each seller's new-order note and low-stock warnings.
    static func fulfilmentMails(
        _ order: LockedOrder, lines: [SoldLine], delivered: [UUID: [String]], sellerOrders: [PaidSellerOrder], lowStock: [LowStock],
        publicURL: String, partial: Bool = false
    ) -> [OrderMail] {
        let reference = order.id.uuidString.lowercased().prefix(8)
        // A payment of some seller orders (Solana Pay pays each seller apart) receipts what it paid.
        let paid = partial ? sellerOrders.reduce(0) { $0 + $1.total } : order.total
        var receipt = "Thank you: \(partial ? "part of " : "")order \(reference) is paid (\(OrderRecords.display(paid, order.currency))).\n\n"
        for line in lines {
            receipt += "- \(line.title) × \(line.quantity)\n"
            for item in delivered[line.id] ?? [] { receipt += "    \(item)\n" }
        }
        receipt += "\nYour order: \(publicURL)/orders/\(order.id.uuidString.lowercased())\n"
        // The receipt holds digital items: the outbox drops the body once it is sent.
        var mails = [OrderMail(to: order.buyerID, subject: "Your Agora order \(reference)", body: receipt, sensitive: !delivered.isEmpty)]
        for sellerOrder in sellerOrders {
            let to = sellerOrder.sellerId
            let total = OrderRecords.display(sellerOrder.total, sellerOrder.currency)
            mails.append(.init(to: to, subject: "New order \(reference) on Agora",
                               body: "You have a new paid order (\(total)).\n\n\(publicURL)/seller.html\n"))
        }
        for warning in lowStock {
            mails.append(.init(to: warning.sellerId, subject: "Low stock: \(warning.title)",
                               body: "“\(warning.title)” has \(warning.stock) left in stock.\n\n\(publicURL)/seller.html\n"))
        }
        return mails
    }

    /// Ends a pending order unpaid (its own transaction): reservations released, seller orders cancelled.
    /// - Returns: false when the order was no longer pending (paid or ended meanwhile).
    @discardableResult
    func release(_ orderID: UUID, to status: OrderStatus, reason: String, actor: OrderActor, logger: Logger) async throws -> Bool {
        try await db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query("SELECT buyer_id, status, total_minor, currency FROM orders WHERE id = \(orderID) FOR UPDATE")
            guard let row = rows.first else { return false }
            let order = LockedOrder(
                id: orderID, buyerID: try row.decode("buyer_id"), status: try OrderRecords.enumValue(row, "status"), total: try row.decode("total_minor"),
                refunded: 0, currency: try row.decode("currency"), session: nil, reference: nil
            )
            return try await releaseLocked(order, to: status, reason: reason, actor: actor, in: tx)
        }
    }

    /// `release` inside the caller's transaction, on a locked order.
    ///
    /// An order some of whose seller orders were paid on their own (Solana Pay) keeps those: only the unpaid ones
    /// end, and the order counts as paid for what was paid.
    func releaseLocked(_ order: LockedOrder, to status: OrderStatus, reason: String, actor: OrderActor, in tx: PGTransaction) async throws -> Bool {
        guard order.status == .pendingPayment else { return false }
        let partlyPaid = try await tx.query(
            "SELECT EXISTS (SELECT 1 FROM seller_orders WHERE order_id = \(order.id) AND status IN ('paid', 'shipped', 'delivered')) AS paid"
        ).one().decode("paid", as: Bool.self)
        if partlyPaid {
            try await tx.execute("UPDATE orders SET status = 'paid', paid_at = now(), updated_at = now() WHERE id = \(order.id)")
        } else {
            try await tx.execute(
                "UPDATE orders SET status = \(status.rawValue), cancelled_at = now(), cancel_reason = \(reason), updated_at = now() WHERE id = \(order.id)"
            )
        }
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
        // Solana Pay references stay watched for a while, so a transfer that comes too late is still recorded.
        try await tx.execute(
            """
            UPDATE solana_payments SET status = 'expired', signature = NULL, next_check_at = now(),
                   watch_until = now() + make_interval(secs => \(Double(settings.solana.lateWatch.components.seconds)))
            WHERE order_id = \(order.id) AND status IN ('pending', 'confirming')
            """
        )
        try await OrderRecords.recordHistory(
            order: order.id, from: "pending_payment", to: partlyPaid ? "paid" : status.rawValue, actor: actor,
            note: partlyPaid ? "\(reason); the seller orders paid stand, the others are cancelled" : reason, in: tx
        )
        try await events.record(
            try sellerOrders.map { row in
                OrderRecords.orderEvent(.orderCancelled, order: order.id, sellerOrder: try row.decode("id"), buyer: order.buyerID, seller: try row.decode("seller_id"),
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
        let old: SellerOrderStatus = try OrderRecords.enumValue(row, "status")
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
        // The earnings come back out of whichever bucket holds them now (available once delivered; pending before,
        // or while a dispute holds them), as much as the ledger holds for this seller order: after a partial refund
        // that is only what the seller kept.
        let held = try await tx.query(
            """
            SELECT bucket, sum(amount_minor)::bigint AS held FROM seller_ledger WHERE seller_order_id = \(id)
            GROUP BY bucket HAVING sum(amount_minor) <> 0 ORDER BY bucket
            """
        )
        for row in held {
            try await SellerLedger.record(
                seller: seller, currency: currency, bucket: try row.decode("bucket"), amount: -(try row.decode("held", as: Int64.self)), entry: "reversal",
                sellerOrder: id, in: tx
            )
        }
        try await OrderRecords.recordHistory(order: order, sellerOrder: id, from: old.rawValue, to: "cancelled", actor: actor, note: "refunded", in: tx)
        try await events.record(
            OrderRecords.orderEvent(.orderCancelled, order: order, sellerOrder: id, buyer: try row.decode("buyer_id"), seller: seller, status: .cancelled,
                            total: total, currency: currency, actor: actor.accountID, extra: ["reason": .string("refunded")]),
            in: tx
        )
        return total - (try row.decode("refunded_minor", as: Int64.self))
    }
}
