package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// A way to take a buyer's money: Agora's built-in simulated provider, or Stripe Checkout.
///
/// Checkout asks the provider for a payment session and sends the buyer to its URL; the provider later tells Agora
/// what happened through a signed webhook, which `parseWebhook` verifies and turns into a `PaymentEvent`. Payment
/// handling (`PaymentService`) is the same for every provider: events are recorded once by id, so a replayed or
/// concurrent delivery changes nothing.
package protocol PaymentProvider: Sendable {
    /// The provider's name in URLs, rows and settings (`simulated`, `stripe`).
    var name: String { get }

    /// The request header that carries the webhook signature (`Stripe-Signature` unless the provider says otherwise).
    var signatureHeader: String { get }

    /// Opens a payment session for an order; the buyer pays at the returned URL.
    /// - Throws: `AgoraError(.unavailable, code: "payment_provider_unavailable", …)` when the provider cannot be reached.
    func startPayment(_ request: PaymentRequest, logger: Logger) async throws -> PaymentSession

    /// For a provider whose sessions are rows of Agora's own database: the session for `request` and the statement
    /// that stores it, which checkout runs in the order's transaction, after the order's insert (the session then
    /// expires with the order's `reserved_until`). Nil, the default, for a provider reached over the network: it is
    /// asked by `startPayment` after the commit, never with a transaction open.
    func localSession(for request: PaymentRequest) -> (session: PaymentSession, statement: PGQuery)?

    /// Verifies a webhook delivery (`payload` exactly as received) and says what it means.
    /// - Returns: nil for an authentic event of a type Agora does not act on (answered 200 and ignored).
    /// - Throws: `AgoraError` 400 `invalid_signature` for a delivery that is not authentic, 400 `invalid_payload`
    ///   for one that is signed but cannot be read.
    func parseWebhook(payload: [UInt8], signature: String?, now: Date) throws -> PaymentEvent?

    /// Gives back `amount` of a completed payment (a cancelled, paid seller order).
    func refund(_ request: RefundRequest, logger: Logger) async throws -> RefundResult

    /// Closes a session that will not be paid (its reservation expired or the buyer cancelled); best effort.
    func cancelSession(_ sessionID: String, logger: Logger) async throws
}

extension PaymentProvider {
    package var signatureHeader: String { "Stripe-Signature" }
    package func localSession(for request: PaymentRequest) -> (session: PaymentSession, statement: PGQuery)? { nil }
}

/// What to charge, in the order's currency and minor units. The lines sum to `total`: products, then shipping and
/// (for tax-exclusive prices) VAT as lines of their own.
package struct PaymentRequest: Sendable, Equatable {
    package struct Line: Sendable, Equatable {
        package var name: String
        package var unitAmount: Int64
        package var quantity: Int
        package init(name: String, unitAmount: Int64, quantity: Int) {
            self.name = name
            self.unitAmount = unitAmount
            self.quantity = quantity
        }
    }

    package var orderID: UUID
    package var currency: String
    package var total: Int64
    package var lines: [Line]
    package var buyerEmail: String?
    /// Where the buyer returns after paying, and after giving up (absolute URLs).
    package var successURL: String
    package var cancelURL: String
    /// When the session should stop accepting payment (the reservation's end; providers may impose a minimum).
    package var expiresAt: Date

    package init(
        orderID: UUID, currency: String, total: Int64, lines: [Line], buyerEmail: String?, successURL: String, cancelURL: String, expiresAt: Date
    ) {
        self.orderID = orderID
        self.currency = currency
        self.total = total
        self.lines = lines
        self.buyerEmail = buyerEmail
        self.successURL = successURL
        self.cancelURL = cancelURL
        self.expiresAt = expiresAt
    }
}

/// An open payment session.
package struct PaymentSession: Sendable, Equatable {
    /// The provider's id of the session (`cs_…` at Stripe).
    package var id: String
    /// Where to send the buyer.
    package var url: String
    package init(id: String, url: String) {
        self.id = id
        self.url = url
    }
}

/// What a webhook says happened.
package struct PaymentEvent: Sendable, Equatable {
    package enum Kind: String, Sendable, Equatable {
        /// The session was paid (Stripe: `checkout.session.completed` with `payment_status` `paid`).
        case paid
        /// A payment attempt was declined (Stripe: `payment_intent.payment_failed`, and
        /// `checkout.session.async_payment_failed`). Not the end of the order: the buyer may try again while the
        /// session is open, so it is recorded and the order stays pending until paid or `expired`.
        case failed
        /// The session ended unpaid (Stripe: `checkout.session.expired`): the order is cancelled and its stock released.
        case expired
        /// Money went back to the buyer (Stripe: `charge.refunded`).
        case refunded
    }

    /// The provider's event id (`evt_…`), recorded once: the key of webhook idempotency.
    package var id: String
    package var kind: Kind
    /// The order, when the event names it (`client_reference_id` or metadata `order_id`).
    package var orderID: UUID?
    /// The session the event is about, when it names one.
    package var sessionID: String?
    /// The provider's id of the payment itself (`pi_…`), used for refunds and to find the order of a refund event.
    package var paymentReference: String?
    /// The amount the event is about (paid total, or refunded amount), in minor units, when known.
    package var amount: Int64?
    package var currency: String?

    package init(
        id: String, kind: Kind, orderID: UUID?, sessionID: String? = nil, paymentReference: String? = nil, amount: Int64? = nil,
        currency: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.orderID = orderID
        self.sessionID = sessionID
        self.paymentReference = paymentReference
        self.amount = amount
        self.currency = currency
    }

    /// A provider's identifiers are short printable ASCII (`evt_…`, `cs_…`, `pi_…`, our `sim_…`); this bounds them.
    static let maxIdentifierLength = 255

    /// Refuses an event that no provider would send: an empty, over-long or non-printable id, session or payment
    /// reference, or a currency that is not an ISO 4217 code. It is a 400, which a provider logs and does not retry
    /// for ever, and nothing is recorded: such an id could never be the key of idempotency.
    /// - Throws: 400 `invalid_payload` naming the field.
    package func validate() throws(AgoraError) {
        for (field, value) in [("id", id as String?), ("session", sessionID), ("paymentReference", paymentReference)] {
            guard let value else { continue }
            let printable = value.utf8.allSatisfy { (0x21...0x7E).contains($0) }
            guard !value.isEmpty, value.utf8.count <= Self.maxIdentifierLength, printable else {
                throw AgoraError(
                    .badRequest, code: "invalid_payload",
                    "The event's \(field) must be 1 to \(Self.maxIdentifierLength) printable ASCII characters"
                )
            }
        }
        if let currency, !Money.isCurrencyCode(currency) {
            throw AgoraError(.badRequest, code: "invalid_payload", "The event's currency must be an ISO 4217 code")
        }
        if let amount, amount < 0 {
            throw AgoraError(.badRequest, code: "invalid_payload", "The event's amount must not be negative")
        }
    }
}

/// Money to give back.
package struct RefundRequest: Sendable, Equatable {
    package var orderID: UUID
    /// What the refund is for; a retry with the same key must not refund twice (Stripe's `Idempotency-Key`).
    package var idempotencyKey: String
    package var sessionID: String?
    package var paymentReference: String?
    package var amount: Int64
    package var currency: String
    package init(orderID: UUID, idempotencyKey: String, sessionID: String?, paymentReference: String?, amount: Int64, currency: String) {
        self.orderID = orderID
        self.idempotencyKey = idempotencyKey
        self.sessionID = sessionID
        self.paymentReference = paymentReference
        self.amount = amount
        self.currency = currency
    }
}

/// A refund the provider accepted.
package struct RefundResult: Sendable, Equatable {
    /// The provider's refund id (`re_…`).
    package var id: String
    /// `succeeded` or `pending` (Stripe's refund states); anything else was thrown as an error.
    package var status: String
    package init(id: String, status: String) {
        self.id = id
        self.status = status
    }
}
