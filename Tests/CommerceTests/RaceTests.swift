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

/// The races the money path must win every time.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct RaceTests {
    /// Enough connections that the checkouts really contend in PostgreSQL, not in the pool.
    static let overrides = Shop.overrides.merging(["AGORA_DB_POOL_SIZE": "24", "AGORA_DB_CHECKOUT_TIMEOUT_MS": "120000"]) { _, new in new }

    @Test func twoHundredBuyersForTheLastTenUnits() async throws {
        try await TestApp.withApplication(Self.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("lastunits")
                let product = try await shop.product(seller, ["title": "Limited print", "stock": 10])
                let logger = shop.market.logger
                // 200 buyers, made in SQL (registering 200 through the API would test bcrypt, not stock), each with
                // one unit in the cart.
                let buyers = try await services.db.query(
                    """
                    INSERT INTO accounts (email, username, display_name, password_hash)
                    SELECT 'racer' || n || '@example.com', 'racer' || n, 'Racer ' || n, 'x' FROM generate_series(1, 200) n
                    RETURNING id
                    """,
                    logger: logger
                ).map { try $0.decode("id", as: UUID.self) }
                let productID = try #require(UUID(uuidString: product))
                for buyer in buyers {
                    _ = try await services.commerce.cart.setCartItem(productID, quantity: 1, adding: true, account: buyer, logger: logger)
                }
                let outcomes = await withTaskGroup(of: String.self) { group in
                    for buyer in buyers {
                        group.addTask {
                            do {
                                let placed = try await services.commerce.checkout.checkout(buyer: buyer, idempotencyKey: nil, shippingAddress: Self.address, logger: logger)
                                return placed.order.id.uuidString
                            } catch let error as AgoraError {
                                return error.code
                            } catch {
                                return "unexpected: \(error)"
                            }
                        }
                    }
                    return await group.reduce(into: [String]()) { $0.append($1) }
                }
                let orders = outcomes.filter { UUID(uuidString: $0) != nil }
                #expect(orders.count == 10)
                #expect(outcomes.filter { $0 == "insufficient_stock" }.count == 190, "\(Set(outcomes.filter { UUID(uuidString: $0) == nil }))")
                #expect(try await shop.stock(product) == (10, 10))

                // Pay all ten at once: exactly ten sales, stock 0, never below.
                let deliveries = try await withThrowingTaskGroup(of: (payload: [UInt8], signature: String).self) { group in
                    for order in orders {
                        group.addTask {
                            let session = try await services.db.query("SELECT id FROM simulated_payments WHERE order_id = \(UUID(uuidString: order)!)", logger: logger)[0].decode("id", as: String.self)
                            return try await services.simulatedPayments.complete(session, paid: true, logger: logger)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let results = try await withThrowingTaskGroup(of: String.self) { group in
                    for delivery in deliveries { group.addTask { try await shop.deliver(delivery)["outcome"] as? String ?? "?" } }
                    return try await group.reduce(into: [String]()) { $0.append($1) }
                }
                #expect(results == Array(repeating: "fulfilled", count: 10))
                #expect(try await shop.stock(product) == (0, 0))
                #expect(try await shop.int("SELECT count(*) FROM orders WHERE status = 'paid'") == 10)
                #expect(try await shop.int("SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE reservation = 'sold'") == 10)
            }
        }
    }

    @Test func fiveConcurrentDeliveriesOfOneWebhookFulfilOnce() async throws {
        try await TestApp.withApplication(Self.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("webhooks")
                let buyer = try await shop.buyer("webbuyer")
                let product = try await shop.product(seller, ["title": "Ceramic mug", "stock": 5])
                let order = try await shop.order(product, 2, as: buyer)
                let delivery = try await shop.delivery(for: order, as: buyer)
                let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                    for _ in 0..<5 {
                        group.addTask {
                            let answer = try await shop.deliver(delivery)
                            return (answer.status, answer["outcome"] as? String)
                        }
                    }
                    return try await group.reduce(into: [(HTTPResponse.Status, String?)]()) { $0.append($1) }
                }
                #expect(answers.allSatisfy { $0.0 == .ok })
                #expect(answers.compactMap(\.1).sorted() == ["duplicate", "duplicate", "duplicate", "duplicate", "fulfilled"])
                // A replay later changes nothing either.
                #expect(try await shop.deliver(delivery)["outcome"] as? String == "duplicate")
                #expect(try await shop.stock(product) == (3, 0))
                #expect(try await shop.int("SELECT count(*) FROM order_history WHERE to_status = 'paid' AND seller_order_id IS NULL") == 1)
                #expect(try await shop.int("SELECT count(*) FROM seller_ledger WHERE entry = 'earning'") == 1)
                #expect(try await shop.int("SELECT count(*) FROM domain_events WHERE type = 'order.paid'") == 1)
                #expect(try await shop.int("SELECT count(*) FROM payment_events") == 1)

                // A forged or stale delivery is a 400 and changes nothing.
                var forged = delivery
                forged.payload = Array(String(decoding: delivery.payload, as: UTF8.self).replacingOccurrences(of: "evt_sim_", with: "evt_x_").utf8)
                let refused = try await shop.deliver(forged)
                #expect(refused.status == .badRequest && refused.code == "invalid_signature")
                #expect(try await shop.int("SELECT count(*) FROM payment_events") == 1)
            }
        }
    }

    @Test func twoConcurrentCheckoutsWithOneIdempotencyKeyMakeOneOrder() async throws {
        try await TestApp.withApplication(Self.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("idemseller")
                let buyer = try await shop.buyer("idembuyer")
                let product = try await shop.product(seller, ["title": "Linen apron", "stock": 4])
                #expect(try await shop.add(product, 2, as: buyer).status == .ok)
                let both = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, String).self) { group in
                    for _ in 0..<2 {
                        group.addTask {
                            let answer = try await shop.checkout(buyer, key: "checkout-7f3a")
                            return (answer.status, answer["id"] as? String, answer.raw)
                        }
                    }
                    return try await group.reduce(into: [(HTTPResponse.Status, String?, String)]()) { $0.append($1) }
                }
                #expect(Set(both.map(\.0)) == [.created, .ok], "\(both.map(\.2))")
                #expect(both[0].1 != nil && both[0].1 == both[1].1)
                #expect(try await shop.int("SELECT count(*) FROM orders") == 1)
                #expect(try await shop.stock(product) == (4, 2))
                // A retry later returns the same order too, with its payment link.
                let retry = try await shop.checkout(buyer, key: "checkout-7f3a")
                #expect(retry.status == .ok && retry["id"] as? String == both[0].1 && (retry["payment"] as? [String: Any])?["url"] != nil)
                // Another key with an empty cart is a new checkout, refused.
                #expect(try await shop.checkout(buyer, key: "checkout-other").code == "cart_empty")
            }
        }
    }

    static let address = ShippingAddress(name: "Racer", line1: "1 Main Road", line2: nil, city: "Durban", region: "KwaZulu-Natal", postalCode: "4001", country: "ZA", phone: nil)
}
