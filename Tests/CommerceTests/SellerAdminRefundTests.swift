import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Refunds made by sellers and administrators, and the administrator's order views and status override: who may,
/// how much, what the ledger and stock do, and that the sums still reconcile.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SellerAdminRefundTests {
    /// A paid order of `quantity` × a physical product, and its one seller order's id.
    func paidOrder(_ shop: Shop, seller: Grant, buyer: Grant, price: Int = 10_000, quantity: Int = 2, stock: Int = 5) async throws
        -> (order: String, sellerOrder: String, product: String, total: Int)
    {
        let product = try await shop.product(seller, ["title": "Lamp", "stock": stock, "price": ["amount": price, "currency": "ZAR"]])
        let order = try await shop.order(product, quantity, as: buyer)
        try await shop.pay(order, as: buyer)
        let view = try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
        let part = try #require(view.sellerOrders.first)
        return (order, try #require(part["id"] as? String), product, try #require(view.money("total")))
    }

    /// The net the ledger holds for a seller order.
    func held(_ shop: Shop, _ sellerOrder: String) async throws -> Int {
        try await shop.int("SELECT coalesce(sum(amount_minor), 0)::bigint FROM seller_ledger WHERE seller_order_id = \(UUID(uuidString: sellerOrder)!)")
    }

    func creditOf(_ shop: Shop, _ sellerOrder: String) async throws -> Int {
        try await shop.int("SELECT seller_earnings_minor + shipping_minor FROM seller_orders WHERE id = \(UUID(uuidString: sellerOrder)!)")
    }

    /// The money rules over every order in the database, refunds included.
    static func reconcile(_ shop: Shop) async throws {
        // What went back never exceeds what was paid, per seller order and per order, and the sums agree with the
        // refund rows (failed ones gave nothing back).
        #expect(try await shop.int("SELECT count(*) FROM seller_orders WHERE refunded_minor < 0 OR refunded_minor > total_minor") == 0)
        #expect(try await shop.int(
            """
            SELECT count(*) FROM orders o
            WHERE o.refunded_minor <> (SELECT coalesce(sum(refunded_minor), 0) FROM seller_orders WHERE order_id = o.id)
               OR o.refunded_minor <> (SELECT coalesce(sum(amount_minor), 0) FROM refunds WHERE order_id = o.id AND status <> 'failed')
               OR o.refunded_minor > o.total_minor
            """
        ) == 0)
        // The buyer's total is VAT + shipping + the seller subtotals; fees + earnings are the subtotals.
        #expect(try await shop.int(
            """
            SELECT count(*) FROM orders o JOIN LATERAL (
                SELECT sum(subtotal_minor) AS sub, sum(vat_minor) AS vat, sum(shipping_minor) AS ship, sum(platform_fee_minor) AS fee,
                       sum(seller_earnings_minor) AS earn
                FROM seller_orders WHERE order_id = o.id) s ON TRUE
            WHERE NOT (o.total_minor = s.vat + s.ship + s.sub AND o.platform_fee_minor + s.earn = s.sub)
            """
        ) == 0)
        // The ledger holds, per paid seller order, between nothing and its credit: all of it when nothing was
        // refunded, nothing when everything was.
        #expect(try await shop.int(
            """
            SELECT count(*) FROM seller_orders so
            JOIN LATERAL (SELECT coalesce(sum(amount_minor), 0) AS net FROM seller_ledger WHERE seller_order_id = so.id) l ON TRUE
            WHERE so.status <> 'pending_payment' AND NOT (
                l.net BETWEEN 0 AND so.seller_earnings_minor + so.shipping_minor
                AND (so.refunded_minor <> 0 OR so.status = 'cancelled' OR l.net = so.seller_earnings_minor + so.shipping_minor)
                AND (so.refunded_minor <> so.total_minor OR l.net = 0))
            """
        ) == 0)
    }

    @Test func aSellerRefundsPartThenCancelsAndNeverGivesBackMoreThanWasPaid() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("refseller")
                let other = try await shop.market.seller("refother")
                let buyer = try await shop.buyer("refbuyer")
                let paid = try await paidOrder(shop, seller: seller, buyer: buyer)
                #expect(try await shop.stock(paid.product) == (3, 0))
                let credit = try await creditOf(shop, paid.sellerOrder)
                let path = "/api/seller/orders/\(paid.sellerOrder)"

                // Access: a buyer is not a seller, another seller sees no such order, nobody anonymous.
                #expect(try await shop.api.call(.post, "\(path)/refunds", json: ["amount": 100, "reason": "x"], bearer: buyer.accessToken).status == .forbidden)
                #expect(try await shop.api.call(.post, "\(path)/refunds", json: ["amount": 100, "reason": "x"], bearer: other.accessToken).status == .notFound)
                #expect(try await shop.api.call(.post, "\(path)/cancel", bearer: other.accessToken).status == .notFound)
                #expect(try await shop.api.call(.post, "\(path)/refunds", json: ["amount": 100, "reason": "x"]).status == .unauthorized)
                // Bad input: nothing changes.
                for body: [String: Any?] in [
                    ["amount": 0, "reason": "x"], ["amount": -5, "reason": "x"], ["amount": paid.total + 1, "reason": "x"], ["amount": 100],
                    ["amount": 100, "reason": "  "], ["amount": 100, "reason": String(repeating: "é", count: 501)], ["amount": 100, "reason": "a\u{0}b"],
                ] {
                    let refused = try await shop.api.call(.post, "\(path)/refunds", json: body, bearer: seller.accessToken)
                    #expect(refused.status == .unprocessableContent, "\(body): \(refused.raw)")
                }
                let over = try await shop.api.call(.post, "\(path)/refunds", json: ["amount": paid.total + 1, "reason": "x"], bearer: seller.accessToken)
                #expect(over.code == "refund_exceeds_paid")
                #expect(try await shop.api.call(.post, "\(path)/refunds", json: ["amount": 1.5, "reason": "x"], bearer: seller.accessToken).status == .badRequest)
                #expect(try await shop.int("SELECT count(*) FROM refunds") == 0)
                #expect(try await held(shop, paid.sellerOrder) == credit)

                // A partial refund: the buyer sees it (and its reason), the seller's share leaves the ledger.
                let first = try await shop.api.call(.post, "\(path)/refunds", json: ["amount": 3_000, "reason": "Scratched base"], bearer: seller.accessToken)
                try #require(first.status == .created, "\(first.raw)")
                #expect(first["status"] as? String == "paid" && first.money("refunded") == 3_000)
                let share = credit * 3_000 / paid.total
                #expect(try await held(shop, paid.sellerOrder) == credit - share)
                let seen = try await shop.api.call(.get, "/api/orders/\(paid.order)", bearer: buyer.accessToken)
                #expect(seen.money("refunded") == 3_000 && seen["status"] as? String == "paid")
                let refunds = try #require(seen["refunds"] as? [[String: Any]])
                #expect(refunds.count == 1 && refunds.first?["reason"] as? String == "seller_refund" && refunds.first?["status"] as? String == "succeeded")
                #expect(refunds.first?["note"] as? String == "Scratched base")
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE subject = 'Refund of 30.00 ZAR' AND body LIKE '%Scratched base%'") == 1)
                #expect(try await shop.int("SELECT count(*) FROM domain_events WHERE type = 'order.refunded' AND payload->>'amount' = '3000'") == 1)

                // A retried request (same Idempotency-Key) refunds once.
                let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "retry-1"]
                for _ in 0..<2 {
                    let retried = try await shop.api.call(.post, "\(path)/refunds", json: ["amount": 1_000, "reason": "Late"], bearer: seller.accessToken, headers: key)
                    #expect(retried.status == .created && retried.money("refunded") == 4_000, "\(retried.raw)")
                }
                #expect(try await shop.int("SELECT count(*) FROM refunds") == 2)

                // The cancel gives back the rest, puts the stock back and leaves the seller nothing of this order.
                let cancelled = try await shop.api.call(.post, "\(path)/cancel", json: ["reason": "Out of lamps"], bearer: seller.accessToken)
                try #require(cancelled.status == .ok, "\(cancelled.raw)")
                #expect(cancelled["status"] as? String == "cancelled" && cancelled.money("refunded") == paid.total)
                #expect(try await shop.stock(paid.product) == (5, 0))
                #expect(try await held(shop, paid.sellerOrder) == 0)
                let after = try await shop.api.call(.get, "/api/orders/\(paid.order)", bearer: buyer.accessToken)
                #expect(after["status"] as? String == "refunded" && after.money("refunded") == paid.total)
                let reasons = (after["refunds"] as? [[String: Any]])?.compactMap { $0["reason"] as? String }
                #expect(reasons == ["seller_refund", "seller_refund", "seller_cancel"])
                #expect((after["refunds"] as? [[String: Any]])?.last.flatMap { ($0["amount"] as? [String: Any])?["amount"] as? Int } == paid.total - 4_000)

                // Nothing is left to give.
                #expect(try await shop.api.call(.post, "\(path)/cancel", bearer: seller.accessToken).status == .conflict)
                #expect(try await shop.api.call(.post, "\(path)/refunds", json: ["amount": 1, "reason": "x"], bearer: seller.accessToken).status == .conflict)

                // A shipped order can no longer be cancelled by its seller, but it can be refunded in part.
                let shipped = try await paidOrder(shop, seller: seller, buyer: buyer, stock: 4)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(shipped.sellerOrder)/ship", json: ["carrier": "PostNet", "trackingNumber": "PN1"],
                                                bearer: seller.accessToken).status == .ok)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(shipped.sellerOrder)/cancel", bearer: seller.accessToken).status == .conflict)
                let part = try await shop.api.call(.post, "/api/seller/orders/\(shipped.sellerOrder)/refunds", json: ["amount": 500, "reason": "Late"],
                                                   bearer: seller.accessToken)
                #expect(part.status == .created && part["status"] as? String == "shipped")
                // Delivery releases what the ledger still holds, not the credit of the sale.
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(shipped.sellerOrder)/deliver", bearer: seller.accessToken).status == .ok)
                let shippedCredit = try await creditOf(shop, shipped.sellerOrder)
                #expect(try await shop.int(
                    "SELECT coalesce(sum(amount_minor), 0)::bigint FROM seller_ledger WHERE seller_order_id = \(UUID(uuidString: shipped.sellerOrder)!) AND bucket = 'pending'"
                ) == 0)
                #expect(try await held(shop, shipped.sellerOrder) == shippedCredit - shippedCredit * 500 / shipped.total)
                try await Self.reconcile(shop)
            }
        }
    }

    @Test func anAdminListsOpensRefundsAndOverridesWithAnAuditEntryEach() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let admin = try await shop.market.admin("refroot")
                let seller = try await shop.market.seller("mixrefseller")
                let buyer = try await shop.buyer("mixrefbuyer")
                let lamp = try await shop.product(seller, ["title": "Desk lamp", "stock": 4, "price": ["amount": 40_000, "currency": "ZAR"]])
                let key = try await shop.product(seller, ["title": "Licence", "type": "key", "price": ["amount": 10_000, "currency": "ZAR"]], items: ["LIC-1"])
                #expect(try await shop.add(lamp, as: buyer).status == .ok)
                #expect(try await shop.add(key, as: buyer).status == .ok)
                let placed = try await shop.checkout(buyer)
                let orderID = try #require(placed["id"] as? String)
                try await shop.pay(orderID, as: buyer)
                let view = try await shop.api.call(.get, "/api/orders/\(orderID)", bearer: buyer.accessToken)
                let sellerOrder = try #require(view.sellerOrders.first?["id"] as? String)
                let total = try #require(view.money("total"))
                let other = try await paidOrder(shop, seller: try await shop.market.seller("plainseller"), buyer: try await shop.buyer("plainbuyer"), price: 500, quantity: 1)

                // Only administrators; an unknown seller order is a 404.
                for (method, route, body) in [
                    (HTTPRequest.Method.get, "/api/admin/orders", nil), (.get, "/api/admin/orders/\(orderID)", nil),
                    (.post, "/api/admin/seller-orders/\(sellerOrder)/refunds", ["amount": 1, "reason": "x"]),
                    (.post, "/api/admin/seller-orders/\(sellerOrder)/status", ["status": "shipped", "reason": "x"]),
                ] as [(HTTPRequest.Method, String, [String: Any?]?)] {
                    #expect(try await shop.api.call(method, route, json: body, bearer: seller.accessToken).status == .forbidden, "\(route)")
                    #expect(try await shop.api.call(method, route, json: body, bearer: buyer.accessToken).status == .forbidden, "\(route)")
                }
                let unknown = UUID().uuidString.lowercased()
                #expect(try await shop.api.call(.get, "/api/admin/orders/\(unknown)", bearer: admin.accessToken).status == .notFound)
                #expect(try await shop.api.call(.post, "/api/admin/seller-orders/\(unknown)/refunds", json: ["amount": 1, "reason": "x"],
                                                bearer: admin.accessToken).status == .notFound)

                // The list and its filters.
                func listed(_ query: String) async throws -> [String] {
                    let page = try await shop.api.call(.get, "/api/admin/orders\(query)", bearer: admin.accessToken)
                    #expect(page.status == .ok, "\(query): \(page.raw)")
                    return (page["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                }
                #expect(try await listed("") == [other.order, orderID])
                #expect(try await listed("?seller=\(seller.accountID)") == [orderID])
                #expect(try await listed("?buyer=\(buyer.accountID)&status=paid") == [orderID])
                #expect(try await listed("?minTotal=\(total)&maxTotal=\(total)") == [orderID])
                #expect(try await listed("?status=refunded").isEmpty)
                #expect(try await listed("?from=2999-01-01T00:00:00Z").isEmpty)
                #expect(try await listed("?limit=1").count == 1)
                for bad in ["?status=lost", "?seller=nope", "?minTotal=-1", "?minTotal=1e3", "?maxTotal=99999999999999999999", "?from=yesterday"] {
                    #expect(try await shop.api.call(.get, "/api/admin/orders\(bad)", bearer: admin.accessToken).status == .badRequest, "\(bad)")
                }
                #expect(try await shop.api.call(.get, "/api/admin/orders?limit=0", bearer: admin.accessToken).status == .unprocessableContent)

                // The order opened: seller views with fees, the provider's events, the ledger; never the key itself.
                let opened = try await shop.api.call(.get, "/api/admin/orders/\(orderID)", bearer: admin.accessToken)
                #expect(opened.status == .ok)
                #expect(((opened["order"] as? [String: Any])?["sellerOrders"] as? [[String: Any]])?.first?["platformFee"] != nil)
                #expect((opened["paymentEvents"] as? [[String: Any]])?.count == 1)
                #expect((opened["ledger"] as? [[String: Any]])?.count == 1)
                #expect((opened["buyer"] as? [String: Any])?["username"] as? String == "mixrefbuyer")
                #expect(!opened.raw.contains("LIC-1"))

                // Override along the machine, with a reason; a move against it, or to paid, is refused.
                let status = "/api/admin/seller-orders/\(sellerOrder)/status"
                #expect(try await shop.api.call(.post, status, json: ["status": "shipped"], bearer: admin.accessToken).status == .unprocessableContent)
                #expect(try await shop.api.call(.post, status, json: ["status": "paid", "reason": "x"], bearer: admin.accessToken).status == .unprocessableContent)
                let moved = try await shop.api.call(.post, status, json: ["status": "shipped", "reason": "Courier confirmed pick-up"], bearer: admin.accessToken)
                #expect(moved.status == .ok, "\(moved.raw)")
                #expect(try await shop.api.call(.post, status, json: ["status": "shipped", "reason": "again"], bearer: admin.accessToken).status == .conflict)

                // A full refund of a shipped seller order keeps the delivered key unless the admin says otherwise.
                let refunds = "/api/admin/seller-orders/\(sellerOrder)/refunds"
                let pricing = Pricing(vatRateBP: 1500, pricesIncludeVAT: true, shippingFlat: 6000, platformFeeBP: 1000)
                let kept = Int(pricing.totals(goods: 10_000, hasPhysical: false).total)
                #expect(try await shop.api.call(.post, refunds, json: ["full": true], bearer: admin.accessToken).status == .unprocessableContent)
                #expect(try await shop.api.call(.post, refunds, json: ["full": true, "amount": 5, "reason": "x"], bearer: admin.accessToken).status == .unprocessableContent)
                let full = try await shop.api.call(.post, refunds, json: ["full": true, "reason": "Never arrived"], bearer: admin.accessToken)
                #expect(full.status == .created, "\(full.raw)")
                #expect((full["order"] as? [String: Any]).flatMap { ($0["refunded"] as? [String: Any])?["amount"] as? Int } == total - kept)
                let again = try await shop.api.call(.post, refunds, json: ["full": true, "reason": "Never arrived"], bearer: admin.accessToken)
                #expect(again.status == .conflict && again.code == "nothing_refundable")
                let everything = try await shop.api.call(.post, refunds, json: ["full": true, "includeDelivered": true, "reason": "Key revoked"],
                                                         bearer: admin.accessToken)
                #expect(everything.status == .created, "\(everything.raw)")
                #expect((everything["order"] as? [String: Any]).flatMap { ($0["refunded"] as? [String: Any])?["amount"] as? Int } == total)
                #expect(try await held(shop, sellerOrder) == 0)
                #expect(try await shop.stock(lamp) == (3, 0), "shipped goods are not restocked by a refund")

                // Cancelling a paid seller order with everything refunded puts its stock back.
                let cancel = try await shop.api.call(.post, "/api/admin/seller-orders/\(other.sellerOrder)/status", json: ["status": "cancelled", "reason": "Fraud"],
                                                     bearer: admin.accessToken)
                #expect(cancel.status == .ok, "\(cancel.raw)")
                #expect((cancel["order"] as? [String: Any])?["status"] as? String == "refunded")
                #expect(try await shop.stock(other.product) == (5, 0))

                // One audit entry per change, with its reason and the state before and after.
                let log = try await shop.api.call(.get, "/api/admin/audit?targetType=seller_order", bearer: admin.accessToken)
                let entries = try #require(log["items"] as? [[String: Any]])
                #expect(entries.map { $0["action"] as? String } == ["order.status_overridden", "order.refunded", "order.refunded", "order.status_overridden"])
                #expect(entries.map { $0["reason"] as? String } == ["Fraud", "Key revoked", "Never arrived", "Courier confirmed pick-up"])
                #expect((entries[2]["before"] as? [String: Any])?["refundedMinor"] as? Int == 0)
                #expect((entries[2]["after"] as? [String: Any])?["refundedMinor"] as? Int == total - kept)
                #expect((entries[3]["after"] as? [String: Any])?["status"] as? String == "shipped")
                try await Self.reconcile(shop)
            }
        }
    }

    /// The buyer hears of shipping (with the tracking number) and of a delivery they did not confirm themselves, by
    /// mail, unless they muted order news.
    @Test func shippingAndDeliveryAreMailedUnlessMuted() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("mailseller")
                let buyer = try await shop.buyer("mailbuyer")
                let first = try await paidOrder(shop, seller: seller, buyer: buyer, quantity: 1)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(first.sellerOrder)/ship", json: ["carrier": "PostNet", "trackingNumber": "PN-77"],
                                                bearer: seller.accessToken).status == .ok)
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE subject = 'Your order is on its way' AND body LIKE '%PostNet%PN-77%'") == 1)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(first.sellerOrder)/deliver", bearer: seller.accessToken).status == .ok)
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE subject = 'Your order was delivered'") == 1)

                // The buyer's own confirmation is not mailed back to them; a muted buyer gets neither mail.
                let second = try await paidOrder(shop, seller: seller, buyer: buyer, quantity: 1, stock: 4)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(second.sellerOrder)/ship", json: ["carrier": "PostNet", "trackingNumber": "PN-78"],
                                                bearer: seller.accessToken).status == .ok)
                #expect(try await shop.api.call(.post, "/api/orders/\(second.order)/confirm", bearer: buyer.accessToken).status == .ok)
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE subject = 'Your order was delivered'") == 1)
                try await services.db.execute(
                    "INSERT INTO notification_mutes (user_id, kind) VALUES (\(UUID(uuidString: buyer.accountID)!), 'order_status')", logger: shop.market.logger)
                let third = try await paidOrder(shop, seller: seller, buyer: buyer, quantity: 1, stock: 3)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(third.sellerOrder)/ship", json: ["carrier": "PostNet", "trackingNumber": "PN-79"],
                                                bearer: seller.accessToken).status == .ok)
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE subject = 'Your order is on its way'") == 2)
                // A receipt is never muted.
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE subject LIKE 'Your Agora order%'") == 3)
            }
        }
    }

    /// A suspended seller's orders stay refundable: by an administrator, and by the buyer's own cancel.
    @Test func aSuspendedSellersOrdersStayRefundable() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let admin = try await shop.market.admin("suspendrefundroot")
                let seller = try await shop.market.seller("suspendedshop")
                let buyer = try await shop.buyer("suspendedshopbuyer")
                let first = try await paidOrder(shop, seller: seller, buyer: buyer, quantity: 1)
                let second = try await paidOrder(shop, seller: seller, buyer: buyer, quantity: 1, stock: 4)
                let suspended = try await shop.api.call(.post, "/api/admin/users/\(seller.accountID)/suspend", json: ["reason": "Fraud check"], bearer: admin.accessToken)
                #expect(suspended.status == .ok, "\(suspended.raw)")
                let refunded = try await shop.api.call(
                    .post, "/api/admin/seller-orders/\(first.sellerOrder)/refunds", json: ["full": true, "reason": "Seller suspended"], bearer: admin.accessToken)
                #expect(refunded.status == .created, "\(refunded.raw)")
                let cancelled = try await shop.api.call(.post, "/api/orders/\(second.order)/cancel", bearer: buyer.accessToken)
                #expect(cancelled.status == .ok && cancelled["status"] as? String == "refunded", "\(cancelled.raw)")
                try await Self.reconcile(shop)
            }
        }
    }

    /// A shop's public figures: the verified-email badge on the profile, the rating over its reviews, its delivered
    /// sales and its published listings.
    @Test func aShopsProfileShowsItsBadgeRatingSalesAndListings() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("figureshop")
                let buyer = try await shop.buyer("figurebuyer")
                let empty = try await shop.api.call(.get, "/api/users/figureshop/shop")
                #expect(empty.status == .ok && empty["salesCount"] as? Int == 0 && empty["listingCount"] as? Int == 0, "\(empty.raw)")
                #expect((empty["rating"] as? [String: Any])?["count"] as? Int == 0)
                let paid = try await paidOrder(shop, seller: seller, buyer: buyer, quantity: 1)
                _ = try await shop.market.product(seller, ["title": "Draft"], publish: false)
                #expect(try await shop.api.call(.post, "/api/seller/orders/\(paid.sellerOrder)/ship", json: ["carrier": "A", "trackingNumber": "1"],
                                                bearer: seller.accessToken).status == .ok)
                #expect(try await shop.api.call(.post, "/api/orders/\(paid.order)/confirm", bearer: buyer.accessToken).status == .ok)
                #expect(try await shop.api.call(.post, "/api/products/\(paid.product)/reviews", json: ["rating": 4, "body": "Good"], bearer: buyer.accessToken)
                    .status == .created)
                let figures = try await shop.api.call(.get, "/api/users/figureshop/shop")
                #expect(figures["salesCount"] as? Int == 1 && figures["listingCount"] as? Int == 1, "\(figures.raw)")
                #expect((figures["rating"] as? [String: Any])?["average"] as? Double == 4 && (figures["rating"] as? [String: Any])?["count"] as? Int == 1)
                #expect(try await shop.api.call(.get, "/api/users/figureshop")["emailVerified"] as? Bool == true)
                // A buyer's verification state is nobody else's business (PrivacyTests).
                #expect(try await shop.api.call(.get, "/api/users/figurebuyer")["emailVerified"] == nil)
                #expect(try await shop.api.call(.get, "/api/users/nobody_here/shop").status == .notFound)
            }
        }
    }

    /// Ten administrators' partial refunds of 30% at once: exactly three fit in what was paid, whatever the timing.
    @Test func concurrentPartialRefundsNeverExceedWhatWasPaid() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let admin = try await shop.market.admin("raceroot")
                let paid = try await paidOrder(shop, seller: try await shop.market.seller("raceseller"), buyer: try await shop.buyer("racebuyer"))
                let slice = paid.total * 3 / 10
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for n in 0..<10 {
                        group.addTask {
                            try await shop.api.call(.post, "/api/admin/seller-orders/\(paid.sellerOrder)/refunds", json: ["amount": slice, "reason": "race \(n)"],
                                                    bearer: admin.accessToken).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .created }.count == 3, "\(statuses)")
                #expect(statuses.filter { $0 == .unprocessableContent }.count == 7, "\(statuses)")
                #expect(try await shop.int("SELECT refunded_minor FROM seller_orders WHERE id = \(UUID(uuidString: paid.sellerOrder)!)") == slice * 3)
                #expect(try await shop.int("SELECT coalesce(sum(amount_minor), 0)::bigint FROM refunds") == slice * 3)
                #expect(try await shop.int("SELECT count(*) FROM admin_audit WHERE action = 'order.refunded'") == 3)
                try await Self.reconcile(shop)
            }
        }
    }
}
