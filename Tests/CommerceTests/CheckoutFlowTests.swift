import AgoraApp
import AgoraCore
import AgoraEvents
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct CheckoutFlowTests {
    @Test func physicalOrderFromCartToReviewAndPayout() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("sipho")
                let buyer = try await shop.buyer("thandi")
                let product = try await shop.product(seller, ["title": "Walnut side table", "price": ["amount": 115_000, "currency": "ZAR"], "stock": 3, "lowStockThreshold": 1])

                // Cart: quantities are checked against what is available, naming the product.
                let tooMany = try await shop.add(product, 4, as: buyer)
                #expect(tooMany.status == .conflict && tooMany.code == "insufficient_stock")
                #expect(tooMany.raw.contains("Walnut side table") && tooMany.fields["productId"] == product, "\(tooMany.raw)")
                let own = try await shop.add(product, 1, as: seller)
                #expect(own.status == .unprocessableContent && own.code == "own_product")
                #expect(try await shop.add(product, 2, as: buyer).status == .ok)
                let cart = try await shop.api.call(.get, "/api/cart", bearer: buyer.accessToken)
                #expect((cart["items"] as? [[String: Any]])?.first?["quantity"] as? Int == 2 && cart["itemCount"] as? Int == 2)
                #expect(try await shop.api.call(.get, "/api/cart").status == .unauthorized)

                // The cart survives a logout: it belongs to the account.
                let relogin = try await shop.api.login("thandi@example.com")
                let buyerAgain = try Grant(relogin)
                #expect((try await shop.api.call(.get, "/api/cart", bearer: buyerAgain.accessToken)["items"] as? [[String: Any]])?.count == 1)

                // Checkout needs an address for physical goods; nothing is reserved by a refused checkout.
                let noAddress = try await shop.checkout(buyer, address: nil)
                #expect(noAddress.status == .unprocessableContent && noAddress.code == "shipping_address_required")
                var badAddress = Shop.address
                badAddress["country"] = "South Africa"
                let bad = try await shop.checkout(buyer, address: badAddress)
                #expect(bad.status == .unprocessableContent && bad.fields["shippingAddress.country"] != nil)
                #expect(try await shop.stock(product) == (3, 0))

                let placed = try await shop.checkout(buyer)
                try #require(placed.status == .created, "\(placed.raw)")
                let orderID = try #require(placed["id"] as? String)
                // Money: R1150 × 2 incl. 15% VAT = 2000.00 net + 300.00 VAT, R60 shipping; fee 10% of net.
                #expect(placed["status"] as? String == "pending_payment")
                #expect(placed.money("subtotal") == 200_000 && placed.money("vat") == 30_000 && placed.money("shipping") == 6_000 && placed.money("total") == 236_000)
                #expect(placed.sellerOrders.count == 1 && placed.sellerOrders[0]["platformFee"] == nil, "buyers do not see the seller's fee")
                #expect(try await shop.stock(product) == (3, 2))
                #expect((try await shop.api.call(.get, "/api/cart", bearer: buyer.accessToken)["items"] as? [[String: Any]])?.isEmpty == true)

                // Before payment the seller cannot ship.
                let sellerOrderID = try #require(placed.sellerOrders.first?["id"] as? String)
                let early = try await shop.api.call(.post, "/api/seller/orders/\(sellerOrderID)/ship", json: ["carrier": "PostNet", "trackingNumber": "PN1"], bearer: seller.accessToken)
                #expect(early.status == .conflict && early.code == "invalid_transition")

                // The payment page shows the session; paying goes through the signed webhook path.
                let session = try await shop.session(of: orderID, as: buyer)
                let page = try await shop.api.call(.get, "/api/payments/simulated/\(session)")
                #expect(page.money("amount") == 236_000 && page["status"] as? String == "open")
                let paid = try await shop.pay(orderID, as: buyer)
                #expect(paid["outcome"] as? String == "fulfilled" && paid["orderStatus"] as? String == "paid")
                let again = try await shop.api.call(.post, "/api/payments/simulated/\(session)/complete", json: ["outcome": "paid"])
                #expect(again.status == .conflict && again.code == "payment_session_closed")
                #expect(try await shop.stock(product) == (1, 0))

                // The seller sees their seller order with the fee, earnings and address; earnings are pending.
                let incoming = try await shop.api.call(.get, "/api/seller/orders?status=paid", bearer: seller.accessToken)
                let mine = try #require((incoming["items"] as? [[String: Any]])?.first)
                #expect(mine["id"] as? String == sellerOrderID)
                #expect(((mine["platformFee"] as? [String: Any])?["amount"] as? Int) == 20_000)
                #expect(((mine["sellerEarnings"] as? [String: Any])?["amount"] as? Int) == 180_000)
                #expect(((mine["shippingAddress"] as? [String: Any])?["city"] as? String) == "Cape Town")
                var balance = try await shop.api.call(.get, "/api/seller/balance", bearer: seller.accessToken)
                var balances = try #require(balance["balances"] as? [[String: Any]])
                #expect(balances.first?["pending"] as? Int == 186_000 && balances.first?["available"] as? Int == 0)
                let tooEarly = try await shop.api.call(.post, "/api/seller/payouts", bearer: seller.accessToken)
                #expect(tooEarly.status == .conflict && tooEarly.code == "nothing_to_pay_out")

                // Illegal moves are 409s; shipping needs carrier and tracking.
                let deliverEarly = try await shop.api.call(.post, "/api/seller/orders/\(sellerOrderID)/deliver", bearer: seller.accessToken)
                #expect(deliverEarly.status == .conflict && deliverEarly.code == "invalid_transition")
                let noTracking = try await shop.api.call(.post, "/api/seller/orders/\(sellerOrderID)/ship", json: ["carrier": "PostNet"], bearer: seller.accessToken)
                #expect(noTracking.status == .unprocessableContent && noTracking.fields["trackingNumber"] != nil)
                let shipped = try await shop.api.call(.post, "/api/seller/orders/\(sellerOrderID)/ship", json: ["carrier": "PostNet", "trackingNumber": "PN123"], bearer: seller.accessToken)
                #expect(shipped.status == .ok && shipped["status"] as? String == "shipped" && shipped["trackingNumber"] as? String == "PN123")
                let twice = try await shop.api.call(.post, "/api/seller/orders/\(sellerOrderID)/ship", json: ["carrier": "PostNet", "trackingNumber": "PN1"], bearer: seller.accessToken)
                #expect(twice.status == .conflict)
                // Shipped: too late for the buyer to cancel.
                let lateCancel = try await shop.api.call(.post, "/api/orders/\(orderID)/cancel", bearer: buyer.accessToken)
                #expect(lateCancel.status == .conflict && lateCancel.code == "invalid_transition")

                // Before delivery, no review.
                let earlyReview = try await shop.api.call(.post, "/api/products/\(product)/reviews", json: ["rating": 5, "body": "Lovely"], bearer: buyer.accessToken)
                #expect(earlyReview.status == .forbidden && earlyReview.code == "review_not_allowed")

                // The buyer confirms receipt: delivered, earnings available.
                let confirmed = try await shop.api.call(.post, "/api/orders/\(orderID)/confirm", bearer: buyer.accessToken)
                #expect(confirmed.status == .ok && confirmed.sellerOrders.first?["status"] as? String == "delivered")
                balance = try await shop.api.call(.get, "/api/seller/balance", bearer: seller.accessToken)
                balances = try #require(balance["balances"] as? [[String: Any]])
                #expect(balances.first?["pending"] as? Int == 0 && balances.first?["available"] as? Int == 186_000)

                // Every state change is in the history, with who did it.
                let history = try #require(confirmed["history"] as? [[String: Any]])
                #expect(history.map { "\($0["to"]!)/\($0["actor"]!)" } == [
                    "pending_payment/buyer", "paid/provider", "paid/provider", "shipped/seller", "delivered/buyer",
                ])

                // Review once, rating maintained; the seller replies once.
                let review = try await shop.api.call(.post, "/api/products/\(product)/reviews", json: ["rating": 4, "body": "Solid and well packed"], bearer: buyer.accessToken)
                #expect(review.status == .created)
                let dup = try await shop.api.call(.post, "/api/products/\(product)/reviews", json: ["rating": 1], bearer: buyer.accessToken)
                #expect(dup.status == .conflict && dup.code == "already_reviewed")
                let badRating = try await shop.api.call(.post, "/api/products/\(product)/reviews", json: ["rating": 6], bearer: buyer.accessToken)
                #expect(badRating.status == .unprocessableContent)
                let reviewID = try #require(review["id"] as? String)
                let other = try await shop.market.seller("othersel")
                #expect(try await shop.api.call(.post, "/api/reviews/\(reviewID)/reply", json: ["reply": "Hi"], bearer: other.accessToken).status == .notFound)
                #expect(try await shop.api.call(.post, "/api/reviews/\(reviewID)/reply", json: ["reply": "Thank you!"], bearer: seller.accessToken).status == .ok)
                #expect(try await shop.api.call(.post, "/api/reviews/\(reviewID)/reply", json: ["reply": "Again"], bearer: seller.accessToken).code == "already_replied")
                let reviews = try await shop.api.call(.get, "/api/products/\(product)/reviews")
                #expect((reviews["rating"] as? [String: Any])?["average"] as? Double == 4 && (reviews["rating"] as? [String: Any])?["count"] as? Int == 1)
                #expect((reviews["sellerRating"] as? [String: Any])?["count"] as? Int == 1)
                #expect(((reviews["items"] as? [[String: Any]])?.first?["reply"] as? String) == "Thank you!")

                // Payout of the available balance, once; the admin settles it.
                let payout = try await shop.api.call(.post, "/api/seller/payouts", bearer: seller.accessToken)
                #expect(payout.status == .created && payout.money("amount") == 186_000 && payout["status"] as? String == "requested")
                #expect(try await shop.api.call(.post, "/api/seller/payouts", bearer: seller.accessToken).code == "nothing_to_pay_out")
                let admin = try await shop.market.admin("rootadmin")
                #expect(try await shop.api.call(.get, "/api/admin/payouts", bearer: seller.accessToken).status == .forbidden)
                let queue = try await shop.api.call(.get, "/api/admin/payouts?status=requested", bearer: admin.accessToken)
                #expect((queue["items"] as? [[String: Any]])?.count == 1)
                let payoutID = try #require(payout["id"] as? String)
                let settled = try await shop.api.call(.post, "/api/admin/payouts/\(payoutID)/settle", json: ["status": "paid"], bearer: admin.accessToken)
                #expect(settled["status"] as? String == "paid")
                #expect(try await shop.api.call(.post, "/api/admin/payouts/\(payoutID)/settle", json: ["status": "failed"], bearer: admin.accessToken).code == "payout_settled")

                // Events for the realtime layer: created, paid, shipped, delivered; and low stock (3 → 1, threshold 1).
                let kinds = try await services.events.events(kinds: [.orderCreated, .orderPaid, .orderShipped, .orderDelivered, .productLowStock], logger: shop.market.logger).map(\.event.kind.rawValue)
                #expect(kinds == ["order.created", "order.paid", "product.low_stock", "order.shipped", "order.delivered"])
                // The seller was mailed about the order and the low stock; the buyer got a receipt.
                let subjects = try await services.db.query("SELECT subject FROM mail_outbox ORDER BY created_at, subject", logger: shop.market.logger).map { try $0.decode("subject", as: String.self) }
                #expect(subjects.contains { $0.hasPrefix("Low stock: Walnut side table") })
                #expect(subjects.contains { $0.hasPrefix("New order") } && subjects.contains { $0.hasPrefix("Your Agora order") })

                // Admin stats see the paid order.
                let stats = try await shop.api.call(.get, "/api/admin/stats", bearer: admin.accessToken)
                let totals = try #require(stats["totals"] as? [String: Any])
                #expect(totals["ordersPaid"] as? Int == 1 && ((totals["gmv"] as? [[String: Any]])?.first?["amount"] as? Int) == 236_000)
                #expect((stats["topProducts"] as? [[String: Any]])?.first?["unitsSold"] as? Int == 2)
                #expect(try await shop.api.call(.get, "/api/admin/stats", bearer: buyer.accessToken).status == .forbidden)
                #expect(try await shop.api.call(.get, "/api/admin/stats?from=2026-13-01", bearer: admin.accessToken).status == .badRequest)
            }
        }
    }
}
