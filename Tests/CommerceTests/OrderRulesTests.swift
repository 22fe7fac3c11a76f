import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct OrderRulesTests {
    @Test func digitalGoodsReachOnlyTheirBuyerAndRestEncrypted() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("keyshop")
                let buyer = try await shop.buyer("gamer")
                let stranger = try await shop.buyer("stranger")
                let product = try await shop.product(seller, ["title": "Starfield key", "type": "key", "price": ["amount": 59_900, "currency": "ZAR"]])

                // Digital stock is the inventory: set directly it is refused; uploads report duplicates.
                let direct = try await shop.api.call(.patch, "/api/products/\(product)", json: ["stock": 10], bearer: seller.accessToken)
                #expect(direct.status == .unprocessableContent && direct.code == "stock_from_inventory")
                let upload = try await shop.upload("SECRET-AAAA-0001\nSECRET-AAAA-0002\nSECRET-AAAA-0001\n\nSECRET-AAAA-0003", to: product, as: seller)
                #expect(upload.status == .created && upload["added"] as? Int == 3 && upload["duplicateLines"] as? [Int] == [3] && upload["available"] as? Int == 3)
                let again = try await shop.upload("key\nSECRET-AAAA-0003\nSECRET-AAAA-0004", to: product, as: seller, contentType: "text/csv")
                #expect(again["added"] as? Int == 1 && again["alreadyStocked"] as? [Int] == [2])
                #expect(try await shop.upload("X", to: product, as: stranger).status == .forbidden)
                let otherSeller = try await shop.market.seller("notmine")
                #expect(try await shop.upload("X", to: product, as: otherSeller).status == .notFound)
                let tooMany = try await shop.upload((1...10_001).map { "K\($0)" }.joined(separator: "\n"), to: product, as: seller)
                #expect(tooMany.status == .unprocessableContent && tooMany.code == "inventory_too_large")
                let counts = try await shop.api.call(.get, "/api/products/\(product)/inventory", bearer: seller.accessToken)
                #expect(counts["available"] as? Int == 4 && counts["sold"] as? Int == 0)

                // Encryption at rest: no plaintext anywhere in the table, not even as a fragment.
                let raw = try await services.db.query("SELECT sealed, fingerprint, key_id FROM inventory_items", logger: shop.market.logger)
                #expect(raw.count == 4)
                for row in raw {
                    let sealed = try row.decode("sealed", as: PGBytes.self).bytes
                    let fingerprint = try row.decode("fingerprint", as: PGBytes.self).bytes
                    #expect(!sealed.containsSubsequence(Array("SECRET".utf8)) && !fingerprint.containsSubsequence(Array("SECRET".utf8)))
                    #expect(sealed.count == 12 + "SECRET-AAAA-0001".utf8.count + 16)
                }
                let dump = try await services.db.query("SELECT t::text AS t FROM inventory_items t", logger: shop.market.logger).map { try $0.decode("t", as: String.self) }.joined()
                #expect(!dump.contains("SECRET") && !dump.lowercased().contains(Array("SECRET".utf8).map { String(format: "%02x", $0) }.joined()))

                // Buy two: no shipping address needed, no shipping charged, delivered on payment.
                #expect(try await shop.add(product, 2, as: buyer).status == .ok)
                let placed = try await shop.checkout(buyer, address: nil)
                try #require(placed.status == .created, "\(placed.raw)")
                #expect(placed.money("shipping") == 0 && placed["shippingAddress"] == nil)
                let orderID = try #require(placed["id"] as? String)
                try await shop.pay(orderID, as: buyer)
                let order = try await shop.api.call(.get, "/api/orders/\(orderID)", bearer: buyer.accessToken)
                let line = try #require(order.sellerOrders.first?["lines"] as? [[String: Any]]).first
                let items = try #require(line?["items"] as? [String])
                #expect(items.count == 2 && Set(items).isSubset(of: ["SECRET-AAAA-0001", "SECRET-AAAA-0002", "SECRET-AAAA-0003", "SECRET-AAAA-0004"]))
                #expect(order.sellerOrders.first?["status"] as? String == "delivered")

                // Nobody else sees them: not the seller, not another buyer, not an admin.
                let sellerView = try await shop.api.call(.get, "/api/seller/orders", bearer: seller.accessToken)
                #expect(!sellerView.raw.contains("SECRET"))
                #expect(try await shop.api.call(.get, "/api/orders/\(orderID)", bearer: stranger.accessToken).status == .notFound)
                #expect(try await shop.api.call(.get, "/api/orders/\(orderID)", bearer: seller.accessToken).status == .notFound)
                let admin = try await shop.market.admin("keyadmin")
                #expect(try await shop.api.call(.get, "/api/orders/\(orderID)", bearer: admin.accessToken).status == .notFound)
                // Sold items stay sealed; the receipt mail holding them is marked to be blanked once sent.
                #expect(try await shop.int("SELECT count(*) FROM inventory_items WHERE status = 'sold'") == 2)
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE sensitive AND body LIKE '%SECRET-AAAA%'") == 1)
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE NOT sensitive AND body LIKE '%SECRET%'") == 0)
                // The earnings of a delivered digital order are available at once.
                let balance = try await shop.api.call(.get, "/api/seller/balance", bearer: seller.accessToken)
                #expect(((balance["balances"] as? [[String: Any]])?.first?["available"] as? Int ?? 0) > 0)
            }
        }
    }

    @Test func expiryReleasesStockAndLatePaymentsAreHandled() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("expiry")
                let buyer = try await shop.buyer("slowpayer")
                let rival = try await shop.buyer("rival")
                let product = try await shop.product(seller, ["title": "Vintage lamp", "stock": 1])
                let order = try await shop.order(product, as: buyer)
                let late = try await shop.delivery(for: order, as: buyer)  // the provider took the money, but the webhook is slow
                #expect(try await shop.stock(product) == (1, 1))
                #expect(try await shop.add(product, as: rival).status == .conflict)

                // Time passes (the reservation is moved into the past); the sweeper releases it.
                try await services.db.execute("UPDATE orders SET reserved_until = now() - interval '1 second' WHERE id = \(UUID(uuidString: order)!)", logger: shop.market.logger)
                let sweep = try await CommerceSweeper(commerce: services.commerce, logger: shop.market.logger).sweep(logger: shop.market.logger)
                #expect(sweep.expired == 1)
                #expect(try await CommerceSweeper(commerce: services.commerce, logger: shop.market.logger).sweep(logger: shop.market.logger).expired == 0, "a second sweep finds nothing")
                #expect(try await shop.stock(product) == (1, 0))
                let cancelled = try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
                #expect(cancelled["status"] as? String == "cancelled" && cancelled["cancelReason"] as? String == "reservation_expired")

                // The late payment arrives while the lamp is still there: the order is fulfilled after all.
                #expect(try await shop.deliver(late)["outcome"] as? String == "fulfilled_late")
                #expect(try await shop.stock(product) == (0, 0))

                // Another late payment, for stock someone else has bought meanwhile, is refunded.
                let product2 = try await shop.product(seller, ["title": "Brass bell", "stock": 1])
                let order2 = try await shop.order(product2, as: buyer)
                let late2 = try await shop.delivery(for: order2, as: buyer)
                try await services.db.execute("UPDATE orders SET reserved_until = now() - interval '1 second' WHERE id = \(UUID(uuidString: order2)!)", logger: shop.market.logger)
                _ = try await CommerceSweeper(commerce: services.commerce, logger: shop.market.logger).sweep(logger: shop.market.logger)
                let rivalOrder = try await shop.order(product2, as: rival)
                try await shop.pay(rivalOrder, as: rival)
                #expect(try await shop.deliver(late2)["outcome"] as? String == "refunded_late")
                let refunded = try await shop.api.call(.get, "/api/orders/\(order2)", bearer: buyer.accessToken)
                #expect(refunded["status"] as? String == "refunded" && refunded.money("refunded") == refunded.money("total"))
                #expect(try await shop.stock(product2) == (0, 0))

                // A declined payment is retryable, as at Stripe Checkout: the order stays pending and keeps its stock
                // (PaymentOutcomeTests); only the session's or the reservation's expiry releases it.
                let product3 = try await shop.product(seller, ["title": "Clay pot", "stock": 2])
                let order3 = try await shop.order(product3, 2, as: buyer)
                let failed = try await shop.pay(order3, as: buyer, outcome: "failed")
                #expect(failed["orderStatus"] as? String == "pending_payment")
                #expect(try await shop.stock(product3) == (2, 2))
            }
        }
    }

    @Test func buyerCancelsBeforeShippingAndIsRefunded() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let sellerA = try await shop.market.seller("cancela")
                let sellerB = try await shop.market.seller("cancelb")
                let buyer = try await shop.buyer("changemind")
                let chair = try await shop.product(sellerA, ["title": "Oak chair", "stock": 2, "price": ["amount": 50_000, "currency": "ZAR"]])
                let rug = try await shop.product(sellerB, ["title": "Wool rug", "stock": 2, "price": ["amount": 80_000, "currency": "ZAR"]])
                #expect(try await shop.add(chair, as: buyer).status == .ok)
                #expect(try await shop.add(rug, as: buyer).status == .ok)
                let placed = try await shop.checkout(buyer)
                let orderID = try #require(placed["id"] as? String)
                #expect(placed.sellerOrders.count == 2)
                try await shop.pay(orderID, as: buyer)

                // Seller B ships; the buyer cancels the rest: only seller A's part is refunded and restocked.
                let rugOrder = try #require(placed.sellerOrders.first { (($0["lines"] as? [[String: Any]])?.first?["title"] as? String) == "Wool rug" }?["id"] as? String)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(rugOrder)/ship", json: ["carrier": "Aramex", "trackingNumber": "AX9"], bearer: sellerB.accessToken).status == .ok)
                let stranger = try await shop.buyer("nosy")
                #expect(try await shop.api.call(.post, "/api/orders/\(orderID)/cancel", bearer: stranger.accessToken).status == .notFound)
                #expect(try await shop.api.call(.post, "/api/orders/\(orderID)/confirm", bearer: stranger.accessToken).status == .notFound)
                let cancelled = try await shop.api.call(.post, "/api/orders/\(orderID)/cancel", bearer: buyer.accessToken)
                #expect(cancelled.status == .ok, "\(cancelled.raw)")
                let statuses = cancelled.sellerOrders.map { $0["status"] as? String ?? "" }.sorted()
                #expect(statuses == ["cancelled", "shipped"])
                #expect(cancelled["status"] as? String == "paid")
                #expect(cancelled.money("refunded") == 50_000 + 6_000)
                #expect(try await shop.stock(chair) == (2, 0))
                #expect(try await shop.stock(rug) == (1, 0))
                let balanceA = try await shop.api.call(.get, "/api/seller/balance", bearer: sellerA.accessToken)
                #expect((balanceA["balances"] as? [[String: Any]])?.first?["pending"] as? Int == 0)
                #expect(try await shop.api.call(.post, "/api/orders/\(orderID)/cancel", bearer: buyer.accessToken).status == .conflict)

                // Seller A cannot see or move seller B's order; buyers cannot reach seller routes.
                #expect(try await shop.api.call(.get, "/api/seller/orders/\(rugOrder)", bearer: sellerA.accessToken).status == .notFound)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(rugOrder)/deliver", bearer: sellerA.accessToken).status == .notFound)
                #expect(try await shop.api.call(.get, "/api/seller/orders", bearer: buyer.accessToken).status == .forbidden)
                #expect(try await shop.api.call(.get, "/api/orders").status == .unauthorized)
                #expect(try await shop.api.call(.get, "/api/orders/\(orderID)").status == .unauthorized)
                let listA = try await shop.api.call(.get, "/api/seller/orders", bearer: sellerA.accessToken)
                #expect((listA["items"] as? [[String: Any]])?.count == 1)
                let mine = try await shop.api.call(.get, "/api/orders", bearer: buyer.accessToken)
                #expect((mine["items"] as? [[String: Any]])?.count == 1)
                #expect(((try await shop.api.call(.get, "/api/orders", bearer: stranger.accessToken))["items"] as? [[String: Any]])?.isEmpty == true)

                // Auto-complete: a shipped order nobody confirms is delivered after the delay.
                try await services.db.execute("UPDATE seller_orders SET shipped_at = now() - interval '15 days' WHERE id = \(UUID(uuidString: rugOrder)!)", logger: shop.market.logger)
                #expect(try await CommerceSweeper(commerce: services.commerce, logger: shop.market.logger).sweep(logger: shop.market.logger).autoCompleted == 1)
                let balanceB = try await shop.api.call(.get, "/api/seller/balance", bearer: sellerB.accessToken)
                #expect(((balanceB["balances"] as? [[String: Any]])?.first?["available"] as? Int ?? 0) > 0)
            }
        }
    }

    @Test func sumsReconcileForEveryOrderAndCurrenciesDoNotMix() async throws {
        for inclusive in ["true", "false"] {
            try await TestApp.withApplication(Shop.overrides.merging(["AGORA_PRICES_INCLUDE_VAT": inclusive]) { _, new in new }) { app, services in
                try await app.test(.router) { client in
                    let shop = Shop(market: Market(api: API(client: client), services: services))
                    let sellers = [try await shop.market.seller("recona"), try await shop.market.seller("reconb"), try await shop.market.seller("reconc")]
                    let buyer = try await shop.buyer("reconbuyer")
                    var products: [String] = []
                    for (index, seller) in sellers.enumerated() {
                        products.append(try await shop.product(seller, ["title": "Thing \(index) a", "stock": 50, "price": ["amount": 999 + index * 7, "currency": "ZAR"]]))
                        products.append(try await shop.product(seller, ["title": "Code \(index)", "type": "key", "price": ["amount": 333 + index, "currency": "ZAR"]],
                                                               items: (1...10).map { "K-\(index)-\($0)" }))
                    }
                    for round in 0..<4 {
                        for (index, product) in products.enumerated() where (index + round) % 3 != 0 {
                            #expect(try await shop.add(product, 1 + (index + round) % 3, as: buyer).status == .ok)
                        }
                        let placed = try await shop.checkout(buyer)
                        try #require(placed.status == .created, "\(placed.raw)")
                        if round % 2 == 0 { try await shop.pay(try #require(placed["id"] as? String), as: buyer) }
                    }
                    let broken = try await shop.int(
                        """
                        SELECT count(*) FROM orders o JOIN LATERAL (
                            SELECT sum(subtotal_minor) AS sub, sum(vat_minor) AS vat, sum(shipping_minor) AS ship, sum(platform_fee_minor) AS fee,
                                   sum(seller_earnings_minor) AS earn, sum(total_minor) AS total
                            FROM seller_orders WHERE order_id = o.id) s ON TRUE
                        WHERE NOT (o.total_minor = o.vat_minor + o.shipping_minor + s.sub AND o.subtotal_minor = s.sub AND o.vat_minor = s.vat
                                   AND o.shipping_minor = s.ship AND o.platform_fee_minor + s.earn = s.sub AND o.platform_fee_minor = s.fee
                                   AND o.total_minor = s.total)
                        """
                    )
                    #expect(try await shop.int("SELECT count(*) FROM orders") == 4)
                    #expect(broken == 0)
                    // Line totals add up to each seller order's goods, whichever way VAT is entered.
                    let lines = try await shop.int(
                        """
                        SELECT count(*) FROM seller_orders so JOIN orders o ON o.id = so.order_id
                        WHERE (SELECT sum(line_total_minor) FROM order_lines WHERE seller_order_id = so.id)
                              <> CASE WHEN o.prices_include_vat THEN so.subtotal_minor + so.vat_minor ELSE so.subtotal_minor END
                        """
                    )
                    #expect(lines == 0)
                    // The ledger holds exactly the paid seller orders' earnings plus shipping.
                    let ledger = try await shop.int("SELECT coalesce(sum(amount_minor), 0) FROM seller_ledger")
                    let owed = try await shop.int("SELECT coalesce(sum(seller_earnings_minor + shipping_minor), 0) FROM seller_orders WHERE status IN ('paid', 'delivered')")
                    #expect(ledger == owed && owed > 0)
                    try await SellerAdminRefundTests.reconcile(shop)

                    // One currency per order.
                    let usd = try await shop.product(sellers[0], ["title": "Import", "stock": 3, "price": ["amount": 1000, "currency": "USD"]])
                    #expect(try await shop.add(products[0], as: buyer).status == .ok)
                    #expect(try await shop.add(usd, as: buyer).status == .ok)
                    let mixed = try await shop.checkout(buyer)
                    #expect(mixed.status == .unprocessableContent && mixed.code == "mixed_currencies")
                    #expect(try await shop.int("SELECT count(*) FROM orders") == 4)
                }
            }
        }
    }
}
