import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The simulated provider closes its session and hands the webhook to the order in two transactions; a host that dies
/// between them (found by the multi-host test's PostgreSQL restart) must not leave a paid session with an order that
/// can never be fulfilled.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SimulatedPaymentRetryTests {
    @Test func payingAgainFinishesAnOrderWhoseWebhookNeverLanded() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("retryseller")
                let buyer = try await shop.buyer("retrybuyer")
                let product = try await shop.product(seller, ["stock": 5])
                let order = try await shop.order(product, 2, as: buyer)
                let session = try await shop.session(of: order, as: buyer)

                // The session is paid, and the delivery is lost with the host that made it.
                _ = try await shop.delivery(for: order, as: buyer)
                let pending = try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
                #expect(pending["status"] as? String == "pending_payment")

                // The buyer's retry delivers it again, and the order is fulfilled once.
                let retried = try await shop.api.call(.post, "/api/payments/simulated/\(session)/complete", json: ["outcome": "paid"])
                #expect(retried.status == .ok && retried["orderStatus"] as? String == "paid", "\(retried.raw)")
                #expect(try await shop.stock(product) == (3, 0))
                let sales = try await shop.int("SELECT count(*) FROM seller_ledger WHERE seller_order_id IN (SELECT id FROM seller_orders WHERE order_id = \(UUID(uuidString: order)!))")
                #expect(sales == 1, "one ledger credit for the order")

                // Once fulfilled, the session is closed for good.
                let again = try await shop.api.call(.post, "/api/payments/simulated/\(session)/complete", json: ["outcome": "paid"])
                #expect(again.status == .conflict && again.code == "payment_session_closed")
                #expect(try await shop.stock(product) == (3, 0))
                // A failed attempt on a paid session is no way back in either.
                let failed = try await shop.api.call(.post, "/api/payments/simulated/\(session)/complete", json: ["outcome": "failed"])
                #expect(failed.status == .conflict)
            }
        }
    }
}
