package import AgoraCore
import AgoraCrypto
package import AgoraPostgres
package import Foundation
package import Logging

/// The built-in provider for local use and tests: checkout sends the buyer to Agora's own payment page
/// (`Public/pay.html`), where they pay, or fail an attempt and may try again; the page's choice becomes an event
/// signed with the webhook secret exactly as Stripe signs (`Agora-Signature: t=…,v1=…`) and goes through the same
/// webhook handling as a real provider's. No money moves.
package struct SimulatedProvider: PaymentProvider {
    package var name: String { "simulated" }
    package var signatureHeader: String { "Agora-Signature" }
    let db: PGPool
    let signer: StripeWebhookSignature
    let publicURL: String

    package init(db: PGPool, webhookSecret: [UInt8], publicURL: String) {
        self.db = db
        self.signer = StripeWebhookSignature(secret: String(decoding: webhookSecret, as: UTF8.self))
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }

    /// A session of the payment page.
    package struct Session: Codable, Sendable {
        package struct Line: Codable, Sendable {
            package var name: String
            package var unitAmount: Int64
            package var quantity: Int
        }
        package var id: String
        package var orderId: UUID
        package var amount: Money
        package var lines: [Line]
        package var status: String
        package var expiresAt: Date
        package var returnURL: String
    }

    package func startPayment(_ request: PaymentRequest, logger: Logger) async throws -> PaymentSession {
        let id = "sim_" + SecureRandom.token(byteCount: 24)
        let lines = request.lines.map { Session.Line(name: $0.name, unitAmount: $0.unitAmount, quantity: $0.quantity) }
        try await db.execute(
            """
            INSERT INTO simulated_payments (id, order_id, currency, amount, lines, expires_at)
            VALUES (\(id), \(request.orderID), \(request.currency), \(request.total), \(String(decoding: try JSONEncoder().encode(lines), as: UTF8.self))::jsonb, \(request.expiresAt))
            """,
            logger: logger
        )
        return PaymentSession(id: id, url: "\(publicURL)/pay.html?session=\(id)")
    }

    /// The session opens in the order's transaction: its row is ours, so no provider is called with it open.
    package func localSession(for request: PaymentRequest) -> (session: PaymentSession, statement: PGQuery)? {
        let id = "sim_" + SecureRandom.token(byteCount: 24)
        let lines = request.lines.map { Session.Line(name: $0.name, unitAmount: $0.unitAmount, quantity: $0.quantity) }
        guard let json = try? JSONEncoder().encode(lines) else { return nil }
        let statement: PGQuery =
            """
            INSERT INTO simulated_payments (id, order_id, currency, amount, lines, expires_at)
            SELECT \(id), id, \(request.currency), \(request.total), \(String(decoding: json, as: UTF8.self))::jsonb, reserved_until
            FROM orders WHERE id = \(request.orderID)
            """
        return (PaymentSession(id: id, url: "\(publicURL)/pay.html?session=\(id)"), statement)
    }

    /// The session behind the payment page. The id is the capability, as a provider's hosted page URL is.
    package func session(_ id: String, logger: Logger) async throws -> Session {
        let rows = try await db.query(
            "SELECT id, order_id, currency, amount, lines::text AS lines, status, expires_at FROM simulated_payments WHERE id = \(id)",
            logger: logger
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "payment_session_not_found", "No such payment session") }
        let order: UUID = try row.decode("order_id")
        let expires: Date = try row.decode("expires_at")
        var status: String = try row.decode("status")
        if status == "open", expires < Date() { status = "expired" }
        return Session(
            id: id, orderId: order, amount: Money(amount: try row.decode("amount"), currency: try row.decode("currency")),
            lines: try JSONDecoder().decode([Session.Line].self, from: Data(try row.decode("lines", as: String.self).utf8)), status: status,
            expiresAt: expires, returnURL: returnURL(of: order)
        )
    }

    /// Where the payment page sends the buyer back to: their order.
    package func returnURL(of order: UUID) -> String {
        "\(publicURL)/orders/\(order.uuidString.lowercased())"
    }

    /// Pays an open session (closing it) or fails an attempt on it, and returns the signed webhook delivery that
    /// says so, for the caller to hand to the webhook handler. As at Stripe Checkout, where a declined card can be
    /// tried again, a failed attempt leaves the session open: it is paid once, or it expires.
    ///
    /// The session's update and the webhook handling are two transactions: a host that dies (or a database that
    /// restarts) between them leaves a paid session whose order was never fulfilled. Paying such a session again
    /// delivers the payment again (the webhook handling is idempotent), so the buyer's retry finishes the order
    /// instead of meeting a closed session forever.
    /// - Throws: 409 `payment_session_closed` for a session expired, or paid with its order fulfilled.
    package func complete(_ id: String, paid: Bool, logger: Logger) async throws -> (payload: [UInt8], signature: String) {
        let completion = try await completion(id, paid: paid, logger: logger)
        return (completion.payload, completion.signature)
    }

    /// A signed delivery `completion` made, and the order it is about.
    package struct Completion: Sendable {
        package var payload: [UInt8]
        package var signature: String
        package var orderID: UUID
    }

    /// `complete`, also naming the session's order (so the page's answer needs no read of the session).
    package func completion(_ id: String, paid: Bool, logger: Logger) async throws -> Completion {
        let rows = try await db.query(
            """
            UPDATE simulated_payments s SET status = \(paid ? "paid" : "open")
            WHERE s.id = \(id)
              AND ((s.status = 'open' AND s.expires_at > now())
                OR (\(paid) AND s.status = 'paid'
                    AND EXISTS (SELECT 1 FROM orders o WHERE o.id = s.order_id AND o.status = 'pending_payment')))
            RETURNING s.order_id, s.currency, s.amount
            """,
            logger: logger
        )
        guard let row = rows.first else {
            _ = try await session(id, logger: logger)  // 404 for an unknown id
            throw AgoraError(.conflict, code: "payment_session_closed", "This payment session is no longer open")
        }
        let event = Event(
            id: "evt_sim_" + SecureRandom.token(byteCount: 16), type: paid ? "payment.succeeded" : "payment.failed",
            data: .init(session: id, orderId: try row.decode("order_id"), amount: try row.decode("amount"), currency: try row.decode("currency"),
                        paymentReference: paid ? "pay_sim_" + SecureRandom.token(byteCount: 12) : nil)
        )
        let payload = Array(try JSONEncoder().encode(event))
        return Completion(payload: payload, signature: signer.header(payload: payload, timestamp: Int64(Date().timeIntervalSince1970)),
                          orderID: event.data.orderId)
    }

    /// The simulated provider's event format.
    struct Event: Codable {
        struct Data: Codable {
            var session: String
            var orderId: UUID
            var amount: Int64
            var currency: String
            var paymentReference: String?
        }
        var id: String
        var type: String
        var data: Data
    }

    package func parseWebhook(payload: [UInt8], signature: String?, now: Date) throws -> PaymentEvent? {
        if case .failure(let failure) = signer.verify(payload: payload, header: signature, now: now) { throw failure.error }
        guard let event = try? JSONDecoder().decode(Event.self, from: Data(payload)) else {
            throw AgoraError(.badRequest, code: "invalid_payload", "The webhook payload is not a payment event")
        }
        let kind: PaymentEvent.Kind
        switch event.type {
        case "payment.succeeded": kind = .paid
        case "payment.failed": kind = .failed
        case "payment.expired": kind = .expired
        case "payment.refunded": kind = .refunded
        default: return nil
        }
        return PaymentEvent(
            id: event.id, kind: kind, orderID: event.data.orderId, sessionID: event.data.session, paymentReference: event.data.paymentReference,
            amount: event.data.amount, currency: event.data.currency
        )
    }

    package func refund(_ request: RefundRequest, logger: Logger) async throws -> RefundResult {
        RefundResult(id: "re_sim_" + SecureRandom.token(byteCount: 12), status: "succeeded")
    }

    package func cancelSession(_ sessionID: String, logger: Logger) async throws {
        try await db.execute("UPDATE simulated_payments SET status = 'expired' WHERE id = \(sessionID) AND status = 'open'", logger: logger)
    }
}
