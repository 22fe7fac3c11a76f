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

/// The buyer's cancel of a paid order: what is refunded, and how the provider is called.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct CancelRefundTests {
    /// One seller order with a headset (physical) and a game key (digital, delivered at payment): the cancel
    /// refunds the headset, its shipping and its VAT; the key stays sold and visible, and its earnings stay the seller's.
    @Test(arguments: ["true", "false"])
    func aCancelRefundsOnlyWhatWasNotDelivered(pricesIncludeVAT: String) async throws {
        try await TestApp.withApplication(Shop.overrides.merging(["AGORA_PRICES_INCLUDE_VAT": pricesIncludeVAT]) { _, new in new }) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("mixseller")
                let buyer = try await shop.buyer("mixbuyer")
                let headset = try await shop.product(seller, ["title": "Headset", "stock": 3, "price": ["amount": 50_000, "currency": "ZAR"]])
                let game = try await shop.product(seller, ["title": "Game key", "type": "key", "price": ["amount": 20_000, "currency": "ZAR"]],
                                                  items: ["KEY-MIX-0001"])
                #expect(try await shop.add(headset, as: buyer).status == .ok)
                #expect(try await shop.add(game, as: buyer).status == .ok)
                let placed = try await shop.checkout(buyer)
                try #require(placed.status == .created, "\(placed.raw)")
                let orderID = try #require(placed["id"] as? String)
                try await shop.pay(orderID, as: buyer)
                let paid = try await shop.api.call(.get, "/api/orders/\(orderID)", bearer: buyer.accessToken)
                #expect(paid.sellerOrders.count == 1 && paid.sellerOrders.first?["status"] as? String == "paid")
                #expect(paid.raw.contains("KEY-MIX-0001"), "the key is revealed at payment")
                let total = try #require(paid.money("total"))

                // What the buyer keeps is priced as checkout prices a digital-only seller order: no shipping, its own VAT.
                let pricing = Pricing(vatRateBP: 1500, pricesIncludeVAT: pricesIncludeVAT == "true", shippingFlat: 6000, platformFeeBP: 1000)
                let kept = pricing.totals(goods: 20_000, hasPhysical: false)
                #expect(total == pricing.totals(goods: 70_000, hasPhysical: true).total)
                let refund = Int(total - Int(kept.total))
                #expect(refund == (pricesIncludeVAT == "true" ? 50_000 + 6_000 : 86_500 - 23_000))

                let cancelled = try await shop.api.call(.post, "/api/orders/\(orderID)/cancel", bearer: buyer.accessToken)
                try #require(cancelled.status == .ok, "\(cancelled.raw)")
                #expect(cancelled["status"] as? String == "paid")
                #expect(cancelled.money("refunded") == refund)
                let sellerOrder = try #require(cancelled.sellerOrders.first)
                #expect(sellerOrder["status"] as? String == "delivered")
                #expect((sellerOrder["refunded"] as? [String: Any])?["amount"] as? Int == refund)
                let refunds = try #require(cancelled["refunds"] as? [[String: Any]])
                #expect(refunds.count == 1 && refunds.first?["status"] as? String == "succeeded" && refunds.first?["reason"] as? String == "buyer_cancel")
                #expect((refunds.first?["amount"] as? [String: Any])?["amount"] as? Int == refund)
                // The key stays sold and visible; the headset is back in stock.
                #expect(cancelled.raw.contains("KEY-MIX-0001"))
                #expect(try await shop.int("SELECT count(*) FROM inventory_items WHERE status = 'sold'") == 1)
                #expect(try await shop.stock(headset) == (3, 0))
                #expect(try await shop.int("SELECT count(*) FROM order_lines WHERE product_type = 'physical' AND reservation = 'restocked'") == 1)
                #expect(try await shop.int("SELECT count(*) FROM order_lines WHERE product_type = 'key' AND reservation = 'sold'") == 1)

                // The ledger follows: the seller keeps the key's earnings, available now (it is delivered); nothing pending.
                let balance = try await shop.api.call(.get, "/api/seller/balance", bearer: seller.accessToken)
                let money = try #require((balance["balances"] as? [[String: Any]])?.first)
                #expect(money["pending"] as? Int == 0)
                #expect(money["available"] as? Int == Int(kept.sellerEarnings))
                #expect(try await shop.int("SELECT coalesce(sum(amount_minor), 0)::int FROM seller_ledger") == Int(kept.sellerEarnings))
                #expect(try await shop.int("SELECT count(*) FROM seller_ledger WHERE entry = 'partial_reversal'") == 1)

                // Nothing refundable is left: a second cancel says so; so does a cancel of a digital-only order.
                let again = try await shop.api.call(.post, "/api/orders/\(orderID)/cancel", bearer: buyer.accessToken)
                #expect(again.status == .conflict && again.code == "nothing_refundable", "\(again.raw)")
                let second = try await shop.product(seller, ["title": "Other key", "type": "key", "price": ["amount": 9_000, "currency": "ZAR"]],
                                                    items: ["KEY-MIX-0002"])
                let digitalOnly = try await shop.order(second, as: buyer)
                try await shop.pay(digitalOnly, as: buyer)
                let refused = try await shop.api.call(.post, "/api/orders/\(digitalOnly)/cancel", bearer: buyer.accessToken)
                #expect(refused.status == .conflict && refused.code == "nothing_refundable", "\(refused.raw)")
                let kept2 = try await shop.api.call(.get, "/api/orders/\(digitalOnly)", bearer: buyer.accessToken)
                #expect(kept2["status"] as? String == "paid" && kept2.money("refunded") == 0 && kept2.raw.contains("KEY-MIX-0002"))
                try await SellerAdminRefundTests.reconcile(shop)
            }
        }
    }

    /// While the provider takes its time over a refund, no row of the order, its seller orders or its products is
    /// locked: the cancel committed before the call.
    @Test func aRefundCallHoldsNoRowLocks() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("slowrefundseller")
                let buyer = try await shop.buyer("slowrefundbuyer")
                let lamp = try await shop.product(seller, ["title": "Desk lamp", "stock": 1, "price": ["amount": 30_000, "currency": "ZAR"]])
                let orderID = try await shop.order(lamp, as: buyer)
                try await shop.pay(orderID, as: buyer)
                let order = try #require(UUID(uuidString: orderID))
                let product = try #require(UUID(uuidString: lamp))

                let gate = RefundGate()
                let slow = services.commerce(with: [RefundDouble(base: services.simulatedPayments) { _ in
                    await gate.pass()
                    return RefundResult(id: "re_slow", status: "succeeded")
                }])
                let logger = shop.market.logger
                let cancelling = Task { try await slow.checkout.cancel(order, buyer: try #require(UUID(uuidString: buyer.accountID)), sellerOrder: nil, logger: logger) }
                do {
                    try await gate.waitUntilEntered()
                    // The provider is mid-call. Another transaction locks the order and its seller orders without
                    // waiting, and changes the product's stock.
                    try await services.db.withTransaction(logger: logger) { tx in
                        try await tx.execute("SET LOCAL lock_timeout = '2s'")
                        _ = try await tx.query("SELECT id FROM orders WHERE id = \(order) FOR UPDATE NOWAIT")
                        _ = try await tx.query("SELECT id FROM seller_orders WHERE order_id = \(order) FOR UPDATE NOWAIT")
                        _ = try await tx.query("SELECT id FROM products WHERE id = \(product) FOR UPDATE NOWAIT")
                        try await tx.execute("UPDATE products SET stock = stock + 5 WHERE id = \(product)")
                    }
                    // The cancel and the intent to refund are already committed.
                    #expect(try await shop.int("SELECT count(*) FROM refunds WHERE status = 'pending' AND order_id = \(order)") == 1)
                    #expect(try await shop.int("SELECT count(*) FROM seller_orders WHERE status = 'cancelled' AND order_id = \(order)") == 1)
                } catch {
                    gate.release()
                    _ = try? await cancelling.value
                    throw error
                }
                gate.release()
                let view = try await cancelling.value
                #expect(view.status == .refunded && view.refunded.amount == 30_000 + 6_000)
                #expect(view.refunds?.map(\.status) == ["succeeded"])
                #expect(try await shop.stock(lamp) == (1 + 5, 0))
                #expect(try await shop.int("SELECT count(*) FROM seller_orders WHERE refund_reference = 're_slow'") == 1)
            }
        }
    }

    /// A refund whose call fails stays pending; the sweeper calls again with the same idempotency key, and after the
    /// last attempt marks it failed and alerts the admins.
    @Test func aFailedRefundCallIsRetriedWithTheSameKeyThenAlerted() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("retryseller")
                let buyer = try await shop.buyer("retrybuyer")
                let chair = try await shop.product(seller, ["title": "Chair", "stock": 2, "price": ["amount": 40_000, "currency": "ZAR"]])
                let recorder = RefundRecorder()
                let flaky = services.commerce(with: [RefundDouble(base: services.simulatedPayments) { try recorder.refund($0) }])
                let logger = shop.market.logger
                let buyerID = try #require(UUID(uuidString: buyer.accountID))

                let first = try await shop.order(chair, as: buyer)
                try await shop.pay(first, as: buyer)
                let view = try await flaky.checkout.cancel(try #require(UUID(uuidString: first)), buyer: buyerID, sellerOrder: nil, logger: logger)
                #expect(view.status == .refunded && view.refunds?.map(\.status) == ["pending"], "the cancel stands; the money is on its way")
                #expect(try await CommerceSweeper(commerce: flaky, logger: logger).sweep(logger: logger).refundsAttempted == 0, "not due yet")
                try await services.db.execute("UPDATE refunds SET next_attempt_at = now() - interval '1 second'", logger: logger)
                recorder.failing.withLock { $0 = false }
                #expect(try await CommerceSweeper(commerce: flaky, logger: logger).sweep(logger: logger).refundsAttempted == 1)
                let keys = recorder.requests.withLock { $0.map(\.idempotencyKey) }
                #expect(keys.count == 2 && Set(keys).count == 1 && keys[0].hasPrefix("cancel-"))
                let settled = try await shop.api.call(.get, "/api/orders/\(first)", bearer: buyer.accessToken)
                #expect((settled["refunds"] as? [[String: Any]])?.first?["status"] as? String == "succeeded")
                #expect(try await CommerceSweeper(commerce: flaky, logger: logger).sweep(logger: logger).refundsAttempted == 0, "a settled refund is never called again")

                // A refund the provider keeps refusing: after the last attempt it is failed, and an admin is told.
                let admin = try await shop.market.admin("refundadmin")
                recorder.failing.withLock { $0 = true }
                let second = try await shop.order(chair, as: buyer)
                try await shop.pay(second, as: buyer)
                _ = try await flaky.checkout.cancel(try #require(UUID(uuidString: second)), buyer: buyerID, sellerOrder: nil, logger: logger)
                try await services.db.execute(
                    "UPDATE refunds SET attempts = 7, next_attempt_at = now() - interval '1 second' WHERE status = 'pending'", logger: logger
                )
                #expect(try await CommerceSweeper(commerce: flaky, logger: logger).sweep(logger: logger).refundsAttempted == 1)
                let failed = try await shop.api.call(.get, "/api/orders/\(second)", bearer: buyer.accessToken)
                #expect((failed["refunds"] as? [[String: Any]])?.first?["status"] as? String == "failed")
                let alerts = try await shop.adminAlerts(of: admin)
                let data = try #require(alerts.first?["data"] as? [String: Any], "no alert")
                #expect(data["alert"] as? String == "refund_failed" && (data["orderId"] as? String)?.lowercased() == second.lowercased())
            }
        }
    }
}
