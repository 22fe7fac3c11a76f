import AgoraCore
package import Foundation

extension StripeProvider {
    /// Verifies `Stripe-Signature`, then reads the event (https://docs.stripe.com/api/events/object):
    ///
    /// | Stripe event | `PaymentEvent` |
    /// |---|---|
    /// | `checkout.session.completed`, `payment_status` `paid` | `.paid`: session, PaymentIntent, `amount_total`, currency |
    /// | `checkout.session.async_payment_succeeded` (a delayed method, e.g. SEPA debit, cleared) | `.paid`, likewise |
    /// | `checkout.session.expired` | `.expired`: session |
    /// | `checkout.session.async_payment_failed` | `.failed`: session, PaymentIntent |
    /// | `payment_intent.payment_failed` | `.failed`: the PaymentIntent |
    /// | `charge.refunded` | `.refunded`: PaymentIntent, `amount_refunded` (the charge's total so far), currency |
    ///
    /// A completed session that is not yet paid (a delayed method still clearing) and every other type are nil. The
    /// order comes from `client_reference_id`, else the object's metadata `order_id`; currencies are upper-cased.
    package func parseWebhook(payload: [UInt8], signature header: String?, now: Date) throws -> PaymentEvent? {
        if case .failure(let failure) = signature.verify(payload: payload, header: header, now: now) { throw failure.error }
        return try Self.event(payload)
    }

    /// The `PaymentEvent` of an (already verified) event body.
    static func event(_ payload: [UInt8]) throws -> PaymentEvent? {
        let decoder = JSONDecoder()
        guard let envelope = try? decoder.decode(StripeEventEnvelope.self, from: Data(payload)) else {
            throw AgoraError(.badRequest, code: "invalid_payload", "The webhook body is not a Stripe event")
        }
        let kind: PaymentEvent.Kind
        switch envelope.type {
        case "checkout.session.completed", "checkout.session.async_payment_succeeded": kind = .paid
        case "checkout.session.expired": kind = .expired
        case "checkout.session.async_payment_failed", "payment_intent.payment_failed": kind = .failed
        case "charge.refunded": kind = .refunded
        default: return nil
        }
        guard let object = (try? decoder.decode(StripeEventData.self, from: Data(payload)))?.data.object else {
            throw AgoraError(.badRequest, code: "invalid_payload", "The webhook's \(envelope.type) event has no readable object")
        }
        var event = PaymentEvent(id: envelope.id, kind: kind, orderID: object.orderID, currency: object.currency?.uppercased())
        switch envelope.type {
        case "checkout.session.completed", "checkout.session.async_payment_succeeded":
            guard object.paymentStatus == "paid" else { return nil }
            event.sessionID = object.id
            event.paymentReference = object.paymentIntent
            event.amount = object.amountTotal
        case "checkout.session.expired":
            event.sessionID = object.id
        case "checkout.session.async_payment_failed":
            event.sessionID = object.id
            event.paymentReference = object.paymentIntent
        case "payment_intent.payment_failed":
            event.paymentReference = object.id
            event.amount = object.amount
        default:  // charge.refunded
            event.paymentReference = object.paymentIntent
            event.amount = object.amountRefunded
        }
        return event
    }
}

/// What every event has: its id and type.
struct StripeEventEnvelope: Decodable {
    var id: String
    var type: String
}

/// An event's `data.object`: a Checkout Session, a PaymentIntent or a Charge, read leniently: a field that is
/// missing, null or of another type than expected is nil, so an API change in a field Agora does not need cannot
/// make an event unreadable.
struct StripeEventData: Decodable {
    struct Payload: Decodable { var object: StripeEventObject }
    var data: Payload
}

struct StripeEventObject: Decodable {
    var id: String?
    var clientReferenceID: String?
    var metadata: [String: String]
    var paymentStatus: String?
    /// A PaymentIntent id, or the `id` of an expanded PaymentIntent.
    var paymentIntent: String?
    var amount: Int64?
    var amountTotal: Int64?
    var amountRefunded: Int64?
    var currency: String?

    enum CodingKeys: String, CodingKey {
        case id, metadata, amount, currency
        case clientReferenceID = "client_reference_id"
        case paymentStatus = "payment_status"
        case paymentIntent = "payment_intent"
        case amountTotal = "amount_total"
        case amountRefunded = "amount_refunded"
    }

    struct Expanded: Decodable { var id: String }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try? container.decodeIfPresent(String.self, forKey: .id)
        clientReferenceID = try? container.decodeIfPresent(String.self, forKey: .clientReferenceID)
        metadata = (try? container.decodeIfPresent([String: LenientString].self, forKey: .metadata))?.compactMapValues(\.value) ?? [:]
        paymentStatus = try? container.decodeIfPresent(String.self, forKey: .paymentStatus)
        paymentIntent =
            (try? container.decodeIfPresent(String.self, forKey: .paymentIntent))
            ?? (try? container.decodeIfPresent(Expanded.self, forKey: .paymentIntent))?.id
        amount = try? container.decodeIfPresent(Int64.self, forKey: .amount)
        amountTotal = try? container.decodeIfPresent(Int64.self, forKey: .amountTotal)
        amountRefunded = try? container.decodeIfPresent(Int64.self, forKey: .amountRefunded)
        currency = try? container.decodeIfPresent(String.self, forKey: .currency)
    }

    /// The order: `client_reference_id` if it is a UUID, else metadata `order_id`.
    var orderID: UUID? {
        clientReferenceID.flatMap(UUID.init(uuidString:)) ?? metadata["order_id"].flatMap(UUID.init(uuidString:))
    }
}

/// A metadata value: Stripe's are strings; anything else is dropped rather than failing the event.
struct LenientString: Decodable {
    var value: String?
    init(from decoder: any Decoder) throws {
        value = try? decoder.singleValueContainer().decode(String.self)
    }
}
