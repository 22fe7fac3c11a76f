import AgoraCore
import AgoraNet
import AgoraTestSupport
import Commerce
import Foundation
import Testing

/// `StripeProvider` end to end against `Tests/interop/fake_stripe_api.py` over HTTPS (its self-signed certificate
/// passed as the CA file): the exact form fields and headers the fake decodes, the paths of each call, and how
/// Stripe's errors and an unreachable or untrusted API surface.
@Suite(.enabled(if: FakeStripeAPI.isRunnableOrRequired), .timeLimit(.minutes(2)))
struct StripeProviderAPITests {
    typealias Field = FakeStripeAPI.Field

    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    let order = UUID()
    var orderText: String { order.uuidString.lowercased() }

    func provider(_ api: FakeStripeAPI, key: String = FakeStripeAPI.secretKey, trust: Bool = true) throws -> StripeProvider {
        try StripeProvider(
            secretKey: key, webhookSecret: "whsec_e2e", apiBaseURL: api.baseURL, caFile: trust ? api.certificateFile : nil, timeout: .seconds(20),
            now: { Self.now })
    }

    func request(expiresIn: TimeInterval, currency: String = "EUR", email: String? = "ada+shop@example.com") -> PaymentRequest {
        PaymentRequest(
            orderID: order, currency: currency, total: 2 * 1999 + 490 + 853,
            lines: [.init(name: "Zoë's Tee & Co. — 100% cotton", unitAmount: 1999, quantity: 2), .init(name: "Shipping", unitAmount: 490, quantity: 1),
                .init(name: "VAT 19%", unitAmount: 853, quantity: 1)],
            buyerEmail: email, successURL: "https://shop.example/orders/\(orderText)?paid=1&s={CHECKOUT_SESSION_ID}",
            cancelURL: "https://shop.example/cart", expiresAt: Self.now.addingTimeInterval(expiresIn))
    }

    func expectedCheckoutFields(expiresAt: Int64, email: Bool = true) -> [Field] {
        var fields = [
            Field("mode", "payment"),
            Field("client_reference_id", orderText),
            Field("metadata[order_id]", orderText),
            Field("payment_intent_data[metadata][order_id]", orderText),
            Field("line_items[0][price_data][currency]", "eur"),
            Field("line_items[0][price_data][product_data][name]", "Zoë's Tee & Co. — 100% cotton"),
            Field("line_items[0][price_data][unit_amount]", "1999"),
            Field("line_items[0][quantity]", "2"),
            Field("line_items[1][price_data][currency]", "eur"),
            Field("line_items[1][price_data][product_data][name]", "Shipping"),
            Field("line_items[1][price_data][unit_amount]", "490"),
            Field("line_items[1][quantity]", "1"),
            Field("line_items[2][price_data][currency]", "eur"),
            Field("line_items[2][price_data][product_data][name]", "VAT 19%"),
            Field("line_items[2][price_data][unit_amount]", "853"),
            Field("line_items[2][quantity]", "1"),
            Field("success_url", "https://shop.example/orders/\(orderText)?paid=1&s={CHECKOUT_SESSION_ID}"),
            Field("cancel_url", "https://shop.example/cart"),
        ]
        if email { fields.append(Field("customer_email", "ada+shop@example.com")) }
        fields.append(Field("expires_at", String(expiresAt)))
        return fields
    }

    var logger = TestServices.logger

    @Test func aCheckoutSessionIsCreatedWithStripesFormFields() async throws {
        try await FakeStripeAPI.with { api in
            let stripe = try provider(api)
            let session = try await stripe.startPayment(request(expiresIn: 600), logger: logger)
            #expect(session.id.hasPrefix("cs_test_") && session.url == "https://checkout.stripe.com/c/pay/\(session.id)")

            let calls = try api.calls()
            try #require(calls.count == 1)
            let call = calls[0]
            #expect(call.method == "POST" && call.path == "/v1/checkout/sessions")
            #expect(call.headers["authorization"] == "Bearer \(FakeStripeAPI.secretKey)")
            #expect(call.headers["idempotency-key"] == "checkout-\(orderText)")
            #expect(call.headers["stripe-version"] == StripeProvider.apiVersion && StripeProvider.apiVersion == "2024-06-20")
            #expect(call.headers["content-type"] == "application/x-www-form-urlencoded")
            #expect(call.headers["connection"] == "close")
            // Ten minutes is too soon for Stripe: moved to 30 minutes and a margin after now.
            #expect(call.fields == expectedCheckoutFields(expiresAt: 1_800_000_000 + 31 * 60))
            #expect(call.body.contains("line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Zo%C3%AB%27s+Tee+%26+Co.+%E2%80%94+100%25+cotton"))
        }
    }

    @Test func expiresAtIsClampedIntoStripesWindow() async throws {
        try await FakeStripeAPI.with { api in
            let stripe = try provider(api)
            _ = try await stripe.startPayment(request(expiresIn: 2 * 3600), logger: logger)
            _ = try await stripe.startPayment(request(expiresIn: 48 * 3600, email: nil), logger: logger)
            _ = try await stripe.startPayment(request(expiresIn: -3600), logger: logger)
            let calls = try api.calls()
            try #require(calls.count == 3)
            #expect(calls[0].fields == expectedCheckoutFields(expiresAt: 1_800_000_000 + 2 * 3600))
            #expect(calls[1].fields == expectedCheckoutFields(expiresAt: 1_800_000_000 + 24 * 3600 - 60, email: false))
            #expect(calls[2].field("expires_at") == String(1_800_000_000 + 31 * 60))
        }
    }

    @Test func stripeErrorsBecomeAgoraErrorsWithoutTheKey() async throws {
        try await FakeStripeAPI.with { api in
            // The fake's error message quotes the key the request was made with.
            let refused = await #expect(throws: AgoraError.self) {
                try await provider(api).startPayment(request(expiresIn: 3600, currency: "XXX"), logger: logger)
            }
            #expect(refused?.kind == .unavailable && refused?.code == "payment_provider_error")
            #expect(refused?.message == "The payment provider refused to open a checkout session (invalid_request_error, parameter_invalid_string)")
            #expect(!(refused.map { "\($0)" } ?? "").contains(FakeStripeAPI.secretKey))

            let wrongKey = "sk_test_wrong_0123456789abcdef"
            let unauthorized = await #expect(throws: AgoraError.self) {
                try await provider(api, key: wrongKey).startPayment(request(expiresIn: 3600), logger: logger)
            }
            #expect(unauthorized?.code == "payment_provider_error" && unauthorized?.kind == .unavailable)
            #expect(!(unauthorized.map { "\($0)" } ?? "").contains("sk_test_wrong"), "\(String(describing: unauthorized))")
            let calls = try api.calls()
            #expect(calls.count == 2 && calls[1].headers["authorization"] == "Bearer \(wrongKey)")

            // Lines that do not add up to the total are not sent at all.
            var mismatched = request(expiresIn: 3600)
            mismatched.total += 1
            let mismatch = await #expect(throws: AgoraError.self) { try await provider(api).startPayment(mismatched, logger: logger) }
            #expect(mismatch?.code == "payment_amount_mismatch")
            #expect(try api.calls().count == 2)
        }
    }

    @Test func refundsAndExpiriesGoToTheirPaths() async throws {
        try await FakeStripeAPI.with { api in
            let stripe = try provider(api)
            // The fake answers refunds in chunked transfer coding.
            let refund = try await stripe.refund(
                RefundRequest(orderID: order, idempotencyKey: "refund-\(orderText)-1", sessionID: "cs_test_paid", paymentReference: "pi_3Ab", amount: 1500, currency: "EUR"),
                logger: logger)
            #expect(refund.id.hasPrefix("re_test_") && refund.status == "succeeded")

            let declined = await #expect(throws: AgoraError.self) {
                try await stripe.refund(
                    RefundRequest(orderID: order, idempotencyKey: "refund-2", sessionID: nil, paymentReference: "pi_declined", amount: 100, currency: "EUR"),
                    logger: logger)
            }
            #expect(declined?.code == "payment_provider_error" && declined?.message.contains("failed") == true)

            // Without a recorded PaymentIntent, the session's.
            let fromSession = try await stripe.refund(
                RefundRequest(orderID: order, idempotencyKey: "refund-3", sessionID: "cs_test_paid", paymentReference: nil, amount: 700, currency: "EUR"),
                logger: logger)
            #expect(fromSession.status == "succeeded")

            try await stripe.cancelSession("cs_test_open", logger: logger)
            // Already completed: Stripe says 400, which is not worth an error.
            try await stripe.cancelSession("cs_test_completed", logger: logger)
            let down = await #expect(throws: AgoraError.self) { try await stripe.cancelSession("cs_test_500", logger: logger) }
            #expect(down?.code == "payment_provider_unavailable")
            let strange = await #expect(throws: AgoraError.self) { try await stripe.cancelSession("cs/../../v1/refunds", logger: logger) }
            #expect(strange?.code == "invalid_session_id")

            let calls = try api.calls()
            #expect(calls.map { "\($0.method) \($0.path)" } == [
                "POST /v1/refunds", "POST /v1/refunds", "GET /v1/checkout/sessions/cs_test_paid", "POST /v1/refunds",
                "POST /v1/checkout/sessions/cs_test_open/expire", "POST /v1/checkout/sessions/cs_test_completed/expire",
                "POST /v1/checkout/sessions/cs_test_500/expire",
            ])
            try #require(calls.count == 7)
            #expect(calls[0].fields == [Field("payment_intent", "pi_3Ab"), Field("amount", "1500"), Field("metadata[order_id]", orderText)])
            #expect(calls[0].headers["idempotency-key"] == "refund-\(orderText)-1" && calls[1].headers["idempotency-key"] == "refund-2")
            #expect(calls[2].body.isEmpty && calls[2].headers["idempotency-key"] == nil && calls[2].headers["authorization"] == "Bearer \(FakeStripeAPI.secretKey)")
            #expect(calls[3].field("payment_intent") == "pi_from_session" && calls[3].field("amount") == "700")
            #expect(calls[4].body.isEmpty && calls[4].headers["content-length"] == "0" && calls[4].headers["idempotency-key"] == nil)
        }
    }

    @Test func anUnreachableOrUntrustedAPIIsUnavailable() async throws {
        try await FakeStripeAPI.with { api in
            // The system trust store does not know the fake's certificate: nothing is sent.
            let untrusted = await #expect(throws: AgoraError.self) { try await provider(api, trust: false).startPayment(request(expiresIn: 3600), logger: logger) }
            #expect(untrusted?.kind == .unavailable && untrusted?.code == "payment_provider_unavailable")
            #expect(try api.calls().isEmpty)
            // The certificate names localhost too.
            let byName = try StripeProvider(
                secretKey: FakeStripeAPI.secretKey, webhookSecret: "whsec_e2e", apiBaseURL: "https://localhost:\(api.port)", caFile: api.certificateFile)
            _ = try await byName.startPayment(request(expiresIn: 3600), logger: logger)
            #expect(try api.calls().count == 1)
        }
        let closed = try StripeProvider(secretKey: FakeStripeAPI.secretKey, webhookSecret: "whsec_e2e", apiBaseURL: "https://127.0.0.1:1", timeout: .seconds(5))
        let unreachable = await #expect(throws: AgoraError.self) { try await closed.refund(
            RefundRequest(orderID: order, idempotencyKey: "k", sessionID: nil, paymentReference: "pi_1", amount: 1, currency: "EUR"), logger: logger) }
        #expect(unreachable?.kind == .unavailable && unreachable?.code == "payment_provider_unavailable")
    }

    @Test func aPlainHTTPBaseURLWorksForTests() async throws {
        try await FakeStripeAPI.with(tls: false) { api in
            #expect(api.baseURL.hasPrefix("http://"))
            let session = try await provider(api).startPayment(request(expiresIn: 3600), logger: logger)
            #expect(session.id.hasPrefix("cs_test_"))
            #expect(try api.calls().first?.fields == expectedCheckoutFields(expiresAt: 1_800_003_600))
        }
    }

    @Test func theClientCapsResponsesAndReadsWholeOnes() async throws {
        try await FakeStripeAPI.with { api in
            let auth = [HTTPSClient.Header("Authorization", "Bearer \(FakeStripeAPI.secretKey)"), HTTPSClient.Header("Stripe-Version", "2024-06-20")]
            let small = try HTTPSClient(baseURL: api.baseURL, caFile: api.certificateFile, maxResponseBytes: 1000)
            let error = await #expect(throws: HTTPClientError.self) { try await small.send(.get, "/big", headers: auth) }
            #expect(error?.kind == .responseTooLarge)
            let large = try HTTPSClient(baseURL: api.baseURL, caFile: api.certificateFile)
            let response = try await large.send(.get, "/big", headers: auth)
            #expect(response.status == 200 && response.body.count > 100_000 && response.header("content-type") == "application/json")
        }
    }
}
