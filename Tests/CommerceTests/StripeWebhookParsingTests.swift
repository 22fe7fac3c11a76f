import AgoraCore
import AgoraTestSupport
import Commerce
import Foundation
import Testing

/// `StripeProvider.parseWebhook`: the signature first, then each event type Agora acts on, as Stripe sends them.
struct StripeWebhookParsingTests {
    static let secret = "whsec_test_parsing_0123456789abcdef"
    static let order = UUID(uuidString: "5B0E6B8E-1D1C-4F43-9C5E-0D1F2A3B4C5D")!
    static let signedAt: Int64 = 1_800_000_000
    var now: Date { Date(timeIntervalSince1970: TimeInterval(Self.signedAt + 5)) }

    let provider = try! StripeProvider(secretKey: "sk_test_parsing", webhookSecret: Self.secret)

    /// An event as Stripe sends it (trimmed), of `type`, about `object`.
    static func event(_ type: String, id: String = "evt_1", _ object: String) -> [UInt8] {
        Array("""
            {
              "id": "\(id)",
              "object": "event",
              "api_version": "2024-06-20",
              "created": \(signedAt),
              "livemode": false,
              "pending_webhooks": 1,
              "request": {"id": null, "idempotency_key": null},
              "type": "\(type)",
              "data": {"object": \(object)}
            }
            """.utf8)
    }

    static func header(_ payload: [UInt8], secret: String = secret, at timestamp: Int64 = signedAt) -> String {
        StripeWebhookSignature(secret: secret).header(payload: payload, timestamp: timestamp)
    }

    func parse(_ payload: [UInt8]) throws -> PaymentEvent? {
        try provider.parseWebhook(payload: payload, signature: Self.header(payload), now: now)
    }

    static let orderText = order.uuidString.lowercased()

    static func session(paymentStatus: String, status: String = "complete", clientReference: String? = orderText) -> String {
        """
        {"id": "cs_test_a1", "object": "checkout.session", "amount_total": 4550, "currency": "eur",
         "client_reference_id": \(clientReference.map { "\"\($0)\"" } ?? "null"),
         "customer_details": {"email": "ada@example.com", "address": null},
         "metadata": {"order_id": "\(orderText)"}, "mode": "payment", "payment_intent": "pi_3Ab",
         "payment_status": "\(paymentStatus)", "status": "\(status)", "url": null}
        """
    }

    @Test func aPaidCompletedSessionIsPaid() throws {
        let event = try parse(Self.event("checkout.session.completed", id: "evt_paid", Self.session(paymentStatus: "paid")))
        #expect(event == PaymentEvent(
            id: "evt_paid", kind: .paid, orderID: Self.order, sessionID: "cs_test_a1", paymentReference: "pi_3Ab", amount: 4550, currency: "EUR"))
    }

    @Test func aCompletedSessionNotYetPaidIsIgnoredUntilItsPaymentClears() throws {
        #expect(try parse(Self.event("checkout.session.completed", Self.session(paymentStatus: "unpaid"))) == nil)
        // A delayed method (SEPA debit) that clears later completes the payment then.
        let cleared = try parse(Self.event("checkout.session.async_payment_succeeded", id: "evt_async", Self.session(paymentStatus: "paid")))
        #expect(cleared?.kind == .paid && cleared?.sessionID == "cs_test_a1" && cleared?.amount == 4550 && cleared?.orderID == Self.order)
        let bounced = try parse(Self.event("checkout.session.async_payment_failed", Self.session(paymentStatus: "unpaid")))
        #expect(bounced?.kind == .failed && bounced?.sessionID == "cs_test_a1" && bounced?.paymentReference == "pi_3Ab")
    }

    @Test func anExpiredSessionIsExpiredAndNamesItsOrderFromMetadataToo() throws {
        let event = try parse(Self.event("checkout.session.expired", id: "evt_exp", Self.session(paymentStatus: "unpaid", status: "expired", clientReference: nil)))
        #expect(event == PaymentEvent(id: "evt_exp", kind: .expired, orderID: Self.order, sessionID: "cs_test_a1", currency: "EUR"))
        // A client_reference_id that is not one of ours does not hide the metadata's.
        let other = try parse(Self.event("checkout.session.expired", Self.session(paymentStatus: "unpaid", clientReference: "not-a-uuid")))
        #expect(other?.orderID == Self.order)
    }

    @Test func aFailedPaymentIntentIsFailed() throws {
        let intent = """
            {"id": "pi_3Fail", "object": "payment_intent", "amount": 4550, "currency": "eur",
             "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
             "metadata": {"order_id": "\(Self.orderText)"}, "status": "requires_payment_method"}
            """
        let event = try parse(Self.event("payment_intent.payment_failed", id: "evt_fail", intent))
        #expect(event == PaymentEvent(id: "evt_fail", kind: .failed, orderID: Self.order, paymentReference: "pi_3Fail", amount: 4550, currency: "EUR"))
    }

    @Test func aRefundedChargeIsRefunded() throws {
        let charge = """
            {"id": "ch_3Ref", "object": "charge", "amount": 4550, "amount_captured": 4550, "amount_refunded": 1500,
             "currency": "eur", "metadata": {"order_id": "\(Self.orderText)", "note": "x"}, "payment_intent": "pi_3Ab",
             "refunded": false, "status": "succeeded"}
            """
        let event = try parse(Self.event("charge.refunded", id: "evt_ref", charge))
        #expect(event == PaymentEvent(id: "evt_ref", kind: .refunded, orderID: Self.order, paymentReference: "pi_3Ab", amount: 1500, currency: "EUR"))
        // Without metadata the order is unknown here; the payment reference finds it.
        let bare = try parse(Self.event("charge.refunded", #"{"id": "ch_2", "object": "charge", "amount_refunded": 10, "currency": "usd", "metadata": {}, "payment_intent": "pi_9"}"#))
        #expect(bare?.orderID == nil && bare?.paymentReference == "pi_9" && bare?.currency == "USD")
    }

    @Test func otherEventTypesAreIgnored() throws {
        #expect(try parse(Self.event("customer.created", #"{"id": "cus_1", "object": "customer", "metadata": {"n": 1}}"#)) == nil)
        #expect(try parse(Self.event("payment_intent.succeeded", #"{"id": "pi_1", "object": "payment_intent", "amount": 1}"#)) == nil)
        // Whatever the object of an ignored type looks like.
        #expect(try parse(Self.event("invoice.paid", #"[1, 2, 3]"#)) == nil)
    }

    @Test func fieldsOfUnexpectedShapeAreReadLeniently() throws {
        // An expanded PaymentIntent, a non-string metadata value, an unknown extra field.
        let session = """
            {"id": "cs_x", "amount_total": 100, "currency": "gbp", "client_reference_id": null,
             "metadata": {"order_id": "\(Self.orderText)", "count": 3}, "payment_intent": {"id": "pi_expanded", "object": "payment_intent"},
             "payment_status": "paid", "brand_new_field": {"a": [1]}}
            """
        let event = try parse(Self.event("checkout.session.completed", session))
        #expect(event?.paymentReference == "pi_expanded" && event?.orderID == Self.order && event?.currency == "GBP")
    }

    @Test func aBadSignatureIsRefusedBeforeTheBodyIsRead() throws {
        let payload = Self.event("checkout.session.completed", Self.session(paymentStatus: "paid"))
        let cases: [(String?, StripeWebhookSignature.Failure)] = [
            (nil, .missingHeader),
            (Self.header(payload, secret: "whsec_someone_else"), .noMatch),
            (Self.header(Array("{}".utf8)), .noMatch),
            (Self.header(payload, at: Self.signedAt - 600), .tooOld),
            ("t=\(Self.signedAt)", .noSignatures),
        ]
        for (header, failure) in cases {
            let error = #expect(throws: AgoraError.self) { try provider.parseWebhook(payload: payload, signature: header, now: now) }
            #expect(error?.code == "invalid_signature" && error?.kind == .badRequest && error?.message == failure.rawValue, "\(String(describing: header))")
        }
        // Not even JSON, but unsigned: a signature error, not a payload error.
        let garbage = Array("not json".utf8)
        let error = #expect(throws: AgoraError.self) { try provider.parseWebhook(payload: garbage, signature: "t=1,v1=00", now: now) }
        #expect(error?.code == "invalid_signature")
    }

    @Test func aSignedButUnreadableBodyIsInvalidPayload() throws {
        for body in ["not json", #"{"type": "checkout.session.completed"}"#, #"{"id": "evt_1", "type": "checkout.session.completed", "data": {}}"#, "[]"] {
            let payload = Array(body.utf8)
            let error = #expect(throws: AgoraError.self) { try parse(payload) }
            #expect(error?.code == "invalid_payload" && error?.kind == .badRequest, "\(body)")
        }
    }

    static var hasStripePython: Bool { StripeInterop.isAvailable }

    /// stripe-python's `Webhook.construct_event` (what a Stripe integration runs) accepts an event we sign, and reads
    /// the same event from it.
    @Test(.enabled(if: hasStripePython)) func stripePythonConstructsTheEventsWeSign() async throws {
        let payload = Self.event("checkout.session.completed", id: "evt_py", Self.session(paymentStatus: "paid"))
        let timestamp = Int64(Date().timeIntervalSince1970)
        let header = Self.header(payload, at: timestamp)
        let script = """
            import sys, stripe
            event = stripe.Webhook.construct_event(sys.argv[1], sys.argv[2], sys.argv[3])
            obj = event["data"]["object"]
            print(event["id"], event["type"], obj["id"], obj["client_reference_id"], obj["payment_intent"], obj["amount_total"])
            """
        let outcome = try await StripeInterop.run(["-c", script, String(decoding: payload, as: UTF8.self), header, Self.secret])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.trimmingCharacters(in: .whitespacesAndNewlines) == "evt_py checkout.session.completed cs_test_a1 \(Self.orderText) pi_3Ab 4550")
        let ours = try provider.parseWebhook(payload: payload, signature: header, now: Date())
        #expect(ours?.id == "evt_py" && ours?.kind == .paid)
    }
}
