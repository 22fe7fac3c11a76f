package import AgoraAudit
import AgoraCore
import AgoraEvents
import AgoraPostgres
package import Foundation
package import Logging

/// How much of a seller order to refund.
package enum RefundScope: Sendable, Equatable {
    /// This many minor units, at most what is left of what was paid.
    case amount(Int64)
    /// Everything left. Digital items delivered at payment are kept by the buyer (and their price by the seller)
    /// unless `includeDelivered`, which only an administrator may say.
    case everything(includeDelivered: Bool)
}

/// Refunds that sellers and administrators make, and the administrator's status override. Each runs in one
/// transaction that locks the order and then the seller order (the order buyer cancels lock too, so they never
/// deadlock), checks what is left of what was paid under that lock, and writes the refund row, the ledger, the
/// history, the live event and the buyer's mail, plus the audit entry of an administrator, before the commit; the
/// provider is asked after it (`RefundService.attemptRefund`).
///
/// The ledger follows the money: a refund takes back the seller's share of it, in proportion to what the ledger
/// still holds for the seller order against what is left to refund, so the last refund takes back exactly the
/// rest and a seller order refunded in full holds nothing. It draws on pending first, then available (after a
/// delivery or a payout the available balance may go below zero: the seller owes it back from later sales).
extension CheckoutService {
    /// A seller order's head, locked with its order.
    struct LockedRefundTarget {
        var order: LockedOrder
        var provider: String
        var pricing: Pricing
        var sellerOrder: UUID
        var sellerID: UUID
        var status: SellerOrderStatus
        var hasPhysical: Bool
        var total: Int64
        var refunded: Int64
    }

    /// Locks the order of seller order `id` and then the seller order. `seller` narrows it to that seller's (404 for
    /// any other, as for one that does not exist).
    func lockRefundTarget(_ id: UUID, seller: UUID?, in tx: PGTransaction) async throws -> LockedRefundTarget {
        let rows = try await tx.query(
            """
            SELECT o.id, o.buyer_id, o.status, o.total_minor, o.refunded_minor, o.currency, o.payment_provider, o.payment_session,
                   o.payment_reference, o.vat_rate_bp, o.prices_include_vat, o.platform_fee_bp
            FROM orders o
            WHERE o.id = (SELECT order_id FROM seller_orders WHERE id = \(id) AND (\(seller == nil) OR seller_id = \(seller)))
            FOR UPDATE
            """
        )
        guard let row = rows.first, let order = try Self.lockedOrder(row) else {
            throw AgoraError(.notFound, code: "order_not_found", "No such order")
        }
        let so = try await tx.query(
            "SELECT seller_id, status, has_physical, total_minor, refunded_minor FROM seller_orders WHERE id = \(id) FOR UPDATE"
        ).one()
        return LockedRefundTarget(
            order: order, provider: try row.decode("payment_provider"),
            pricing: Pricing(
                vatRateBP: try row.decode("vat_rate_bp"), pricesIncludeVAT: try row.decode("prices_include_vat"), shippingFlat: 0,
                platformFeeBP: try row.decode("platform_fee_bp", as: Int?.self) ?? settings.platformFeeBP
            ),
            sellerOrder: id, sellerID: try so.decode("seller_id"), status: try OrderRecords.enumValue(so, "status"),
            hasPhysical: try so.decode("has_physical"), total: try so.decode("total_minor"), refunded: try so.decode("refunded_minor")
        )
    }

    /// The seller cancels one of its paid seller orders before shipping: the buyer gets back everything not yet
    /// delivered, the stock goes back, the earnings are reversed.
    /// - Throws: 404 unless it is the seller's; 409 `invalid_transition` unless it is paid and not shipped.
    package func sellerCancel(_ id: UUID, seller: UUID, note: String?, logger: Logger) async throws -> SellerOrderView {
        let note = try Self.refundNote(note, required: false)
        let refund: RefundService.PendingRefund? = try await db.withTransaction(logger: logger) { tx in
            let target = try await lockRefundTarget(id, seller: seller, in: tx)
            guard target.status == .paid else {
                throw AgoraError(.conflict, code: "invalid_transition", "Only a paid order not yet shipped can be cancelled (this one is \(target.status.rawValue))")
            }
            let refund = try await cancelPaid(
                target.order, provider: target.provider, sellerOrder: id, pricing: target.pricing, actor: .seller(seller), reason: "seller_cancel",
                note: note, in: tx
            )
            try await queueRefundMail(target, amount: refund?.amount ?? 0, cancelled: true, note: note, in: tx)
            return refund
        }
        await ask(refund, logger: logger)
        return try await orders.sellerOrder(id, seller: seller, logger: logger)
    }

    /// The seller gives back part of what was paid for one of its seller orders, whatever its state since payment.
    /// - Throws: 404 unless it is the seller's; 409 `invalid_transition` unless it is paid, shipped or delivered;
    ///   422 `refund_exceeds_paid` for more than is left of what was paid.
    package func sellerRefund(
        _ id: UUID, seller: UUID, amount: Int64, note: String?, idempotencyKey: String?, logger: Logger
    ) async throws -> SellerOrderView {
        let note = try Self.refundNote(note, required: true)
        let key = try Self.refundKey(id, idempotencyKey)
        let refund: RefundService.PendingRefund? = try await db.withTransaction(logger: logger) { tx in
            let target = try await lockRefundTarget(id, seller: seller, in: tx)
            if try await refunds.wasRecorded(key: key, in: tx) { return nil }
            try Self.requirePaid(target)
            return try await refundMoney(target, amount: amount, reason: "seller_refund", actor: .seller(seller), note: note, key: key, in: tx)
        }
        await ask(refund, logger: logger)
        return try await orders.sellerOrder(id, seller: seller, logger: logger)
    }

    /// An administrator refunds a seller order, in part or in full, with a reason the buyer and the audit log keep.
    /// A full refund of a seller order not yet shipped cancels it (stock back); of one shipped or delivered it gives
    /// the money back and leaves the goods where they are.
    /// - Returns: the order's id.
    /// - Throws: 404 for no such seller order; 409 `invalid_transition` unless paid, shipped or delivered; 409
    ///   `nothing_refundable` for a full refund with nothing left; 422 `refund_exceeds_paid`.
    package func adminRefund(
        _ id: UUID, scope: RefundScope, reason: String?, by admin: UUID, idempotencyKey: String?, logger: Logger
    ) async throws -> UUID {
        let note = try Self.refundNote(reason, required: true)
        let key = try Self.refundKey(id, idempotencyKey)
        let (orderID, refund): (UUID, RefundService.PendingRefund?) = try await db.withTransaction(logger: logger) { tx in
            let target = try await lockRefundTarget(id, seller: nil, in: tx)
            // A retry of a refund that was made (same Idempotency-Key) changes nothing and records nothing.
            if try await refunds.wasRecorded(key: key, in: tx) { return (target.order.id, nil) }
            try Self.requirePaid(target)
            let refund: RefundService.PendingRefund?
            switch scope {
            case .amount(let amount):
                refund = try await refundMoney(target, amount: amount, reason: "admin_refund", actor: .admin(admin), note: note, key: key, in: tx)
            case .everything(let includeDelivered) where target.status == .paid:
                refund = try await cancelPaid(
                    target.order, provider: target.provider, sellerOrder: id, pricing: target.pricing, actor: .admin(admin), reason: "admin_refund",
                    note: note, includeDelivered: includeDelivered, in: tx
                )
                try await queueRefundMail(target, amount: refund?.amount ?? 0, cancelled: true, note: note, in: tx)
            case .everything(let includeDelivered):
                let kept = includeDelivered ? 0 : try await deliveredDigitalTotal(target, in: tx)
                let amount = target.total - kept - target.refunded
                guard amount > 0 else {
                    throw AgoraError(
                        .conflict, code: "nothing_refundable",
                        includeDelivered
                            ? "Everything paid for this order was refunded already"
                            : "What is left was delivered as digital items; refund it with includeDelivered to give that back too"
                    )
                }
                refund = try await refundMoney(target, amount: amount, reason: "admin_refund", actor: .admin(admin), note: note, key: key, in: tx)
            }
            try await recordAudit(.orderRefunded, target, by: admin, reason: note, extra: [
                "amountMinor": .int(refund?.amount ?? 0), "refundId": .string(refund?.id.uuidString ?? ""),
            ], in: tx)
            return (target.order.id, refund)
        }
        await ask(refund, logger: logger)
        return orderID
    }

    /// An administrator moves a seller order along its state machine (paid → shipped → delivered, or paid →
    /// delivered), or cancels it from any paid state: a cancel refunds everything left, delivered digital items
    /// included, and puts the stock back only if nothing was shipped.
    /// - Returns: the order's id.
    /// - Throws: 404; 409 `invalid_transition` for any other move (never to paid: only a payment makes an order paid).
    package func overrideStatus(_ id: UUID, to next: SellerOrderStatus, reason: String?, by admin: UUID, logger: Logger) async throws -> UUID {
        let note = try Self.refundNote(reason, required: true)
        let (orderID, refund): (UUID, RefundService.PendingRefund?) = try await db.withTransaction(logger: logger) { tx in
            let target = try await lockRefundTarget(id, seller: nil, in: tx)
            let actor = OrderActor.admin(admin)
            var refund: RefundService.PendingRefund?
            switch (target.status, next) {
            case (.paid, .cancelled):
                refund = try await cancelPaid(
                    target.order, provider: target.provider, sellerOrder: id, pricing: target.pricing, actor: actor, reason: "admin_refund", note: note,
                    includeDelivered: true, in: tx
                )
                try await queueRefundMail(target, amount: refund?.amount ?? 0, cancelled: true, note: note, in: tx)
            case (.shipped, .cancelled), (.delivered, .cancelled):
                let amount = try await cancelPaidSellerOrder(id, order: target.order.id, actor: actor, refundReference: nil, restock: false, in: tx)
                refund = try await settleCancelled(
                    target.order, sellerOrders: [id], amount: amount, provider: target.provider, actor: actor, reason: "admin_refund", note: note, in: tx
                )
                try await queueRefundMail(target, amount: refund?.amount ?? 0, cancelled: true, note: note, in: tx)
            case (.paid, .shipped) where target.hasPhysical:
                try await tx.execute("UPDATE seller_orders SET status = 'shipped', shipped_at = now(), updated_at = now() WHERE id = \(id)")
                try await OrderRecords.recordHistory(order: target.order.id, sellerOrder: id, from: "paid", to: "shipped", actor: actor, note: note, in: tx)
                try await events.record(
                    OrderRecords.orderEvent(.orderShipped, order: target.order.id, sellerOrder: id, buyer: target.order.buyerID, seller: target.sellerID,
                                            status: .shipped, total: target.total, currency: target.order.currency, actor: admin),
                    in: tx
                )
            case (.paid, .delivered), (.shipped, .delivered):
                try await orders.deliver(try await orders.lockSellerOrder(where: "so.id = \(id)", in: tx), actor: actor, note: note, in: tx)
            default:
                throw AgoraError(
                    .conflict, code: "invalid_transition",
                    "A \(target.status.rawValue) order cannot be moved to \(next.rawValue): only along paid → shipped → delivered, or to cancelled once paid"
                )
            }
            try await recordAudit(.orderStatusOverridden, target, by: admin, reason: note, extra: [:], in: tx)
            return (target.order.id, refund)
        }
        await ask(refund, logger: logger)
        return orderID
    }

    // MARK: The money

    /// Gives `amount` of a locked seller order back: the refund row, the seller's share taken back from the ledger,
    /// the seller order's and the order's refunded sums, a history row, the live event and the buyer's mail.
    /// - Returns: the refund to ask for, or nil when `key` was used before (a replay changes nothing).
    func refundMoney(
        _ target: LockedRefundTarget, amount: Int64, reason: String, actor: OrderActor, note: String?, key: String, in tx: PGTransaction
    ) async throws -> RefundService.PendingRefund? {
        let left = target.total - target.refunded
        guard amount >= 1 else {
            throw AgoraError(.validation, "A refund is at least one minor unit", fields: ["amount": "must be at least 1"])
        }
        guard amount <= left else {
            throw AgoraError(
                .validation, code: "refund_exceeds_paid", "A refund cannot exceed what is left of what was paid",
                fields: ["amount": "must be at most \(left) (paid \(target.total), refunded \(target.refunded))"]
            )
        }
        guard
            let refund = try await refunds.recordRefund(
                order: target.order.id, sellerOrders: [target.sellerOrder], provider: target.provider, idempotencyKey: key, reason: reason,
                amount: amount, currency: target.order.currency, requestedBy: actor.accountID, note: note, in: tx
            )
        else { return nil }
        // The seller's share: what the ledger holds for this seller order, in proportion (rounded down; the last
        // refund takes the rest).
        let held = try await tx.query(
            """
            SELECT coalesce(sum(amount_minor) FILTER (WHERE bucket = 'pending'), 0)::bigint AS pending,
                   coalesce(sum(amount_minor) FILTER (WHERE bucket = 'available'), 0)::bigint AS available
            FROM seller_ledger WHERE seller_order_id = \(target.sellerOrder)
            """
        ).one()
        let pending = max(0, try held.decode("pending", as: Int64.self))
        let available = max(0, try held.decode("available", as: Int64.self))
        let share = Self.share(of: pending + available, refunding: amount, of: left)
        let fromPending = min(share, pending)
        for (bucket, part) in [("pending", fromPending), ("available", share - fromPending)] where part > 0 {
            try await tx.execute(
                """
                INSERT INTO seller_ledger (seller_id, currency, bucket, amount_minor, entry, seller_order_id, refund_id)
                VALUES (\(target.sellerID), \(target.order.currency), \(bucket), \(-part), 'refund', \(target.sellerOrder), \(refund.id))
                """
            )
        }
        try await tx.execute(
            """
            UPDATE seller_orders SET refunded_minor = refunded_minor + \(amount), refund_reference = \(refund.id.uuidString.lowercased()),
                   updated_at = now()
            WHERE id = \(target.sellerOrder)
            """
        )
        try await tx.execute("UPDATE orders SET refunded_minor = refunded_minor + \(amount), updated_at = now() WHERE id = \(target.order.id)")
        let display = OrderRecords.display(amount, target.order.currency)
        try await OrderRecords.recordHistory(
            order: target.order.id, sellerOrder: target.sellerOrder, from: target.status.rawValue, to: target.status.rawValue, actor: actor,
            note: note.map { "\(display) refunded: \($0)" } ?? "\(display) refunded", in: tx
        )
        try await events.record(
            OrderRecords.orderEvent(
                .orderRefunded, order: target.order.id, sellerOrder: target.sellerOrder, buyer: target.order.buyerID, seller: target.sellerID,
                status: target.status, total: target.total, currency: target.order.currency, actor: actor.accountID,
                extra: ["amount": .int(amount), "refunded": .int(target.refunded + amount), "reason": .string(reason)]
            ),
            in: tx
        )
        try await queueRefundMail(target, amount: amount, cancelled: false, note: note, in: tx)
        return refund
    }

    /// `held × amount / left`, rounded down, without overflow; all of `held` when the refund takes all that is left.
    static func share(of held: Int64, refunding amount: Int64, of left: Int64) -> Int64 {
        guard held > 0, amount > 0, left > 0 else { return 0 }
        guard amount < left else { return held }
        let product = held.multipliedFullWidth(by: amount)
        return left.dividingFullWidth((high: product.high, low: product.low)).quotient
    }

    /// What the buyer of a seller order keeps as delivered digital items, priced as a digital-only seller order would
    /// be (their VAT, no shipping); 0 when it holds none.
    func deliveredDigitalTotal(_ target: LockedRefundTarget, in tx: PGTransaction) async throws -> Int64 {
        let goods: Int64 = try await tx.query(
            """
            SELECT coalesce(sum(line_total_minor), 0)::bigint AS goods FROM order_lines
            WHERE seller_order_id = \(target.sellerOrder) AND product_type <> 'physical' AND reservation = 'sold'
            """
        ).one().decode("goods")
        guard goods > 0 else { return 0 }
        return target.hasPhysical ? target.pricing.totals(goods: goods, hasPhysical: false).total : target.total
    }

    /// Queues the buyer's mail about money given back (and a cancel, when it was one), in the transaction.
    func queueRefundMail(_ target: LockedRefundTarget, amount: Int64, cancelled: Bool, note: String?, in tx: PGTransaction) async throws {
        let order = target.order.id.uuidString.lowercased()
        let display = OrderRecords.display(amount, target.order.currency)
        var body = cancelled
            ? "Part of your order \(order) was cancelled by the marketplace or the seller."
            : "Part of what you paid for order \(order) is being refunded."
        if amount > 0 { body += "\n\nRefund: \(display), to the payment method you used." }
        if let note { body += "\n\nReason: \(note)" }
        body += "\n\nSee the order: \(settings.publicURL)/#/orders/\(order)\n"
        let mail = OrderMail(
            to: target.order.buyerID, subject: cancelled ? "Your order was cancelled" : "Refund of \(display)", body: body, muteKind: "order_status"
        )
        if let statement = try mailer.enqueueStatement([mail]) { try await tx.execute(statement) }
    }

    /// The admin's audit entry for a change of a locked seller order, with its state read after the change.
    func recordAudit(
        _ action: AuditAction, _ target: LockedRefundTarget, by admin: UUID, reason: String?, extra: AuditLog.State, in tx: PGTransaction
    ) async throws {
        let now = try await tx.query("SELECT status, refunded_minor FROM seller_orders WHERE id = \(target.sellerOrder)").one()
        let facts: AuditLog.State = [
            "orderId": .string(target.order.id.uuidString), "sellerId": .string(target.sellerID.uuidString),
            "currency": .string(target.order.currency), "totalMinor": .int(target.total),
        ]
        try await AuditLog.record(
            .init(
                actor: admin, action: action, targetType: "seller_order", targetID: target.sellerOrder.uuidString, reason: reason,
                before: facts.merging(["status": .string(target.status.rawValue), "refundedMinor": .int(target.refunded)]) { $1 },
                after: facts.merging(["status": .string(try now.decode("status")), "refundedMinor": .int(try now.decode("refunded_minor"))]) { $1 }
                    .merging(extra) { $1 }
            ),
            in: tx
        )
    }

    // MARK: Rules and helpers

    static func requirePaid(_ target: LockedRefundTarget) throws {
        guard [.paid, .shipped, .delivered].contains(target.status) else {
            throw AgoraError(
                .conflict, code: "invalid_transition",
                target.status == .cancelled ? "This order was cancelled and refunded already" : "Nothing of this order was paid yet"
            )
        }
    }

    /// Longest reason a refund or an override keeps.
    static let maxNoteLength = 500

    /// The reason of a refund, cancel or override: trimmed, at most 500 characters; required where the buyer or the
    /// audit must be told why.
    static func refundNote(_ raw: String?, required: Bool) throws -> String? {
        try TextPolicy.field(raw, "reason", max: maxNoteLength, required: required, missing: "Say why")
    }

    /// The refund's idempotency key: the client's `Idempotency-Key` scoped to the seller order (a retry of the same
    /// request refunds once), or a fresh one.
    static func refundKey(_ sellerOrder: UUID, _ header: String?) throws -> String {
        guard let header else { return "refund-\(UUID().uuidString.lowercased())" }
        guard (1...200).contains(header.utf8.count), header.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw AgoraError(.badRequest, code: "invalid_idempotency_key", "Idempotency-Key must be 1 to 200 visible ASCII characters")
        }
        return "refund-\(sellerOrder.uuidString.lowercased())-\(header)"
    }

    /// Asks the provider for a committed refund; a failure leaves it pending for the sweeper.
    func ask(_ refund: RefundService.PendingRefund?, logger: Logger) async {
        guard let refund else { return }
        do {
            try await refunds.attemptRefund(refund, logger: logger)
        } catch {
            logger.warning(
                "Could not record a refund's outcome; the sweeper retries it", metadata: ["agora.order_id": "\(refund.orderID)", "error": "\(String(reflecting: error))"]
            )
        }
    }
}
