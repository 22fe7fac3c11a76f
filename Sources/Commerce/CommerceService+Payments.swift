public import AgoraCore
import AgoraPostgres
public import Foundation
public import Logging

extension CommerceService {
    /// What a webhook delivery did, answered to the provider with a 200.
    public enum WebhookOutcome: String, Sendable {
        /// Authentic, but a type Agora does not act on.
        case ignored
        /// This event id was handled before: nothing changed.
        case duplicate
        case fulfilled
        /// Paid after the reservation had lapsed, with the stock still there: fulfilled all the same.
        case fulfilledLate = "fulfilled_late"
        /// Paid after the reservation had lapsed and the stock was gone: the payment is refunded.
        case refundedLate = "refunded_late"
        case cancelled
        case refunded
        /// The order was already past the state this event would move it from (e.g. a second success event).
        case noChange = "no_change"
        /// The event names no order Agora knows.
        case unknownOrder = "unknown_order"
    }

    /// Verifies a webhook delivery of `providerName`, records its event id once and applies it.
    ///
    /// Five concurrent deliveries of one event serialise on the `payment_events` primary key: the first applies
    /// it, the others wait for its commit, find the id and answer `duplicate`. If applying fails the whole
    /// transaction (the event id included) rolls back, the provider gets a 5xx and delivers again.
    public func handleWebhook(provider providerName: String, payload: [UInt8], signature: String?, logger: Logger) async throws -> WebhookOutcome {
        let provider = try provider(providerName)
        guard let event = try provider.parseWebhook(payload: payload, signature: signature, now: Date()) else { return .ignored }
        try event.validate()
        var refundAfterCommit: RefundRequest?
        let outcome: WebhookOutcome = try await db.withTransaction(logger: logger) { tx in
            let inserted = try await tx.execute(
                """
                INSERT INTO payment_events (provider, event_id, kind, order_id, outcome)
                VALUES (\(providerName), \(event.id), \(event.kind.rawValue), \(event.orderID), 'processing')
                ON CONFLICT DO NOTHING
                """
            )
            guard inserted.affectedRows == 1 else { return .duplicate }
            let outcome: WebhookOutcome
            if let order = try await lockOrder(for: event, provider: providerName, in: tx) {
                switch event.kind {
                case .paid:
                    (outcome, refundAfterCommit) = try await applyPayment(event, order: order, provider: providerName, in: tx)
                case .failed, .expired:
                    outcome = try await releaseLocked(
                        order, to: .cancelled, reason: event.kind == .failed ? "payment_failed" : "payment_expired", actor: .provider, in: tx
                    ) ? .cancelled : .noChange
                case .refunded:
                    outcome = try await applyExternalRefund(event, order: order, in: tx)
                }
            } else {
                outcome = .unknownOrder
            }
            try await tx.execute(
                "UPDATE payment_events SET outcome = \(outcome.rawValue), order_id = coalesce(order_id, \(event.orderID)) WHERE provider = \(providerName) AND event_id = \(event.id)"
            )
            return outcome
        }
        logger.info("Payment event", metadata: ["agora.provider": "\(providerName)", "agora.event": "\(event.kind.rawValue)", "agora.outcome": "\(outcome.rawValue)", "agora.order_id": "\(event.orderID?.uuidString ?? "-")"])
        if let refund = refundAfterCommit {
            do {
                _ = try await provider.refund(refund, logger: logger)
            } catch {
                // The order is marked refunded; the money still has to go back. Logged loudly for an operator.
                logger.error("Refund of a late payment failed; refund it by hand", metadata: ["agora.order_id": "\(refund.orderID)", "error": "\(error)"])
            }
        }
        return outcome
    }

    /// A locked order row: what the payment steps need.
    struct LockedOrder {
        var id: UUID
        var buyerID: UUID
        var status: OrderStatus
        var total: Int64
        var refunded: Int64
        var currency: String
        var session: String?
        var reference: String?
    }

    /// Finds and locks the order an event is about: by its id, else by the payment reference or session.
    func lockOrder(for event: PaymentEvent, provider: String, in tx: PGTransaction) async throws -> LockedOrder? {
        let rows = try await tx.query(
            """
            SELECT id, buyer_id, status, total_minor, refunded_minor, currency, payment_session, payment_reference FROM orders
            WHERE payment_provider = \(provider)
              AND (id = \(event.orderID) OR payment_reference = \(event.paymentReference) OR payment_session = \(event.sessionID))
            ORDER BY (id = \(event.orderID)) DESC NULLS LAST
            LIMIT 1
            FOR UPDATE
            """
        )
        guard let row = rows.first else { return nil }
        return LockedOrder(
            id: try row.decode("id"), buyerID: try row.decode("buyer_id"), status: try Self.enumValue(row, "status"),
            total: try row.decode("total_minor"), refunded: try row.decode("refunded_minor"), currency: try row.decode("currency"),
            session: try row.decode("payment_session"), reference: try row.decode("payment_reference")
        )
    }

    /// A success event: fulfil a pending order; for one whose reservation already lapsed, take the stock again if
    /// it is still there, else refund.
    func applyPayment(_ event: PaymentEvent, order: LockedOrder, provider: String, in tx: PGTransaction) async throws -> (WebhookOutcome, RefundRequest?) {
        if let amount = event.amount, amount != order.total || (event.currency.map { $0 != order.currency } ?? false) {
            // Never fulfil on a payment that does not match the order; flag it for a person.
            throw AgoraError(.badRequest, code: "amount_mismatch", "The paid amount does not match the order")
        }
        try await tx.execute(
            "UPDATE orders SET payment_reference = coalesce(\(event.paymentReference), payment_reference), updated_at = now() WHERE id = \(order.id)"
        )
        switch order.status {
        case .pendingPayment:
            try await fulfil(order, actor: .provider, in: tx)
            return (.fulfilled, nil)
        case .cancelled:
            if try await reserveAgain(order.id, in: tx) {
                try await tx.execute("UPDATE orders SET status = 'pending_payment', cancelled_at = NULL, cancel_reason = NULL WHERE id = \(order.id)")
                try await tx.execute("UPDATE seller_orders SET status = 'pending_payment', cancelled_at = NULL WHERE order_id = \(order.id)")
                try await recordHistory(order: order.id, from: "cancelled", to: "pending_payment", actor: .provider, note: "paid after the reservation lapsed; stock taken again", in: tx)
                var reopened = order
                reopened.status = .pendingPayment
                try await fulfil(reopened, actor: .provider, in: tx)
                return (.fulfilledLate, nil)
            }
            try await tx.execute(
                "UPDATE orders SET status = 'refunded', refunded_minor = total_minor, updated_at = now() WHERE id = \(order.id)"
            )
            try await recordHistory(order: order.id, from: "cancelled", to: "refunded", actor: .provider, note: "paid after the stock was released; refunded", in: tx)
            let refund = RefundRequest(
                orderID: order.id, idempotencyKey: "late-\(order.id.uuidString.lowercased())", sessionID: event.sessionID ?? order.session,
                paymentReference: event.paymentReference ?? order.reference, amount: order.total, currency: order.currency
            )
            return (.refundedLate, refund)
        case .paid, .refunded:
            return (.noChange, nil)
        }
    }

    /// Re-reserves every released line of a lapsed order, all or nothing.
    func reserveAgain(_ order: UUID, in tx: PGTransaction) async throws -> Bool {
        let lines = try await tx.query(
            "SELECT product_id, quantity FROM order_lines WHERE order_id = \(order) AND reservation = 'released' ORDER BY product_id"
        )
        let ids: [UUID] = try lines.map { try $0.decode("product_id") }
        let quantities: [Int] = try lines.map { try $0.decode("quantity") }
        try await tx.execute("SAVEPOINT reserve_again")
        let updated = try await tx.execute(
            """
            UPDATE products p SET reserved = p.reserved + l.q
            FROM unnest(\(ids), \(quantities)) AS l(id, q)
            WHERE p.id = l.id AND p.stock - p.reserved >= l.q
            """
        )
        guard updated.affectedRows == ids.count else {
            try await tx.execute("ROLLBACK TO SAVEPOINT reserve_again")  // some were gone: undo the ones that were taken
            return false
        }
        try await tx.execute("RELEASE SAVEPOINT reserve_again")
        try await tx.execute("UPDATE order_lines SET reservation = 'held' WHERE order_id = \(order) AND reservation = 'released'")
        return true
    }

    /// A refund made outside Agora (the provider's dashboard). A full refund cancels what is not yet delivered;
    /// a partial one is recorded for a person to settle. Refunds Agora made itself were recorded when it made them.
    func applyExternalRefund(_ event: PaymentEvent, order: LockedOrder, in tx: PGTransaction) async throws -> WebhookOutcome {
        guard let amount = event.amount, amount > order.refunded else { return .noChange }
        try await tx.execute("UPDATE orders SET refunded_minor = least(\(amount), total_minor), updated_at = now() WHERE id = \(order.id)")
        guard amount >= order.total, order.status == .paid else {
            try await recordHistory(order: order.id, from: order.status.rawValue, to: order.status.rawValue, actor: .provider,
                                    note: "partial refund of \(Self.display(amount, order.currency)) made at the provider", in: tx)
            return .refunded
        }
        let open = try await tx.query(
            "SELECT id FROM seller_orders WHERE order_id = \(order.id) AND status IN ('paid', 'shipped', 'delivered') ORDER BY id FOR UPDATE"
        )
        for row in open {
            try await cancelPaidSellerOrder(try row.decode("id"), order: order.id, actor: .provider, refundReference: event.id, restock: false, in: tx)
        }
        try await tx.execute("UPDATE orders SET status = 'refunded', updated_at = now() WHERE id = \(order.id)")
        try await recordHistory(order: order.id, from: "paid", to: "refunded", actor: .provider, note: "refunded at the provider", in: tx)
        return .refunded
    }
}
