package import AgoraCore
import AgoraEvents
import AgoraPostgres
import Foundation
package import Logging
import ServiceLifecycle

/// The background job that confirms Solana Pay transfers without trusting any client: for each open payment it asks
/// the RPC node which transactions mention the payment's reference, reads each at `confirmed` commitment and checks
/// it against what was asked (`TransferCheck`), and fulfils the seller order once the paying transaction is read
/// again at `finalized` and still pays.
///
/// Any number of instances may run it: a round claims its payments for one poll interval (`next_check_at`), and
/// every write re-checks the state under the order's row lock, so a transfer is judged once (`solana_transfers`
/// primary key) and a seller order fulfilled once. No transaction is open while the node is asked.
package struct SolanaPayWatcher: Service {
    let checkout: CheckoutService
    let rpc: SolanaRPC
    let logger: Logger
    let isReady: @Sendable () -> Bool
    let duties: DutyMonitor

    package init(commerce: CommerceServices, rpc: SolanaRPC, logger: Logger, isReady: @escaping @Sendable () -> Bool = { true }, duties: DutyMonitor = DutyMonitor()) {
        self.checkout = commerce.checkout
        self.rpc = rpc
        self.logger = logger
        self.isReady = isReady
        self.duties = duties
    }

    var settings: SolanaPaySettings { checkout.settings.solana }

    package func run() async throws {
        duties.started("solana_pay")
        while !Task.isCancelledOrShuttingDown {
            if isReady() {
                do {
                    let round = try await check(logger: logger)
                    duties.ran("solana_pay", items: round.paid + round.refused)
                    if round.unreachable > 0 { duties.failed("solana_pay") }
                } catch {
                    duties.failed("solana_pay")
                    logger.warning("Solana Pay round failed; trying again next round", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.pollInterval) }
        }
    }

    /// What one round did.
    package struct Round: Sendable, Equatable {
        package var checked = 0
        package var paid = 0
        package var confirming = 0
        package var dropped = 0
        package var refused = 0
        package var late = 0
        /// Payments whose node calls failed this round (they are asked again next round).
        package var unreachable = 0
    }

    /// An open (or recently expired) payment the round claimed.
    struct Due {
        var sellerOrder: UUID
        var order: UUID
        var recipient: SolanaPublicKey
        var token: SolanaToken
        var amount: Int64
        var reference: SolanaPublicKey
        var status: String
        var signature: String?
        /// Signatures already judged (paid, refused or late): not read again.
        var judged: Set<String>
    }

    /// One round: claims up to `batch` due payments and checks each.
    package func check(logger: Logger) async throws -> Round {
        let interval = Double(settings.pollInterval.components.seconds) + Double(settings.pollInterval.components.attoseconds) / 1e18
        let rows = try await checkout.db.query(
            """
            WITH retired AS (
                -- Expired payments past their watch leave the queue for good.
                UPDATE solana_payments SET next_check_at = 'infinity'
                WHERE next_check_at <= now() AND status = 'expired' AND watch_until <= now()
            ), due AS (
                SELECT seller_order_id FROM solana_payments
                WHERE next_check_at <= now() AND (status IN ('pending', 'confirming') OR (status = 'expired' AND watch_until > now()))
                ORDER BY next_check_at LIMIT \(settings.batch)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE solana_payments sp SET next_check_at = now() + make_interval(secs => \(interval))
            FROM due WHERE sp.seller_order_id = due.seller_order_id
            RETURNING sp.seller_order_id, sp.order_id, sp.recipient, sp.token, sp.decimals, sp.amount_atomic, sp.reference, sp.status, sp.signature,
                      ARRAY(SELECT signature FROM solana_transfers t WHERE t.seller_order_id = sp.seller_order_id) AS judged
            """,
            logger: logger
        )
        var round = Round()
        for row in rows {
            let key: String = try row.decode("token")
            guard let recipient = SolanaPublicKey(base58: try row.decode("recipient")), let reference = SolanaPublicKey(base58: try row.decode("reference"))
            else { continue }
            // A token no longer configured is still checked with what the payment recorded.
            let decimals: Int = try row.decode("decimals")
            let token = settings.token(key: key) ?? SolanaToken(symbol: key, mint: key == "SOL" ? nil : SolanaPublicKey(base58: key), decimals: decimals)
            let due = Due(
                sellerOrder: try row.decode("seller_order_id"), order: try row.decode("order_id"), recipient: recipient, token: token,
                amount: try row.decode("amount_atomic"), reference: reference, status: try row.decode("status"), signature: try row.decode("signature"),
                judged: Set(try row.decode("judged", as: [String].self))
            )
            round.checked += 1
            do {
                try await inspect(due, round: &round, logger: logger)
            } catch let failure as SolanaRPC.Failure {
                // A node that fails one call most likely fails the next: the round ends here rather than wait out a
                // timeout per payment, and the payments it claimed are asked again next round.
                round.unreachable += 1
                logger.warning("Solana RPC call failed; the round ends and its payments are checked again next round", metadata: [
                    "agora.seller_order_id": "\(due.sellerOrder)", "agora.claimed": "\(rows.count)", "error": "\(failure)",
                ])
                break
            }
        }
        if round.paid + round.refused + round.late + round.dropped + round.confirming > 0 {
            logger.info("Solana Pay round", metadata: [
                "agora.checked": "\(round.checked)", "agora.paid": "\(round.paid)", "agora.confirming": "\(round.confirming)",
                "agora.refused": "\(round.refused)", "agora.late": "\(round.late)", "agora.dropped": "\(round.dropped)",
            ])
        }
        return round
    }

    /// Checks one payment: every new transaction that mentions its reference, oldest first.
    func inspect(_ due: Due, round: inout Round, logger: Logger) async throws {
        let listed = try await rpc.signatures(for: due.reference, limit: settings.signaturesPerReference, commitment: .confirmed)
        var paying: String?
        var alsoPaying: [(signature: String, slot: UInt64)] = []
        for info in listed.reversed() where !due.judged.contains(info.signature) {
            // Signatures come from the node: bounded before they reach a row or a log.
            guard (1...100).contains(info.signature.utf8.count), info.signature.utf8.allSatisfy({ Base58.digits[Int($0)] != 0xFF }) else { continue }
            if info.failed {
                try await record(due, signature: info.signature, outcome: "refused", reason: .failed, received: nil, token: nil, slot: info.slot, alert: false,
                                 logger: logger)
                continue
            }
            guard let transaction = try await rpc.transaction(info.signature, commitment: .confirmed) else { continue }
            switch TransferCheck.check(transaction, recipient: due.recipient, token: due.token, amount: due.amount, reference: due.reference) {
            case .pays:
                if due.status == "expired" {
                    round.late += 1
                    try await record(due, signature: info.signature, outcome: "late", reason: nil, received: due.amount, token: due.token.key,
                                     slot: transaction.slot, alert: true, logger: logger)
                } else if paying == nil {
                    paying = info.signature
                } else {
                    alsoPaying.append((info.signature, transaction.slot))
                }
            case .refused(let reason, let received, let token):
                if reason != .failed { round.refused += 1 }
                try await record(due, signature: info.signature, outcome: "refused", reason: reason, received: received, token: token,
                                 slot: transaction.slot, alert: reason != .failed, logger: logger)
            }
        }
        guard due.status != "expired" else { return }
        if let signature = paying ?? due.signature {
            // Fulfilled only on the transaction as the node has it finalized, checked again.
            if let final = try await rpc.transaction(signature, commitment: .finalized),
                TransferCheck.check(final, recipient: due.recipient, token: due.token, amount: due.amount, reference: due.reference) == .pays
            {
                if try await fulfil(due, signature: signature, slot: final.slot, logger: logger) { round.paid += 1 } else { round.late += 1 }
                // Any other transaction that pays the same request paid it twice: the seller holds the buyer's money.
                for other in alsoPaying where other.signature != signature {
                    round.refused += 1
                    try await record(due, signature: other.signature, outcome: "refused", reason: .duplicate, received: due.amount, token: due.token.key,
                                     slot: other.slot, alert: true, logger: logger)
                }
                return
            }
            if paying != nil {
                if due.signature != paying, try await markConfirming(due, signature: signature, logger: logger) { round.confirming += 1 }
                return
            }
            // The confirmed transaction is no longer listed: gone unless the node still has it at `confirmed`.
            if try await rpc.transaction(signature, commitment: .confirmed) == nil {
                try await markDropped(due, signature: signature, logger: logger)
                round.dropped += 1
            }
        }
    }

    /// A paying transaction seen `confirmed`: shown to the buyer, and the order's reservation waits for it a
    /// little (`confirmGrace`).
    func markConfirming(_ due: Due, signature: String, logger: Logger) async throws -> Bool {
        try await checkout.db.withTransaction(logger: logger) { tx in
            let updated = try await tx.execute(
                """
                UPDATE solana_payments SET status = 'confirming', signature = \(signature), confirmed_at = now()
                WHERE seller_order_id = \(due.sellerOrder) AND status = 'pending'
                """
            )
            guard updated.affectedRows == 1 else { return false }
            try await OrderRecords.recordHistory(order: due.order, sellerOrder: due.sellerOrder, from: "pending_payment", to: "pending_payment", actor: .provider,
                                                 note: "Solana Pay transfer confirmed; waiting for it to be finalized", in: tx)
            return true
        }
    }

    /// The cluster dropped a transaction seen `confirmed` (its fork lost): the payment waits again.
    func markDropped(_ due: Due, signature: String, logger: Logger) async throws {
        try await checkout.db.withTransaction(logger: logger) { tx in
            let updated = try await tx.execute(
                """
                UPDATE solana_payments SET status = 'pending', signature = NULL, confirmed_at = NULL
                WHERE seller_order_id = \(due.sellerOrder) AND status = 'confirming' AND signature = \(signature)
                """
            )
            guard updated.affectedRows == 1 else { return }
            try await OrderRecords.recordHistory(order: due.order, sellerOrder: due.sellerOrder, from: "pending_payment", to: "pending_payment", actor: .provider,
                                                 note: "Solana Pay transfer dropped before it was finalized; waiting for payment", in: tx)
        }
        logger.warning("A confirmed Solana Pay transfer was dropped", metadata: ["agora.seller_order_id": "\(due.sellerOrder)", "agora.signature": "\(signature)"])
    }

    /// Fulfils the seller order paid by `signature`, once: the order's row is locked first (as every payment does),
    /// the signature recorded, and the seller order fulfilled if it still waits for payment. The money went to the
    /// seller's wallet directly, so the seller's earnings are recorded as paid out at once (a `payouts` row and its
    /// ledger entry): a payout never pays them again.
    /// - Returns: false when the seller order no longer waited (ended meanwhile): the transfer is recorded `late`.
    func fulfil(_ due: Due, signature: String, slot: UInt64, logger: Logger) async throws -> Bool {
        let late: Bool = try await checkout.db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query(
                """
                SELECT o.id, o.buyer_id, o.status, o.total_minor, o.currency, so.status AS seller_status
                FROM orders o JOIN seller_orders so ON so.order_id = o.id
                WHERE o.id = \(due.order) AND so.id = \(due.sellerOrder)
                FOR UPDATE OF o
                """
            )
            guard let row = rows.first else { return false }
            let order = CheckoutService.LockedOrder(
                id: due.order, buyerID: try row.decode("buyer_id"), status: try OrderRecords.enumValue(row, "status"), total: try row.decode("total_minor"),
                refunded: 0, currency: try row.decode("currency"), session: nil, reference: nil
            )
            let sellerStatus: String = try row.decode("seller_status")
            let waiting = order.status == .pendingPayment && sellerStatus == SellerOrderStatus.pendingPayment.rawValue
            let claimed = try await tx.execute(
                """
                INSERT INTO solana_transfers (signature, seller_order_id, outcome, received_amount, received_token, slot)
                VALUES (\(signature), \(due.sellerOrder), \(waiting ? "paid" : "late"), \(due.amount), \(due.token.key), \(Int64(clamping: slot)))
                ON CONFLICT DO NOTHING
                """
            )
            guard claimed.affectedRows == 1 else { return false }  // judged by another instance: nothing to do
            guard waiting else {
                try await raiseAlert(due, signature: signature, reason: "late", received: due.amount, token: due.token.key, in: tx)
                return true
            }
            let mails = try await checkout.fulfil(order, actor: .provider, sellerOrder: due.sellerOrder, in: tx)
            let paidOut: PGQuery =
                """
                WITH paid AS (
                    UPDATE solana_payments SET status = 'paid', signature = \(signature), paid_at = now()
                    WHERE seller_order_id = \(due.sellerOrder)
                ), so AS (
                    SELECT id, seller_id, currency, seller_earnings_minor + shipping_minor AS credit FROM seller_orders WHERE id = \(due.sellerOrder)
                ), payout AS (
                    INSERT INTO payouts (seller_id, currency, amount_minor, status, note, processed_at)
                    SELECT seller_id, currency, credit, 'paid', \("Paid by the buyer to the shop's Solana wallet: \(signature)"), now() FROM so WHERE credit > 0
                    RETURNING id, seller_id, currency, amount_minor
                )
                INSERT INTO seller_ledger (seller_id, currency, bucket, amount_minor, entry, payout_id)
                SELECT seller_id, currency, 'available', -amount_minor, 'payout', id FROM payout
                """
            try await tx.commit(after: [paidOut] + mails)
            return false
        }
        if late {
            logger.error("A Solana Pay transfer arrived after its order ended; not fulfilled", metadata: [
                "agora.seller_order_id": "\(due.sellerOrder)", "agora.signature": "\(signature)",
            ])
            return false
        }
        logger.info("Solana Pay transfer finalized; seller order paid", metadata: [
            "agora.order_id": "\(due.order)", "agora.seller_order_id": "\(due.sellerOrder)", "agora.signature": "\(signature)",
        ])
        return true
    }

    /// Records a transaction that does not pay (or pays too late), once; money that did move is raised to the
    /// administrators and noted in the order's history.
    func record(_ due: Due, signature: String, outcome: String, reason: TransferCheck.Reason?, received: Int64?, token: String?, slot: UInt64, alert: Bool,
                logger: Logger) async throws
    {
        let recorded: Bool = try await checkout.db.withTransaction(logger: logger) { tx in
            let inserted = try await tx.execute(
                """
                INSERT INTO solana_transfers (signature, seller_order_id, outcome, reason, received_amount, received_token, slot)
                VALUES (\(signature), \(due.sellerOrder), \(outcome), \(reason?.rawValue), \(received), \(token), \(Int64(clamping: slot)))
                ON CONFLICT DO NOTHING
                """
            )
            guard inserted.affectedRows == 1, alert else { return inserted.affectedRows == 1 }
            try await raiseAlert(due, signature: signature, reason: reason?.rawValue ?? outcome, received: received, token: token, in: tx)
            return true
        }
        if recorded, alert {
            logger.error("A Solana Pay transfer does not pay its seller order; refused", metadata: [
                "agora.seller_order_id": "\(due.sellerOrder)", "agora.signature": "\(signature)", "agora.reason": "\(reason?.rawValue ?? outcome)",
                "agora.expected": "\(due.amount) \(due.token.key)", "agora.received": "\(received.map(String.init) ?? "-") \(token ?? "-")",
            ])
        }
    }

    /// An `admin_alert` (the notification relay tells every administrator) and a history note on the order.
    func raiseAlert(_ due: Due, signature: String, reason: String, received: Int64?, token: String?, in tx: PGTransaction) async throws {
        let message =
            reason == "late"
            ? "A Solana Pay transfer reached the seller's wallet after the order ended; the seller should send it back"
            : "A Solana Pay transfer does not pay its order (\(reason)) and was refused; the seller should send it back"
        try await OrderRecords.recordHistory(order: due.order, sellerOrder: due.sellerOrder, from: nil, to: "pending_payment", actor: .provider,
                                             note: "Solana Pay transfer refused (\(reason)): \(signature)", in: tx)
        var payload: [String: DomainEvent.Value] = [:]
        payload["alert"] = .string("solana_transfer_refused")
        payload["orderId"] = .string(due.order.uuidString.lowercased())
        payload["sellerOrderId"] = .string(due.sellerOrder.uuidString.lowercased())
        payload["provider"] = .string(SolanaPayProvider.providerName)
        payload["signature"] = .string(signature)
        payload["reason"] = .string(reason)
        payload["expected"] = .int(due.amount)
        payload["expectedToken"] = .string(due.token.key)
        payload["received"] = .int(received ?? 0)
        payload["receivedToken"] = .string(token ?? "")
        payload["message"] = .string(message)
        try await checkout.events.record(DomainEvent(.adminAlert, actor: nil, subject: due.order, payload: payload), in: tx)
    }
}
