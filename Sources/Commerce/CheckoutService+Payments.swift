import AgoraCore
import AgoraEvents
import AgoraPostgres
import Foundation
package import Logging

extension CheckoutService {
    /// What a webhook delivery did, answered to the provider with a 200.
    package enum WebhookOutcome: String, Sendable {
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
        /// A payment attempt was declined. The session stays open and the buyer may try again (a declined card
        /// is retryable in Stripe Checkout), so the order stays pending; only the session's expiry ends it.
        case declined
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
    /// transaction (the event id included) rolls back, the provider gets a 5xx and delivers again. A refund the
    /// event makes owed (a late payment whose stock is gone) is recorded in that transaction and asked for after
    /// its commit.
    /// - Throws: 400 `amount_mismatch` for a payment whose amount or currency is not its order's (nothing is
    ///   recorded; it is logged as an error and raised to the admins once per event).
    package func handleWebhook(provider providerName: String, payload: [UInt8], signature: String?, logger: Logger) async throws -> WebhookOutcome {
        try await applyWebhook(provider: providerName, payload: payload, signature: signature, logger: logger).outcome
    }

    /// What `applyWebhook` did, and the order's status after it when the outcome says it (nil for `duplicate`,
    /// `ignored`, `unknownOrder` and an external refund).
    struct WebhookResult {
        var outcome: WebhookOutcome
        var orderStatus: OrderStatus?
    }

    /// `handleWebhook`, also saying the order's status after it (the payment page answers with it, unread).
    ///
    /// The transaction: one statement records the event id and locks its order (`claimStatement`); a payment of a
    /// pending order is then one fulfilment statement, and its mails and the event's outcome one more, sent with
    /// the COMMIT.
    func applyWebhook(provider providerName: String, payload: [UInt8], signature: String?, logger: Logger) async throws -> WebhookResult {
        let provider = try provider(providerName)
        guard let event = try provider.parseWebhook(payload: payload, signature: signature, now: Date()) else {
            return WebhookResult(outcome: .ignored)
        }
        try event.validate()
        let result: WebhookResult
        let refund: RefundService.PendingRefund?
        do {
            (result, refund) = try await db.withTransaction(logger: logger) { tx in
                let claim = try await tx.query(Self.claimStatement(event, provider: providerName)).one()
                guard try claim.decode("claimed", as: Int64.self) == 1 else { return (WebhookResult(outcome: .duplicate), nil) }
                var result = WebhookResult(outcome: .unknownOrder)
                var refund: RefundService.PendingRefund?
                var last: [PGQuery] = []  // independent writes that go with the COMMIT
                let order = try Self.lockedOrder(claim)
                if let order {
                    switch event.kind {
                    case .paid:
                        (result.outcome, refund, last) = try await applyPayment(event, order: order, provider: providerName, in: tx)
                    case .failed:
                        result.outcome = try await recordDecline(event, order: order, in: tx)
                    case .expired:
                        result.outcome = try await releaseLocked(order, to: .cancelled, reason: "payment_expired", actor: .provider, in: tx) ? .cancelled : .noChange
                    case .refunded:
                        result.outcome = try await applyExternalRefund(event, order: order, in: tx)
                    }
                    switch result.outcome {
                    case .fulfilled, .fulfilledLate: result.orderStatus = .paid
                    case .refundedLate: result.orderStatus = .refunded
                    case .cancelled: result.orderStatus = .cancelled
                    case .declined: result.orderStatus = .pendingPayment
                    case .noChange: result.orderStatus = order.status
                    case .ignored, .duplicate, .refunded, .unknownOrder: result.orderStatus = nil
                    }
                }
                // The order found, not just the one the event named: a PaymentIntent's event may name none. One
                // statement with the last writes (the mails of a fulfilment), which it does not depend on.
                let recordOutcome: PGQuery =
                    """
                    UPDATE payment_events SET outcome = \(result.outcome.rawValue), order_id = coalesce(\(order?.id), order_id)
                    WHERE provider = \(providerName) AND event_id = \(event.id)
                    """
                try await tx.commit(after: [PGQuery.combining(last, into: recordOutcome)])
                return (result, refund)
            }
        } catch let mismatch as AmountMismatch {
            // Refused (400, nothing recorded, the provider delivers again) as before; but money arrived that does not
            // match its order, which a person has to look at.
            try await reportAmountMismatch(mismatch, event: event, provider: providerName, logger: logger)
            throw AgoraError(.badRequest, code: "amount_mismatch", "The paid amount does not match the order")
        }
        logger.info("Payment event", metadata: ["agora.provider": "\(providerName)", "agora.event": "\(event.kind.rawValue)", "agora.outcome": "\(result.outcome.rawValue)", "agora.order_id": "\(event.orderID?.uuidString ?? "-")"])
        if let refund {
            // After the commit, outside any transaction; a failed call stays pending for the sweeper.
            do {
                try await refunds.attemptRefund(refund, logger: logger)
            } catch {
                logger.warning("Could not record a refund's outcome; the sweeper retries it", metadata: ["agora.order_id": "\(refund.orderID)", "error": "\(String(reflecting: error))"])
            }
        }
        return result
    }

    /// Records a provider event's id once and, if this delivery recorded it, finds and locks the order it is about
    /// (by its id, else by the payment reference or session). One row: `claimed` (0 for an id recorded before:
    /// deliveries of one event queue on its primary key, and the later ones find it) and the order's columns
    /// (NULL when no order matches).
    static func claimStatement(_ event: PaymentEvent, provider: String) -> PGQuery {
        """
        WITH claimed AS (
            INSERT INTO payment_events (provider, event_id, kind, order_id, outcome)
            VALUES (\(provider), \(event.id), \(event.kind.rawValue), \(event.orderID), 'processing')
            ON CONFLICT DO NOTHING
            RETURNING event_id
        )
        SELECT (SELECT count(*) FROM claimed) AS claimed, o.* FROM (SELECT 1) AS one LEFT JOIN LATERAL (
            SELECT id, buyer_id, status, total_minor, refunded_minor, currency, payment_session, payment_reference FROM orders
            WHERE EXISTS (SELECT 1 FROM claimed) AND payment_provider = \(provider)
              AND (id = \(event.orderID)::uuid OR payment_reference = \(event.paymentReference)::text OR payment_session = \(event.sessionID)::text)
            ORDER BY (id = \(event.orderID)::uuid) DESC NULLS LAST
            LIMIT 1
            FOR UPDATE
        ) AS o ON true
        """
    }

    /// The order `claimStatement` locked, if any.
    static func lockedOrder(_ row: PGRow) throws -> LockedOrder? {
        guard let id: UUID = try row.decode("id") else { return nil }
        return LockedOrder(
            id: id, buyerID: try row.decode("buyer_id"), status: try OrderRecords.enumValue(row, "status"),
            total: try row.decode("total_minor"), refunded: try row.decode("refunded_minor"), currency: try row.decode("currency"),
            session: try row.decode("payment_session"), reference: try row.decode("payment_reference")
        )
    }

    /// A payment event whose amount or currency is not its order's: never fulfilled.
    struct AmountMismatch: Error {
        var orderID: UUID
        var expected: Int64
        var expectedCurrency: String
        var received: Int64
        var receivedCurrency: String?
    }

    /// Logs a mismatched payment as an error and raises an alert to every administrator (a domain event the
    /// notification relay turns into an `admin_alert` notification), once per provider event however often the
    /// provider delivers it again.
    func reportAmountMismatch(_ mismatch: AmountMismatch, event: PaymentEvent, provider: String, logger: Logger) async throws {
        var logger = logger
        logger[agora: .order] = "\(mismatch.orderID)"
        logger.error("Paid amount does not match the order; not fulfilled", metadata: [
            "agora.provider": "\(provider)", "agora.event_id": "\(event.id)",
            "agora.expected": "\(mismatch.expected) \(mismatch.expectedCurrency)",
            "agora.received": "\(mismatch.received) \(mismatch.receivedCurrency ?? "-")",
        ])
        try await db.withTransaction(logger: logger) { tx in
            // One alert per event: deliveries of it queue on this lock, and the later ones find the first alert.
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(\("agora.alert:" + provider + ":" + event.id), 0))")
            let earlier = try await events.events(kinds: [.adminAlert], subject: mismatch.orderID, limit: 1000, logger: logger)
            guard !earlier.contains(where: { $0.event.payload["alert"] == .string("amount_mismatch") && $0.event.payload["eventId"] == .string(event.id) })
            else { return }
            try await events.record(
                DomainEvent(.adminAlert, actor: nil, subject: mismatch.orderID, payload: [
                    "alert": .string("amount_mismatch"), "orderId": .string(mismatch.orderID.uuidString.lowercased()),
                    "provider": .string(provider), "eventId": .string(event.id),
                    "expected": .int(mismatch.expected), "expectedCurrency": .string(mismatch.expectedCurrency),
                    "received": .int(mismatch.received), "receivedCurrency": .string(mismatch.receivedCurrency ?? ""),
                    "message": .string("A payment does not match its order and was not fulfilled; check it at the provider"),
                ]),
                in: tx
            )
        }
    }

    /// A declined attempt: recorded in the order's history, and nothing else changes. The buyer may still pay
    /// in the same session; its expiry (or the reservation's) ends the order.
    func recordDecline(_ event: PaymentEvent, order: LockedOrder, in tx: PGTransaction) async throws -> WebhookOutcome {
        guard order.status == .pendingPayment else { return .noChange }
        try await OrderRecords.recordHistory(order: order.id, from: order.status.rawValue, to: order.status.rawValue, actor: .provider,
                                note: "payment declined; the buyer may try again", in: tx)
        return .declined
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

    /// A success event: fulfil a pending order; for one whose reservation already lapsed, take the stock again if
    /// it is still there, else refund.
    /// - Returns: the outcome, a refund to ask for after the commit, and statements to send with the COMMIT.
    func applyPayment(_ event: PaymentEvent, order: LockedOrder, provider: String, in tx: PGTransaction) async throws -> (WebhookOutcome, RefundService.PendingRefund?, [PGQuery]) {
        if let amount = event.amount, amount != order.total || (event.currency.map { $0 != order.currency } ?? false) {
            // Never fulfil on a payment that does not match the order; `handleWebhook` flags it for a person.
            throw AmountMismatch(orderID: order.id, expected: order.total, expectedCurrency: order.currency, received: amount, receivedCurrency: event.currency)
        }
        let storeReference: PGQuery =
            "UPDATE orders SET payment_reference = coalesce(\(event.paymentReference), payment_reference), updated_at = now() WHERE id = \(order.id)"
        switch order.status {
        case .pendingPayment:
            // The fulfilment statement stores the reference itself.
            return (.fulfilled, nil, try await fulfil(order, actor: .provider, paymentReference: event.paymentReference, in: tx))
        case .cancelled:
            try await tx.execute(storeReference)
            if try await reserveAgain(order.id, in: tx) {
                try await tx.execute("UPDATE orders SET status = 'pending_payment', cancelled_at = NULL, cancel_reason = NULL WHERE id = \(order.id)")
                try await tx.execute("UPDATE seller_orders SET status = 'pending_payment', cancelled_at = NULL WHERE order_id = \(order.id)")
                try await OrderRecords.recordHistory(order: order.id, from: "cancelled", to: "pending_payment", actor: .provider, note: "paid after the reservation lapsed; stock taken again", in: tx)
                var reopened = order
                reopened.status = .pendingPayment
                return (.fulfilledLate, nil, try await fulfil(reopened, actor: .provider, in: tx))
            }
            try await tx.execute(
                "UPDATE orders SET status = 'refunded', refunded_minor = total_minor, updated_at = now() WHERE id = \(order.id)"
            )
            try await OrderRecords.recordHistory(order: order.id, from: "cancelled", to: "refunded", actor: .provider, note: "paid after the stock was released; refunded", in: tx)
            // Recorded here, asked for after the commit (the payment reference it needs was stored above).
            let refund = try await refunds.recordRefund(
                order: order.id, sellerOrders: [], provider: provider, idempotencyKey: "late-\(order.id.uuidString.lowercased())", reason: "late_payment",
                amount: order.total, currency: order.currency, in: tx
            )
            return (.refundedLate, refund, [])
        case .paid, .refunded:
            return (.noChange, nil, [storeReference])
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
            try await OrderRecords.recordHistory(order: order.id, from: order.status.rawValue, to: order.status.rawValue, actor: .provider,
                                    note: "partial refund of \(OrderRecords.display(amount, order.currency)) made at the provider", in: tx)
            return .refunded
        }
        let open = try await tx.query(
            "SELECT id FROM seller_orders WHERE order_id = \(order.id) AND status IN ('paid', 'shipped', 'delivered') ORDER BY id FOR UPDATE"
        )
        for row in open {
            try await cancelPaidSellerOrder(try row.decode("id"), order: order.id, actor: .provider, refundReference: event.id, restock: false, in: tx)
        }
        try await tx.execute("UPDATE orders SET status = 'refunded', updated_at = now() WHERE id = \(order.id)")
        try await OrderRecords.recordHistory(order: order.id, from: "paid", to: "refunded", actor: .provider, note: "refunded at the provider", in: tx)
        return .refunded
    }
}
