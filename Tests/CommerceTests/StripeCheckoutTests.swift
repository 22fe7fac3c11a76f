import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The whole app with `AGORA_PAYMENT_PROVIDER=stripe`, against the local fake of Stripe's API over TLS: checkout
/// opens a Checkout Session, a signed `checkout.session.completed` fulfils, partial refunds by the seller and an
/// administrator and then a cancel refund through `/v1/refunds`.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured && FakeStripeAPI.isRunnableOrRequired), .schemaTestLimit)
struct StripeCheckoutTests {
    static let webhookSecret = "whsec_test_agora_checkout_0123456789"

    @Test func checkoutPaysAndRefundsThroughStripe() async throws {
        try await FakeStripeAPI.with { stripe in
            var overrides = Shop.overrides
            overrides["AGORA_PAYMENT_PROVIDER"] = "stripe"
            overrides["AGORA_STRIPE_SECRET_KEY"] = FakeStripeAPI.secretKey
            overrides["AGORA_STRIPE_WEBHOOK_SECRET"] = Self.webhookSecret
            overrides["AGORA_STRIPE_API_BASE"] = stripe.baseURL
            overrides["AGORA_STRIPE_CA_FILE"] = stripe.certificateFile
            try await TestApp.withApplication(overrides) { app, services in
                try await app.test(.router) { client in
                    let shop = Shop(market: Market(api: API(client: client), services: services))
                    let seller = try await shop.market.seller("stripeseller")
                    let buyer = try await shop.buyer("stripebuyer")
                    let product = try await shop.product(seller, ["title": "Leather wallet", "stock": 3, "price": ["amount": 45_000, "currency": "ZAR"]])
                    #expect(try await shop.add(product, 2, as: buyer).status == .ok)
                    let placed = try await shop.checkout(buyer)
                    try #require(placed.status == .created, "\(placed.raw)")
                    let orderID = try #require(placed["id"] as? String)
                    let payment = try #require(placed["payment"] as? [String: Any])
                    #expect(payment["provider"] as? String == "stripe" && (payment["url"] as? String)?.hasPrefix("https://") == true)

                    // What Stripe was asked for: the lines (products, then shipping), the order as reference.
                    let session = try #require(try stripe.calls().last { $0.path == "/v1/checkout/sessions" })
                    #expect(session.field("client_reference_id")?.lowercased() == orderID.lowercased())
                    #expect(session.field("line_items[0][price_data][unit_amount]") == "45000" && session.field("line_items[0][quantity]") == "2")
                    #expect(session.field("line_items[1][price_data][product_data][name]") == "Shipping")
                    #expect(session.field("line_items[0][price_data][currency]") == "zar")

                    // Stripe's webhook, signed as Stripe signs: fulfilled once, then a duplicate.
                    let sessionID = try #require(try await services.db.query("SELECT payment_session FROM orders", logger: shop.market.logger)[0].decode("payment_session", as: String.self))
                    let event = """
                        {"id":"evt_test_paid_1","object":"event","type":"checkout.session.completed","data":{"object":{"id":"\(sessionID)",\
                        "object":"checkout.session","client_reference_id":"\(orderID)","payment_status":"paid","payment_intent":"pi_test_1",\
                        "amount_total":\(try #require(placed.money("total"))),"currency":"zar"}}}
                        """
                    let signer = StripeWebhookSignature(secret: Self.webhookSecret)
                    let header = signer.header(payload: Array(event.utf8), timestamp: Int64(Date().timeIntervalSince1970))
                    func deliver(_ body: String, _ signature: String) async throws -> APIResponse {
                        try await client.execute(
                            uri: "/api/payments/webhooks/stripe", method: .post,
                            headers: [.contentType: "application/json", HTTPField.Name("Stripe-Signature")!: signature], body: ByteBuffer(string: body)
                        ) { response in
                            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
                            return APIResponse(status: response.status, headers: response.headers, body: object ?? [:], raw: String(buffer: response.body))
                        }
                    }
                    let wrong = StripeWebhookSignature(secret: "whsec_someone_else").header(payload: Array(event.utf8), timestamp: Int64(Date().timeIntervalSince1970))
                    #expect(try await deliver(event, wrong).status == .badRequest)
                    let first = try await deliver(event, header)
                    #expect(first.status == .ok && first["outcome"] as? String == "fulfilled", "\(first.raw)")
                    #expect(try await deliver(event, header)["outcome"] as? String == "duplicate")
                    #expect(try await shop.stock(product) == (1, 0))

                    // The seller first gives part back, and an administrator a little more: partial refunds through Stripe,
                    // each with its own idempotency key. Stripe's charge.refunded for a refund Agora made changes nothing.
                    let sellerOrderID = try #require(placed.sellerOrders.first?["id"] as? String)
                    let part = try await shop.api.call(
                        .post, "/api/seller/orders/\(sellerOrderID)/refunds", json: ["amount": 1_000, "reason": "Scuffed corner"], bearer: seller.accessToken)
                    #expect(part.status == .created && part.money("refunded") == 1_000, "\(part.raw)")
                    let partial = try #require(try stripe.calls().last { $0.path == "/v1/refunds" })
                    #expect(partial.field("payment_intent") == "pi_test_1" && partial.field("amount") == "1000")
                    let admin = try await shop.market.admin("stripeadmin")
                    let more = try await shop.api.call(
                        .post, "/api/admin/seller-orders/\(sellerOrderID)/refunds", json: ["amount": 500, "reason": "Late delivery"], bearer: admin.accessToken)
                    #expect(more.status == .created, "\(more.raw)")
                    let second = try #require(try stripe.calls().last { $0.path == "/v1/refunds" })
                    #expect(second.field("amount") == "500" && second.headers["idempotency-key"] != partial.headers["idempotency-key"])
                    #expect(try await services.db.query("SELECT count(*) AS n FROM refunds WHERE status = 'succeeded'", logger: shop.market.logger)[0]
                        .decode("n", as: Int.self) == 2)
                    let partly = """
                        {"id":"evt_test_refund_0","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge",\
                        "payment_intent":"pi_test_1","amount_refunded":1500,"currency":"zar"}}}
                        """
                    let ours = try await deliver(partly, signer.header(payload: Array(partly.utf8), timestamp: Int64(Date().timeIntervalSince1970)))
                    #expect(ours["outcome"] as? String == "no_change", "\(ours.raw)")

                    // The buyer cancels before shipping: the rest refunded through Stripe with the payment intent.
                    let cancelled = try await shop.api.call(.post, "/api/orders/\(orderID)/cancel", bearer: buyer.accessToken)
                    #expect(cancelled.status == .ok && cancelled["status"] as? String == "refunded", "\(cancelled.raw)")
                    let refund = try #require(try stripe.calls().last { $0.path == "/v1/refunds" })
                    let total = try #require(placed.money("total"))
                    #expect(refund.field("payment_intent") == "pi_test_1" && refund.field("amount") == String(total - 1_500))
                    #expect(cancelled.money("refunded") == total)
                    #expect(try await shop.stock(product) == (3, 0))
                    // Stripe's own charge.refunded for it changes nothing more.
                    let refunded = """
                        {"id":"evt_test_refund_1","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge",\
                        "payment_intent":"pi_test_1","amount_refunded":\(try #require(placed.money("total"))),"currency":"zar"}}}
                        """
                    let answer = try await deliver(refunded, signer.header(payload: Array(refunded.utf8), timestamp: Int64(Date().timeIntervalSince1970)))
                    #expect(answer["outcome"] as? String == "no_change", "\(answer.raw)")
                }
            }
        }
    }
}
