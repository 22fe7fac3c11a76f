import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// What webhook events that are not a clean payment do to an order.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct PaymentOutcomeTests {
    /// A declined card is retryable at the provider's page (Stripe Checkout): the decline is recorded, the order and
    /// its reservation stay, and the buyer pays in the same session. Only expiry ends it.
    @Test func aDeclinedPaymentLeavesTheOrderPendingAndTheBuyerMayPayAgain() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("declineseller")
                let buyer = try await shop.buyer("declinebuyer")
                let pot = try await shop.product(seller, ["title": "Clay pot", "stock": 2])
                let order = try await shop.order(pot, 2, as: buyer)

                let declined = try await shop.pay(order, as: buyer, outcome: "failed")
                #expect(declined["outcome"] as? String == "declined" && declined["orderStatus"] as? String == "pending_payment", "\(declined.raw)")
                #expect(try await shop.stock(pot) == (2, 2), "the reservation stands")
                #expect(try await shop.int("SELECT count(*) FROM payment_events WHERE kind = 'failed' AND outcome = 'declined'") == 1)
                let shown = try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
                #expect(shown["status"] as? String == "pending_payment" && (shown["payment"] as? [String: Any])?["url"] is String)
                #expect(((shown["history"] as? [[String: Any]]) ?? []).contains { ($0["note"] as? String)?.contains("declined") == true })

                // Same session, second try: paid.
                let paid = try await shop.pay(order, as: buyer)
                #expect(paid["outcome"] as? String == "fulfilled" && paid["orderStatus"] as? String == "paid", "\(paid.raw)")
                #expect(try await shop.stock(pot) == (0, 0))

                // Declined and never paid: counted as a payment failure (the order paid after a decline is not).
                let vase = try await shop.product(seller, ["title": "Vase", "stock": 1])
                let unpaid = try await shop.order(vase, as: buyer)
                try await shop.pay(unpaid, as: buyer, outcome: "failed")
                let admin = try await shop.market.admin("declineadmin")
                let stats = try await shop.api.call(.get, "/api/admin/stats", bearer: admin.accessToken)
                #expect((stats["totals"] as? [String: Any])?["paymentFailureRate"] as? Double == 0.5, "\(stats.raw)")
            }
        }
    }

    /// A payment whose amount does not match its order is refused as before, and is an error in the log (order,
    /// expected, received) and one alert to every admin however often the provider delivers it.
    @Test func aMismatchedPaymentIsLoggedAsAnErrorAndAlertsTheAdmins() async throws {
        let logs = CapturedLogs()
        try await TestApp.withApplication(Shop.overrides, logger: logs.logger) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("mismatchseller")
                let buyer = try await shop.buyer("mismatchbuyer")
                let admin = try await shop.market.admin("mismatchadmin")
                let rug = try await shop.product(seller, ["title": "Rug", "stock": 1, "price": ["amount": 80_000, "currency": "ZAR"]])
                let order = try await shop.order(rug, as: buyer)
                let orderID = try #require(UUID(uuidString: order))
                let total = try await shop.int("SELECT total_minor::int FROM orders WHERE id = \(orderID)")
                // The provider took less than the order's total.
                try await services.db.execute("UPDATE simulated_payments SET amount = amount - 100 WHERE order_id = \(orderID)", logger: shop.market.logger)
                let delivery = try await shop.delivery(for: order, as: buyer)
                for _ in 0..<2 {
                    let refused = try await shop.deliver(delivery)
                    #expect(refused.status == .badRequest && refused.code == "amount_mismatch", "\(refused.raw)")
                }
                let shown = try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
                #expect(shown["status"] as? String == "pending_payment")
                #expect(try await shop.stock(rug) == (1, 1))

                let errors = logs.lines.withLock { $0.filter { $0.hasPrefix("error") && $0.contains("does not match") } }
                #expect(errors.count == 2, "\(errors)")
                #expect(errors.allSatisfy {
                    $0.contains(orderID.uuidString) && $0.contains("\(total) ZAR") && $0.contains("\(total - 100) ZAR")
                })

                let alerts = try await shop.adminAlerts(of: admin)
                #expect(alerts.count == 1, "\(alerts)")
                let data = try #require(alerts.first?["data"] as? [String: Any])
                #expect(data["alert"] as? String == "amount_mismatch" && (data["orderId"] as? String)?.lowercased() == order.lowercased())
                #expect(data["expected"] as? Int == total && data["received"] as? Int == total - 100)
                // Not for anyone else.
                let buyerNotices = try await shop.api.call(.get, "/api/notifications", bearer: buyer.accessToken)
                #expect(!buyerNotices.raw.contains("admin_alert"))
            }
        }
    }
}
