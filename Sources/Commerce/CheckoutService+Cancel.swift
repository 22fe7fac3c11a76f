import AgoraCore
import AgoraEvents
import AgoraPostgres
package import Foundation
package import Logging

extension CheckoutService {
    /// The buyer cancels. An unpaid order ends and its stock is released. In a paid one, every seller order not yet
    /// shipped (or just `sellerOrder`) gives back what was not delivered:
    /// - a seller order of physical products only is cancelled whole: refunded in full, stock put back, earnings reversed;
    /// - one that also holds digital items keeps them, since they were delivered at payment: only its physical lines
    ///   are cancelled and restocked, and it is refunded its total less what the digital lines cost alone, priced as
    ///   checkout prices a digital-only seller order (their VAT, no shipping). The seller keeps the earnings of the
    ///   digital lines, now available, and the seller order is `delivered`.
    ///
    /// The state change and a `pending` refund row commit together; the provider is called after that commit,
    /// outside any transaction, so no row stays locked while it answers, and its answer is recorded in a second
    /// transaction. A call that fails leaves the refund pending for the sweeper, which retries with the same
    /// idempotency key; the order view shows each refund and its status.
    /// - Throws: 404 unless the order is the buyer's; 409 `invalid_transition` when it is already ended or what is
    ///   left is shipped; 409 `nothing_refundable` when all that is left was delivered (digital items).
    package func cancel(_ orderID: UUID, buyer: UUID, sellerOrder: UUID?, logger: Logger) async throws -> OrderView {
        var sessionToClose: (provider: String, session: String)?
        let refund: RefundService.PendingRefund? = try await db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query(
                """
                SELECT status, total_minor, refunded_minor, currency, payment_provider, payment_session, payment_reference,
                       vat_rate_bp, prices_include_vat, platform_fee_bp
                FROM orders WHERE id = \(orderID) AND buyer_id = \(buyer) FOR UPDATE
                """
            )
            guard let row = rows.first else { throw AgoraError(.notFound, code: "order_not_found", "No such order") }
            let order = LockedOrder(
                id: orderID, buyerID: buyer, status: try OrderRecords.enumValue(row, "status"), total: try row.decode("total_minor"),
                refunded: try row.decode("refunded_minor"), currency: try row.decode("currency"), session: try row.decode("payment_session"),
                reference: try row.decode("payment_reference")
            )
            let providerName: String = try row.decode("payment_provider")
            switch order.status {
            case .pendingPayment:
                _ = try await releaseLocked(order, to: .cancelled, reason: "cancelled_by_buyer", actor: .buyer(buyer), in: tx)
                if let session = order.session { sessionToClose = (providerName, session) }
                return nil
            case .paid:
                // The rates the order was priced with: a partial refund is computed as its checkout computed it.
                let pricing = Pricing(
                    vatRateBP: try row.decode("vat_rate_bp"), pricesIncludeVAT: try row.decode("prices_include_vat"), shippingFlat: 0,
                    platformFeeBP: try row.decode("platform_fee_bp", as: Int?.self) ?? settings.platformFeeBP
                )
                return try await cancelPaid(order, provider: providerName, sellerOrder: sellerOrder, pricing: pricing, actor: .buyer(buyer), in: tx)
            case .cancelled, .refunded:
                throw AgoraError(.conflict, code: "invalid_transition", "This order is already \(order.status.rawValue)")
            }
        }
        if let close = sessionToClose {
            do { try await provider(close.provider).cancelSession(close.session, logger: logger) } catch {
                logger.warning("Could not close the payment session", metadata: ["agora.order_id": "\(orderID)", "error": "\(String(reflecting: error))"])
            }
        }
        if let refund {
            // The cancel is committed whatever the provider says now: a failed call stays pending and is retried.
            do {
                try await refunds.attemptRefund(refund, logger: logger)
            } catch {
                logger.warning("Could not record a refund's outcome; the sweeper retries it", metadata: ["agora.order_id": "\(orderID)", "error": "\(String(reflecting: error))"])
            }
        }
        return try await orders.buyerOrder(orderID, buyer: buyer, logger: logger)
    }

    /// The paid branch of `cancel`, in its transaction with the order locked: cancels what is left to deliver and
    /// records the refund it owes (nil when it owes nothing, e.g. only free lines).
    /// A seller's cancel, or an administrator's full refund of a seller order not yet shipped, comes this way too:
    /// `reason` names it on the refund and `includeDelivered` (an administrator's explicit choice) refunds the
    /// digital items delivered at payment as well.
    func cancelPaid(
        _ order: LockedOrder, provider: String, sellerOrder: UUID?, pricing: Pricing, actor: OrderActor, reason: String = "buyer_cancel",
        note: String? = nil, includeDelivered: Bool = false, in tx: PGTransaction
    ) async throws -> RefundService.PendingRefund? {
        let selected = try await tx.query(
            """
            SELECT id, status FROM seller_orders
            WHERE order_id = \(order.id) AND (\(sellerOrder == nil) OR id = \(sellerOrder))
            ORDER BY id FOR UPDATE
            """
        )
        let statuses: [(id: UUID, status: SellerOrderStatus)] = try selected.map { (try $0.decode("id"), try OrderRecords.enumValue($0, "status")) }
        let open = statuses.filter { $0.status == .paid }.map(\.id)
        guard !open.isEmpty else {
            if statuses.isEmpty || statuses.contains(where: { $0.status == .shipped }) || statuses.allSatisfy({ $0.status == .cancelled }) {
                throw AgoraError(.conflict, code: "invalid_transition", "Only orders not yet shipped can be cancelled")
            }
            throw AgoraError(
                .conflict, code: "nothing_refundable",
                "Nothing left in this order can be refunded by cancelling: digital items are delivered at payment, and delivered goods are not cancelled"
            )
        }
        var amount: Int64 = 0
        for id in open {
            amount += includeDelivered
                ? try await cancelPaidSellerOrder(id, order: order.id, actor: actor, refundReference: nil, restock: true, in: tx)
                : try await cancelUndelivered(id, order: order.id, pricing: pricing, actor: actor, in: tx)
        }
        return try await settleCancelled(order, sellerOrders: open, amount: amount, provider: provider, actor: actor, reason: reason, note: note, in: tx)
    }

    /// What every cancel of paid seller orders ends with, in its transaction: the order's refunded sum (and its
    /// status when nothing of it is left), and the refund owed, recorded as pending.
    func settleCancelled(
        _ order: LockedOrder, sellerOrders open: [UUID], amount: Int64, provider: String, actor: OrderActor, reason: String, note: String?,
        in tx: PGTransaction
    ) async throws -> RefundService.PendingRefund? {
        let remaining = try await tx.query(
            "SELECT count(*) AS n FROM seller_orders WHERE order_id = \(order.id) AND status <> 'cancelled'"
        ).one().decode("n", as: Int.self)
        try await tx.execute(
            """
            UPDATE orders SET refunded_minor = refunded_minor + \(amount), status = CASE WHEN \(remaining == 0) THEN 'refunded' ELSE status END,
                   updated_at = now()
            WHERE id = \(order.id)
            """
        )
        if remaining == 0 {
            try await OrderRecords.recordHistory(order: order.id, from: "paid", to: "refunded", actor: actor, note: "cancelled by the \(actor.kind)", in: tx)
        }
        let key = "cancel-" + open.map { $0.uuidString.lowercased() }.joined(separator: "-").prefix(200)
        let refund = try await refunds.recordRefund(
            order: order.id, sellerOrders: open, provider: provider, idempotencyKey: String(key), reason: reason, amount: amount,
            currency: order.currency, requestedBy: actor.accountID, note: note, in: tx
        )
        if let refund {
            // Names the refund until the provider's own id replaces it.
            try await tx.execute("UPDATE seller_orders SET refund_reference = \(refund.id.uuidString.lowercased()) WHERE id = ANY(\(open))")
        }
        return refund
    }

    /// Cancels what is left to deliver of one paid seller order (locked by the caller).
    /// - Returns: the amount it owes the buyer.
    func cancelUndelivered(_ id: UUID, order: UUID, pricing: Pricing, actor: OrderActor, in tx: PGTransaction) async throws -> Int64 {
        let digital = try await tx.query(
            """
            SELECT count(*) AS lines, coalesce(sum(line_total_minor), 0)::bigint AS goods FROM order_lines
            WHERE seller_order_id = \(id) AND product_type <> 'physical' AND reservation = 'sold'
            """
        ).one()
        guard try digital.decode("lines", as: Int.self) > 0 else {
            return try await cancelPaidSellerOrder(id, order: order, actor: actor, refundReference: nil, restock: true, in: tx)
        }
        let row = try await tx.query(
            """
            SELECT so.seller_id, so.total_minor, so.refunded_minor, so.currency, o.buyer_id FROM seller_orders so JOIN orders o ON o.id = so.order_id
            WHERE so.id = \(id)
            """
        ).one()
        let seller: UUID = try row.decode("seller_id")
        let currency: String = try row.decode("currency")
        let total: Int64 = try row.decode("total_minor")
        let refundedBefore: Int64 = try row.decode("refunded_minor")
        // What the buyer keeps is priced as a digital-only seller order would be: its own VAT, no shipping. A partial
        // refund made earlier counts against the rest.
        let kept = pricing.totals(goods: try digital.decode("goods"), hasPhysical: false)
        let refund = max(0, total - kept.total - refundedBefore)

        // The seller keeps the earnings of the delivered items (now available: they are delivered); the rest of
        // what the payment credited is taken back from pending.
        let pending: Int64 = try await tx.query(
            "SELECT coalesce(sum(amount_minor), 0)::bigint AS held FROM seller_ledger WHERE seller_order_id = \(id) AND bucket = 'pending'"
        ).one().decode("held")
        let keptCredit = min(kept.sellerEarnings, pending)
        if pending > keptCredit {
            try await SellerLedger.record(seller: seller, currency: currency, bucket: "pending", amount: -(pending - keptCredit), entry: "partial_reversal",
                             sellerOrder: id, in: tx)
        }
        try await SellerLedger.releaseEarnings(sellerOrder: id, seller: seller, currency: currency, amount: keptCredit, in: tx)
        try await restockPhysicalLines(of: id, in: tx)
        try await tx.execute(
            """
            UPDATE seller_orders SET status = 'delivered', delivered_at = now(), refunded_minor = refunded_minor + \(refund), updated_at = now()
            WHERE id = \(id)
            """
        )
        try await OrderRecords.recordHistory(
            order: order, sellerOrder: id, from: "paid", to: "delivered", actor: actor,
            note: "physical lines cancelled and \(OrderRecords.display(refund, currency)) refunded; the digital items delivered at payment are kept", in: tx
        )
        try await events.record(
            OrderRecords.orderEvent(.orderDelivered, order: order, sellerOrder: id, buyer: try row.decode("buyer_id"), seller: seller, status: .delivered,
                            total: total, currency: currency, actor: actor.accountID,
                            extra: ["reason": .string("partially_refunded"), "refunded": .int(refund)]),
            in: tx
        )
        return refund
    }

    /// Puts the stock of a seller order's sold physical lines back.
    func restockPhysicalLines(of sellerOrder: UUID, in tx: PGTransaction) async throws {
        let lines = try await tx.query(
            """
            UPDATE order_lines SET reservation = 'restocked'
            WHERE seller_order_id = \(sellerOrder) AND reservation = 'sold' AND product_type = 'physical'
            RETURNING product_id, quantity
            """
        )
        guard !lines.isEmpty else { return }
        try await tx.execute(
            """
            UPDATE products p SET stock = p.stock + l.q
            FROM unnest(\(try lines.map { try $0.decode("product_id", as: UUID.self) }), \(try lines.map { try $0.decode("quantity", as: Int.self) })) AS l(id, q)
            WHERE p.id = l.id
            """
        )
    }
}
