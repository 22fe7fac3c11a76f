package import AgoraCore
import AgoraPostgres
import Foundation
package import Logging
import ServiceLifecycle

/// The background job of commerce: releases reservations whose time ran out, completes deliveries nobody
/// confirmed, and retries refunds still pending at the provider. Safe with any number of instances running it: each batch claims its rows with
/// `FOR UPDATE SKIP LOCKED`, and every step re-checks the state it moves from under the row lock.
package struct CommerceSweeper: Service {
    let checkout: CheckoutService
    let orders: OrderService
    let refunds: RefundService
    let settings: CommerceSettings
    let logger: Logger
    let isReady: @Sendable () -> Bool
    let duties: DutyMonitor

    package init(commerce: CommerceServices, logger: Logger, isReady: @escaping @Sendable () -> Bool = { true }, duties: DutyMonitor = DutyMonitor()) {
        self.checkout = commerce.checkout
        self.orders = commerce.orders
        self.refunds = commerce.refunds
        self.settings = commerce.settings
        self.logger = logger
        self.isReady = isReady
        self.duties = duties
    }

    package func run() async throws {
        duties.started("commerce_sweeper")
        while !Task.isCancelledOrShuttingDown {
            if isReady() {
                do {
                    let done = try await sweep(logger: logger)
                    duties.ran("commerce_sweeper", items: done.expired + done.autoCompleted + done.refundsAttempted)
                } catch {
                    duties.failed("commerce_sweeper")
                    logger.warning("Commerce sweep failed; trying again next round", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.sweepInterval) }
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { isCancelled || isShuttingDownGracefully }
}

extension CommerceSweeper {
    /// What one sweep did.
    package struct Sweep: Sendable, Equatable {
        package var expired: Int
        package var autoCompleted: Int
        /// Pending refunds whose provider call was made (again) this round.
        package var refundsAttempted: Int
    }

    /// One round of the sweeper: up to `batch` expired reservations, `batch` overdue deliveries and `batch` refunds
    /// due for a (new) provider call.
    package func sweep(batch: Int = 100, logger: Logger) async throws -> Sweep {
        var closing: [(provider: String, session: String)] = []
        let expired: Int = try await checkout.db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query(
                """
                SELECT id, buyer_id, status, total_minor, currency, payment_provider, payment_session FROM orders
                WHERE status = 'pending_payment' AND reserved_until < now()
                  -- A Solana Pay transfer seen `confirmed` holds the stock a little longer, until it is finalized.
                  AND NOT EXISTS (
                      SELECT 1 FROM solana_payments sp WHERE sp.order_id = orders.id AND sp.status = 'confirming'
                        AND sp.confirmed_at > now() - make_interval(secs => \(Double(settings.solana.confirmGrace.components.seconds))))
                ORDER BY reserved_until LIMIT \(batch)
                FOR UPDATE SKIP LOCKED
                """
            )
            for row in rows {
                let order = CheckoutService.LockedOrder(
                    id: try row.decode("id"), buyerID: try row.decode("buyer_id"), status: try OrderRecords.enumValue(row, "status"),
                    total: try row.decode("total_minor"), refunded: 0, currency: try row.decode("currency"), session: try row.decode("payment_session"),
                    reference: nil
                )
                if try await checkout.releaseLocked(order, to: .cancelled, reason: "reservation_expired", actor: .system, in: tx), let session = order.session {
                    closing.append((try row.decode("payment_provider"), session))
                }
            }
            return rows.count
        }
        for close in closing {
            do { try await checkout.provider(close.provider).cancelSession(close.session, logger: logger) } catch {
                logger.debug("Could not close an expired payment session", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        let seconds = Double(settings.autoCompleteAfter.components.seconds)
        let completed: Int = try await checkout.db.withTransaction(logger: logger) { tx in
            let ids = try await tx.query(
                """
                SELECT id FROM seller_orders WHERE status = 'shipped' AND shipped_at < now() - make_interval(secs => \(seconds))
                ORDER BY shipped_at LIMIT \(batch)
                FOR UPDATE SKIP LOCKED
                """
            ).map { try $0.decode("id", as: UUID.self) }
            for id in ids {
                let order = try await orders.lockSellerOrder(where: "so.id = \(id)", in: tx)
                try await orders.deliver(order, actor: .system, note: "delivery auto-completed", in: tx)
            }
            return ids.count
        }
        // Refunds last, each provider call after its claim committed: no transaction is open while a provider answers.
        let refunds = try await refunds.retryDueRefunds(batch: batch, logger: logger)
        if expired > 0 || completed > 0 || refunds > 0 {
            logger.info("Commerce sweep", metadata: ["agora.expired": "\(expired)", "agora.auto_completed": "\(completed)", "agora.refunds": "\(refunds)"])
        }
        return Sweep(expired: expired, autoCompleted: completed, refundsAttempted: refunds)
    }
}
