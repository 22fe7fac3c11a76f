import AgoraApp
import AgoraCore
import AgoraDemo
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Disputes: who may open, answer, escalate and decide them, that the earnings stay held meanwhile, and that the
/// money and the ledger come out right whichever way they end.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct DisputeTests {
    let refunds = SellerAdminRefundTests()

    func shipped(_ shop: Shop, seller: Grant, buyer: Grant) async throws -> (order: String, sellerOrder: String, total: Int) {
        let paid = try await refunds.paidOrder(shop, seller: seller, buyer: buyer, quantity: 1)
        let shipped = try await shop.api.call(.post, "/api/seller/orders/\(paid.sellerOrder)/ship", json: ["carrier": "Aramex", "trackingNumber": "AX1"],
                                              bearer: seller.accessToken)
        try #require(shipped.status == .ok, "\(shipped.raw)")
        return (paid.order, paid.sellerOrder, paid.total)
    }

    func balance(_ shop: Shop, _ seller: Grant) async throws -> (pending: Int, available: Int) {
        let body = try await shop.api.call(.get, "/api/seller/balance", bearer: seller.accessToken)
        let zar = (body["balances"] as? [[String: Any]])?.first { ($0["currency"] as? String) == "ZAR" }
        func amount(_ key: String) -> Int { (zar?[key] as? [String: Any])?["amount"] as? Int ?? (zar?[key] as? Int ?? 0) }
        return (amount("pending"), amount("available"))
    }

    func photo(_ api: API, _ dispute: String, bearer: String) async throws -> APIResponse {
        let boundary = "----agora-dispute-photo"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"parcel.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += PNGEncoder.encode(DemoArt.render(width: 32, height: 24, seed: 3, initials: "BX"))
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return try await api.client.execute(
            uri: "/api/disputes/\(dispute)/photos", method: .post,
            headers: [.contentType: "multipart/form-data; boundary=\(boundary)", .authorization: "Bearer \(bearer)"], body: ByteBuffer(bytes: body)
        ) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
            return APIResponse(status: response.status, headers: response.headers, body: object ?? [:], raw: String(buffer: response.body))
        }
    }

    /// The journey of the issue: a parcel that never came, a seller who refuses, an administrator who refunds.
    @Test func anUndeliveredParcelIsDisputedRefusedEscalatedAndRefundedByAnAdmin() async throws {
        let dataDir = NSTemporaryDirectory() + TestServices.uniqueName("agora-dispute-media")
        try await TestApp.withApplication(Shop.overrides.merging(["AGORA_DATA_DIR": dataDir]) { $1 }) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let api = shop.api
                let admin = try await shop.market.admin("disputeroot")
                let seller = try await shop.market.seller("disputeseller")
                let buyer = try await shop.buyer("disputebuyer")
                let stranger = try await shop.buyer("disputestranger")
                let order = try await shipped(shop, seller: seller, buyer: buyer)
                let credit = try await refunds.creditOf(shop, order.sellerOrder)
                let open = "/api/orders/\(order.order)/disputes"

                // Refused: someone else's order, a bad reason, no message, a seller order not shipped.
                let body: [String: Any?] = ["sellerOrderId": order.sellerOrder, "reason": "not_received", "message": "Tracking has not moved for 10 days"]
                #expect(try await api.call(.post, open, json: body, bearer: stranger.accessToken).status == .notFound)
                #expect(try await api.call(.post, open, json: body.merging(["reason": "bored"]) { $1 }, bearer: buyer.accessToken).status == .unprocessableContent)
                #expect(try await api.call(.post, open, json: body.merging(["message": " "]) { $1 }, bearer: buyer.accessToken).status == .unprocessableContent)
                let unshipped = try await refunds.paidOrder(shop, seller: seller, buyer: buyer, quantity: 1, stock: 3)
                let early = try await api.call(.post, "/api/orders/\(unshipped.order)/disputes",
                                               json: body.merging(["sellerOrderId": unshipped.sellerOrder]) { $1 }, bearer: buyer.accessToken)
                #expect(early.status == .conflict && early.code == "dispute_not_allowed")

                let opened = try await api.call(.post, open, json: body, bearer: buyer.accessToken)
                try #require(opened.status == .created, "\(opened.raw)")
                let dispute = try #require(opened["id"] as? String)
                #expect(opened["status"] as? String == "open" && (opened["messages"] as? [[String: Any]])?.count == 1)
                #expect(try await api.call(.post, open, json: body, bearer: buyer.accessToken).code == "dispute_exists")
                #expect(try await api.call(.get, "/api/disputes/\(dispute)", bearer: stranger.accessToken).status == .notFound)
                #expect(try await shop.int("SELECT count(*) FROM mail_outbox WHERE subject = 'A buyer opened a dispute'") == 1)

                // Delivered while disputed (the sweeper, or a confirmation): the earnings stay pending.
                #expect(try await api.call(.post, "/api/seller/orders/\(order.sellerOrder)/deliver", bearer: seller.accessToken).status == .ok)
                let unshippedCredit = try await refunds.creditOf(shop, unshipped.sellerOrder)
                #expect(try await balance(shop, seller) == (credit + unshippedCredit, 0))

                // The seller refuses with a reply; the buyer adds a photo and escalates.
                let replied = try await api.call(.post, "/api/disputes/\(dispute)/messages", json: ["message": "It was delivered, see the courier"],
                                                 bearer: seller.accessToken)
                #expect(replied.status == .created && replied["status"] as? String == "seller_replied", "\(replied.raw)")
                let withPhoto = try await photo(api, dispute, bearer: buyer.accessToken)
                #expect(withPhoto.status == .created, "\(withPhoto.raw)")
                let url = try #require((withPhoto["messages"] as? [[String: Any]])?.last?["photoUrl"] as? String)
                #expect(try await api.call(.get, url).status == .ok)
                #expect(try await photo(api, dispute, bearer: stranger.accessToken).status == .notFound)
                #expect(try await api.call(.post, "/api/disputes/\(dispute)/escalate", bearer: seller.accessToken).status == .forbidden)
                #expect(try await api.call(.post, "/api/disputes/\(dispute)/accept", bearer: buyer.accessToken).status == .forbidden)
                let escalated = try await api.call(.post, "/api/disputes/\(dispute)/escalate", bearer: buyer.accessToken)
                #expect(escalated["status"] as? String == "escalated")
                #expect(try await api.call(.post, "/api/disputes/\(dispute)/escalate", bearer: buyer.accessToken).code == "already_escalated")

                // The administrators' queue, and their decision.
                #expect(try await api.call(.get, "/api/admin/disputes", bearer: seller.accessToken).status == .forbidden)
                let queue = try await api.call(.get, "/api/admin/disputes?status=escalated", bearer: admin.accessToken)
                #expect((queue["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [dispute])
                let decide = "/api/admin/disputes/\(dispute)/decide"
                #expect(try await api.call(.post, decide, json: ["outcome": "refund"], bearer: admin.accessToken).status == .unprocessableContent)
                #expect(try await api.call(.post, decide, json: ["outcome": "close", "amount": 5, "reason": "x"], bearer: admin.accessToken).status
                    == .unprocessableContent)
                #expect(try await api.call(.post, decide, json: ["outcome": "refund", "amount": order.total + 1, "reason": "x"], bearer: admin.accessToken).code
                    == "refund_exceeds_paid")
                let decided = try await api.call(.post, decide, json: ["outcome": "refund", "reason": "No proof of delivery"], bearer: admin.accessToken)
                #expect(decided.status == .ok && decided["outcome"] as? String == "refunded", "\(decided.raw)")
                #expect(try await api.call(.post, decide, json: ["outcome": "close", "reason": "x"], bearer: admin.accessToken).code == "dispute_resolved")
                #expect(try await api.call(.post, "/api/disputes/\(dispute)/messages", json: ["message": "thanks"], bearer: buyer.accessToken).code
                    == "dispute_resolved")

                // The buyer sees the refund; the seller keeps nothing of it; the audit log shows the decision.
                let seen = try await api.call(.get, "/api/orders/\(order.order)", bearer: buyer.accessToken)
                #expect(seen.money("refunded") == order.total)
                #expect((seen["refunds"] as? [[String: Any]])?.last?["reason"] as? String == "dispute")
                #expect(try await refunds.held(shop, order.sellerOrder) == 0)
                let log = try await api.call(.get, "/api/admin/audit?action=dispute.decided", bearer: admin.accessToken)
                #expect((log["items"] as? [[String: Any]])?.first?["reason"] as? String == "No proof of delivery")
                #expect(try await shop.int("SELECT count(*) FROM domain_events WHERE type = 'order.dispute'") == 5)
                try await SellerAdminRefundTests.reconcile(shop)
            }
        }
    }

    /// A dispute on a delivered order holds its available earnings; a seller who accepts refunds everything; an
    /// administrator who closes gives the seller the earnings back. After the window, no dispute.
    @Test func deliveredOrdersAreHeldWhileDisputedAndReleasedWhenClosed() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let api = shop.api
                let admin = try await shop.market.admin("holdroot")
                let seller = try await shop.market.seller("holdseller")
                let buyer = try await shop.buyer("holdbuyer")
                var delivered: [(order: String, sellerOrder: String, total: Int)] = []
                for _ in 0..<3 {
                    let order = try await shipped(shop, seller: seller, buyer: buyer)
                    #expect(try await api.call(.post, "/api/orders/\(order.order)/confirm", bearer: buyer.accessToken).status == .ok)
                    delivered.append(order)
                }
                let credit = try await refunds.creditOf(shop, delivered[0].sellerOrder)
                #expect(try await balance(shop, seller) == (0, 3 * credit))

                func open(_ order: (order: String, sellerOrder: String, total: Int)) async throws -> APIResponse {
                    try await api.call(.post, "/api/orders/\(order.order)/disputes",
                                       json: ["sellerOrderId": order.sellerOrder, "reason": "damaged", "message": "Cracked"], bearer: buyer.accessToken)
                }
                let accepted = try #require(try await open(delivered[0])["id"] as? String)
                let closed = try #require(try await open(delivered[1])["id"] as? String)
                #expect(try await balance(shop, seller) == (2 * credit, credit), "held: out of available, not payable")

                let accept = try await api.call(.post, "/api/disputes/\(accepted)/accept", bearer: seller.accessToken)
                #expect(accept.status == .ok && accept["outcome"] as? String == "refunded", "\(accept.raw)")
                #expect(try await refunds.held(shop, delivered[0].sellerOrder) == 0)
                let close = try await api.call(.post, "/api/admin/disputes/\(closed)/decide", json: ["outcome": "close", "reason": "Damage after delivery"],
                                               bearer: admin.accessToken)
                #expect(close.status == .ok && close["outcome"] as? String == "closed", "\(close.raw)")
                #expect(try await balance(shop, seller) == (0, 2 * credit))

                // Past the window, the last one can no longer be disputed.
                try await services.db.execute(
                    "UPDATE seller_orders SET delivered_at = now() - interval '15 days' WHERE id = \(UUID(uuidString: delivered[2].sellerOrder)!)",
                    logger: shop.market.logger)
                #expect(try await open(delivered[2]).code == "dispute_not_allowed")
                let mine = try await api.call(.get, "/api/disputes?as=seller", bearer: seller.accessToken)
                #expect((mine["items"] as? [[String: Any]])?.count == 2)
                #expect(try await api.call(.get, "/api/disputes?as=judge", bearer: seller.accessToken).status == .badRequest)
                try await SellerAdminRefundTests.reconcile(shop)
            }
        }
    }
}
