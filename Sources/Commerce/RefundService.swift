import AgoraCore
package import AgoraEvents
package import AgoraPostgres
import Foundation
import Logging

/// Refunds: recorded in the transaction of the change that owes them, asked of the provider after its commit, and
/// retried with backoff by the sweeper until the provider answers.
package struct RefundService: Sendable {
    let db: PGPool
    let events: EventOutbox
    let providers: PaymentProviders

    package init(db: PGPool, events: EventOutbox, providers: PaymentProviders) {
        self.db = db
        self.events = events
        self.providers = providers
    }

    func provider(_ name: String) throws -> any PaymentProvider { try providers.provider(name) }
}

extension RefundService {
    /// A refund recorded as pending and committed: what the provider is asked for.
    struct PendingRefund: Sendable {
        var id: UUID
        var orderID: UUID
        var sellerOrderIDs: [UUID]
        var provider: String
        var idempotencyKey: String
        var amount: Int64
        var currency: String
        /// Calls made, this one included.
        var attempts: Int
    }

    /// How long (seconds) a call in flight keeps its refund from the sweeper: longer than any provider call may take
    /// (Stripe's client gives up after 30 s). Were both to call, the idempotency key makes it one refund.
    static let refundCallLease: Double = 300

    /// Seconds to wait after the n-th failed call (1-based). All eight calls fall within about eight hours, well
    /// inside the 24 hours Stripe keeps an idempotency key, so a retry can never become a second refund.
    static let refundBackoff: [Double] = [60, 300, 900, 1800, 3600, 7200, 14_400]
    static var maxRefundAttempts: Int { refundBackoff.count + 1 }

    /// Records the intent to refund in the transaction of the state change that owes the money. The caller commits,
    /// then calls `attemptRefund` outside any transaction.
    /// - Returns: nil for no money (a free line, nothing charged) or a key recorded before (a replay: the first
    ///   record, and the sweeper, own that refund).
    func recordRefund(
        order: UUID, sellerOrders: [UUID], provider: String, idempotencyKey: String, reason: String, amount: Int64, currency: String,
        requestedBy: UUID? = nil, note: String? = nil, in tx: PGTransaction
    ) async throws -> PendingRefund? {
        guard amount > 0 else { return nil }
        let rows = try await tx.query(
            """
            INSERT INTO refunds (order_id, seller_order_ids, provider, idempotency_key, reason, amount_minor, currency, requested_by, note,
                                 attempts, next_attempt_at)
            VALUES (\(order), \(sellerOrders), \(provider), \(idempotencyKey), \(reason), \(amount), \(currency), \(requestedBy), \(note), 1,
                    now() + make_interval(secs => \(Self.refundCallLease)))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
            """
        )
        guard let row = rows.first else { return nil }
        return PendingRefund(
            id: try row.decode("id"), orderID: order, sellerOrderIDs: sellerOrders, provider: provider, idempotencyKey: idempotencyKey,
            amount: amount, currency: currency, attempts: 1
        )
    }

    /// Whether a refund with this idempotency key exists (a retried request).
    func wasRecorded(key: String, in tx: PGTransaction) async throws -> Bool {
        try await !tx.query("SELECT 1 FROM refunds WHERE idempotency_key = \(key)").isEmpty
    }

    /// Asks the provider for a recorded refund, holding no transaction and no row lock while it waits, then records
    /// the outcome in a transaction of its own: `succeeded`, or still `pending` with the next attempt scheduled, or
    /// `failed` once the attempts ran out (logged as an error and raised to every administrator).
    /// - Returns: the refund's status after this call.
    /// - Throws: only a database error while recording the outcome (the refund stays pending; the sweeper retries).
    @discardableResult
    func attemptRefund(_ refund: PendingRefund, logger: Logger) async throws -> String {
        var logger = logger
        logger[agora: .order] = "\(refund.orderID)"
        let payment = try await db.query(
            "SELECT payment_session, payment_reference FROM orders WHERE id = \(refund.orderID)", logger: logger
        ).one()
        let request = RefundRequest(
            orderID: refund.orderID, idempotencyKey: refund.idempotencyKey, sessionID: try payment.decode("payment_session"),
            paymentReference: try payment.decode("payment_reference"), amount: refund.amount, currency: refund.currency
        )
        let result: RefundResult
        do {
            result = try await provider(refund.provider).refund(request, logger: logger)
        } catch {
            return try await recordRefundFailure(refund, error: error, logger: logger)
        }
        try await db.withTransaction(logger: logger) { tx in
            try await tx.execute(
                """
                UPDATE refunds SET status = 'succeeded', provider_refund_id = \(result.id), provider_status = \(result.status), last_error = NULL,
                       completed_at = now(), updated_at = now()
                WHERE id = \(refund.id) AND status = 'pending'
                """
            )
            try await tx.execute(
                "UPDATE seller_orders SET refund_reference = \(result.id), updated_at = now() WHERE id = ANY(\(refund.sellerOrderIDs))"
            )
        }
        logger.info("Refund made", metadata: ["agora.refund_id": "\(refund.id)", "agora.amount": "\(refund.amount)", "agora.attempt": "\(refund.attempts)"])
        return "succeeded"
    }

    /// A call that failed: the next attempt is scheduled, or after the last one the refund is marked failed and an
    /// administrator alerted, in one transaction.
    func recordRefundFailure(_ refund: PendingRefund, error: any Error, logger: Logger) async throws -> String {
        // The code of our own errors, the type of any other: never a provider's message, which may echo request data.
        let summary = (error as? AgoraError)?.code ?? String(describing: type(of: error))
        // A refund no provider can make (Solana Pay: the money is in the seller's wallet) is for a person at once.
        let byHand = (error as? AgoraError)?.code == SolanaPayProvider.refundByHand
        let isFinal = refund.attempts >= Self.maxRefundAttempts || byHand
        let delay = Self.refundBackoff[min(max(refund.attempts, 1), Self.refundBackoff.count) - 1]
        try await db.withTransaction(logger: logger) { tx in
            try await tx.execute(
                """
                UPDATE refunds SET status = CASE WHEN \(isFinal) THEN 'failed' ELSE 'pending' END, last_error = \(summary),
                       next_attempt_at = now() + make_interval(secs => \(delay)),
                       completed_at = CASE WHEN \(isFinal) THEN now() END, updated_at = now()
                WHERE id = \(refund.id) AND status = 'pending'
                """
            )
            if isFinal {
                try await events.record(
                    DomainEvent(.adminAlert, actor: nil, subject: refund.orderID, payload: [
                        "alert": .string("refund_failed"), "orderId": .string(refund.orderID.uuidString.lowercased()),
                        "refundId": .string(refund.id.uuidString.lowercased()), "amount": .int(refund.amount), "currency": .string(refund.currency),
                        "message": .string(
                            byHand ? "This payment went to the seller's wallet; the seller must send the refund back by hand"
                                : "The provider refused a refund \(Self.maxRefundAttempts) times; refund it by hand"),
                    ]),
                    in: tx
                )
            }
        }
        let metadata: Logger.Metadata = [
            "agora.refund_id": "\(refund.id)", "agora.amount": "\(refund.amount)", "agora.currency": "\(refund.currency)",
            "agora.attempt": "\(refund.attempts)", "error": "\(summary)",
        ]
        if isFinal {
            logger.error("Refund failed for good; an administrator must refund it by hand", metadata: metadata)
            return "failed"
        }
        logger.warning("Refund call failed; retrying later", metadata: metadata)
        return "pending"
    }

    /// One sweeper pass over refunds whose next attempt is due: pending ones whose call failed, and ones a crash
    /// left between their record and their call. Each is claimed (attempt counted, lease taken) in a short
    /// transaction that commits before any provider is called; `SKIP LOCKED` keeps instances apart.
    /// - Returns: how many were attempted.
    func retryDueRefunds(batch: Int, logger: Logger) async throws -> Int {
        let due: [PendingRefund] = try await db.withTransaction(logger: logger) { tx in
            try await tx.query(
                """
                UPDATE refunds r SET attempts = r.attempts + 1, next_attempt_at = now() + make_interval(secs => \(Self.refundCallLease)),
                       updated_at = now()
                WHERE r.id IN (
                    SELECT id FROM refunds WHERE status = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT \(batch) FOR UPDATE SKIP LOCKED
                )
                RETURNING r.id, r.order_id, r.seller_order_ids, r.provider, r.idempotency_key, r.amount_minor, r.currency, r.attempts
                """
            ).map { row in
                PendingRefund(
                    id: try row.decode("id"), orderID: try row.decode("order_id"), sellerOrderIDs: try row.decode("seller_order_ids"),
                    provider: try row.decode("provider"), idempotencyKey: try row.decode("idempotency_key"), amount: try row.decode("amount_minor"),
                    currency: try row.decode("currency"), attempts: try row.decode("attempts")
                )
            }
        }
        for refund in due {
            do {
                try await attemptRefund(refund, logger: logger)
            } catch {
                logger.warning("Could not record a refund's outcome; it is retried", metadata: ["agora.refund_id": "\(refund.id)", "error": "\(String(reflecting: error))"])
            }
        }
        return due.count
    }
}
