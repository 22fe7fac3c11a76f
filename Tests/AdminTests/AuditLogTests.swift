import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Every admin action that changes anything is recorded in the audit log, in the same transaction as the change, and
/// admins (only) can list and filter the log.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct AuditLogTests {
    /// A requested payout of `amount` for `seller`, made directly: how a seller earns a balance is the checkout tests'
    /// business, not this suite's.
    func payout(_ market: Market, _ seller: Grant, amount: Int64 = 12_345) async throws -> String {
        let id: UUID = try await market.services.db.query(
            "INSERT INTO payouts (seller_id, currency, amount_minor) VALUES (\(try #require(UUID(uuidString: seller.accountID))), 'ZAR', \(amount)) RETURNING id",
            logger: market.logger
        ).one().decode("id")
        return id.uuidString
    }

    /// A seller order paid through the simulated provider, as its id (upper case, as the API writes ids).
    func paidSellerOrder(_ market: Market, _ seller: Grant) async throws -> String {
        try await paidOrder(market, seller).sellerOrder
    }

    /// A paid order of one seller order, with its buyer.
    func paidOrder(_ market: Market, _ seller: Grant) async throws -> (order: String, sellerOrder: String, buyer: Grant) {
        let product = try #require(try await market.product(seller, ["stock": 3])["id"] as? String)
        let buyer = try await market.api.register("buyer\(UInt32.random(in: 0...UInt32.max))")
        #expect(try await market.api.call(.post, "/api/cart/items", json: ["productId": product], bearer: buyer.accessToken).status == .ok)
        let address: [String: Any?] = ["name": "B", "line1": "1 Main Road", "city": "Durban", "region": "KZN", "postalCode": "4001", "country": "ZA"]
        let placed = try await market.api.call(.post, "/api/checkout", json: ["shippingAddress": address], bearer: buyer.accessToken)
        let order = try #require(placed["id"] as? String, "\(placed.raw)")
        let payment = try #require((placed["payment"] as? [String: Any])?["url"] as? String)
        let session = try #require(URLComponents(string: payment)?.queryItems?.first { $0.name == "session" }?.value)
        let paid = try await market.api.call(.post, "/api/payments/simulated/\(session)/complete", json: ["outcome": "paid"])
        try #require(paid.status == .ok, "\(paid.raw)")
        let view = try await market.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
        return (order, try #require((view["sellerOrders"] as? [[String: Any]])?.first?["id"] as? String), buyer)
    }

    func entries(_ market: Market, _ admin: Grant, _ query: String = "") async throws -> [[String: Any]] {
        let listed = try await market.api.call(.get, "/api/admin/audit" + query, bearer: admin.accessToken)
        try #require(listed.status == .ok, "\(listed.raw)")
        return try #require(listed["items"] as? [[String: Any]])
    }

    func payoutStatus(_ market: Market, _ id: String) async throws -> String {
        try await market.services.db.query("SELECT status FROM payouts WHERE id = \(try #require(UUID(uuidString: id)))", logger: market.logger)
            .one().decode("status")
    }

    @Test func settlingAPayoutRecordsWhoWhatWhyAndTheStateBeforeAndAfter() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let admin = try await market.admin("auditroot")
                let seller = try await market.seller("auditseller")
                let first = try await payout(market, seller)
                let second = try await payout(market, seller, amount: 500)

                let settled = try await market.api.call(
                    .post, "/api/admin/payouts/\(first)/settle", json: ["status": "paid", "note": "EFT ref 8841"], bearer: admin.accessToken)
                #expect(settled.status == .ok, "\(settled.raw)")
                var log = try await entries(market, admin)
                try #require(log.count == 1)
                #expect(log[0]["actorId"] as? String == admin.accountID.uppercased() || log[0]["actorId"] as? String == admin.accountID)
                #expect(log[0]["action"] as? String == "payout.settled")
                #expect(log[0]["targetType"] as? String == "payout" && log[0]["targetId"] as? String == first)
                #expect(log[0]["reason"] as? String == "EFT ref 8841")
                let before = try #require(log[0]["before"] as? [String: Any])
                let after = try #require(log[0]["after"] as? [String: Any])
                #expect(before["status"] as? String == "requested" && after["status"] as? String == "paid")
                #expect(before["amountMinor"] as? Int == 12_345 && after["amountMinor"] as? Int == 12_345 && after["currency"] as? String == "ZAR")
                #expect(log[0]["createdAt"] is String)

                // Refused actions change nothing, so they record nothing.
                let again = try await market.api.call(.post, "/api/admin/payouts/\(first)/settle", json: ["status": "failed"], bearer: admin.accessToken)
                #expect(again.status == .conflict && again.code == "payout_settled")
                let bogus = try await market.api.call(.post, "/api/admin/payouts/\(second)/settle", json: ["status": "lost"], bearer: admin.accessToken)
                #expect(bogus.status == .unprocessableContent)
                let unknown = try await market.api.call(.post, "/api/admin/payouts/\(UUID())/settle", json: ["status": "paid"], bearer: admin.accessToken)
                #expect(unknown.status == .notFound)
                #expect(try await entries(market, admin).count == 1)

                // A failed payout: no reason given, the newest entry first.
                #expect(try await market.api.call(.post, "/api/admin/payouts/\(second)/settle", json: ["status": "failed"], bearer: admin.accessToken).status == .ok)
                log = try await entries(market, admin)
                #expect(log.map { $0["targetId"] as? String } == [second, first])
                #expect(log[0]["reason"] == nil && (log[0]["after"] as? [String: Any])?["status"] as? String == "failed")
            }
        }
    }

    @Test func theEntryAndTheChangeCommitOrRollBackTogether() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let admin = try await market.admin("atomicroot")
                let seller = try await market.seller("atomicseller")
                let id = try await payout(market, seller)
                // The scratch schema's audit table refuses every row: the settlement must not survive without its entry.
                try await services.db.execute("ALTER TABLE admin_audit ADD CONSTRAINT refuse_all CHECK (false) NOT VALID", logger: market.logger)
                let refused = try await market.api.call(.post, "/api/admin/payouts/\(id)/settle", json: ["status": "paid"], bearer: admin.accessToken)
                #expect(refused.status.code >= 500)
                #expect(try await payoutStatus(market, id) == "requested")
                try await services.db.execute("ALTER TABLE admin_audit DROP CONSTRAINT refuse_all", logger: market.logger)
                #expect(try await market.api.call(.post, "/api/admin/payouts/\(id)/settle", json: ["status": "paid"], bearer: admin.accessToken).status == .ok)
                #expect(try await payoutStatus(market, id) == "paid")
                #expect(try await entries(market, admin).count == 1)
            }
        }
    }

    /// The routes that change something under `/api/admin`, each with a call that succeeds and what it must record. A
    /// new admin route that changes anything fails this test until it is listed here with its audit entry.
    @Test func noAdminRouteChangesAnythingWithoutItsAuditEntry() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let admin = try await market.admin("everyroot")
                let seller = try await market.seller("everyseller")
                typealias Exercise = @Sendable () async throws -> (response: APIResponse, action: String, target: String)
                let exercised: [String: Exercise] = [
                    "POST /api/admin/payouts/{id}/settle": {
                        let id = try await payout(market, seller)
                        let response = try await market.api.call(
                            .post, "/api/admin/payouts/\(id)/settle", json: ["status": "paid"], bearer: admin.accessToken)
                        return (response, "payout.settled", id)
                    },
                    "POST /api/admin/seller-orders/{id}/refunds": {
                        let id = try await paidSellerOrder(market, seller)
                        let response = try await market.api.call(
                            .post, "/api/admin/seller-orders/\(id)/refunds", json: ["amount": 100, "reason": "goodwill"], bearer: admin.accessToken)
                        return (response, "order.refunded", id)
                    },
                    "POST /api/admin/disputes/{id}/decide": {
                        let paid = try await paidOrder(market, seller)
                        #expect(try await market.api.call(.post, "/api/seller/orders/\(paid.sellerOrder)/ship", json: ["carrier": "A", "trackingNumber": "1"],
                                                          bearer: seller.accessToken).status == .ok)
                        let opened = try await market.api.call(
                            .post, "/api/orders/\(paid.order)/disputes", json: ["sellerOrderId": paid.sellerOrder, "reason": "not_received", "message": "Nothing"],
                            bearer: paid.buyer.accessToken)
                        let id = try #require(opened["id"] as? String, "\(opened.raw)")
                        let response = try await market.api.call(
                            .post, "/api/admin/disputes/\(id)/decide", json: ["outcome": "close", "reason": "delivered"], bearer: admin.accessToken)
                        return (response, "dispute.decided", id)
                    },
                    "POST /api/admin/reports/{id}/resolve": {
                        let reporter = try await market.api.register("reporter\(UInt32.random(in: 0...UInt32.max))")
                        let product = try #require(try await market.product(seller, ["title": "Reported"])["id"] as? String)
                        let report = try await market.api.call(
                            .post, "/api/reports", json: ["targetType": "product", "targetId": product, "reason": "spam"], bearer: reporter.accessToken)
                        let id = try #require(report["id"] as? String, "\(report.raw)")
                        let response = try await market.api.call(
                            .post, "/api/admin/reports/\(id)/resolve", json: ["action": "dismiss", "reason": "fine"], bearer: admin.accessToken)
                        return (response, "report.resolved", id)
                    },
                    "POST /api/admin/users/{id}/role": {
                        let user = try await market.seller("promoted\(UInt32.random(in: 0...UInt32.max))")
                        let response = try await market.api.call(
                            .post, "/api/admin/users/\(user.accountID)/role", json: ["role": "admin", "reason": "staff"], bearer: admin.accessToken)
                        return (response, "account.role_changed", user.accountID.uppercased())
                    },
                    "POST /api/admin/users/{id}/suspend": {
                        let user = try await market.api.register("suspend\(UInt32.random(in: 0...UInt32.max))")
                        let response = try await market.api.call(
                            .post, "/api/admin/users/\(user.accountID)/suspend", json: ["reason": "spam"], bearer: admin.accessToken)
                        return (response, "account.suspended", user.accountID.uppercased())
                    },
                    "POST /api/admin/users/{id}/unsuspend": {
                        let user = try await market.api.register("unsuspend\(UInt32.random(in: 0...UInt32.max))")
                        try await market.services.db.execute(
                            "UPDATE accounts SET suspended_at = now() WHERE id = \(try #require(UUID(uuidString: user.accountID)))", logger: market.logger)
                        let response = try await market.api.call(
                            .post, "/api/admin/users/\(user.accountID)/unsuspend", json: ["reason": "appeal"], bearer: admin.accessToken)
                        return (response, "account.unsuspended", user.accountID.uppercased())
                    },
                    "POST /api/admin/products/{id}/takedown": {
                        let product = try #require(try await market.product(seller, ["title": "Taken"])["id"] as? String)
                        let response = try await market.api.call(
                            .post, "/api/admin/products/\(product)/takedown", json: ["reason": "prohibited"], bearer: admin.accessToken)
                        return (response, "product.taken_down", product.uppercased())
                    },
                    "POST /api/admin/products/{id}/restore": {
                        let product = try #require(try await market.product(seller, ["title": "Restored"])["id"] as? String)
                        try await market.services.db.execute(
                            """
                            UPDATE products SET status = 'taken_down', hidden_by = 'admin', status_before_takedown = 'published', takedown_reason = 'x'
                            WHERE id = \(try #require(UUID(uuidString: product)))
                            """,
                            logger: market.logger)
                        let response = try await market.api.call(
                            .post, "/api/admin/products/\(product)/restore", json: ["reason": "appeal"], bearer: admin.accessToken)
                        return (response, "product.restored", product.uppercased())
                    },
                    "POST /api/admin/seller-orders/{id}/status": {
                        let id = try await paidSellerOrder(market, seller)
                        let response = try await market.api.call(
                            .post, "/api/admin/seller-orders/\(id)/status", json: ["status": "shipped", "reason": "courier"], bearer: admin.accessToken)
                        return (response, "order.status_overridden", id)
                    },
                ]
                let changing = Set(
                    services.routes.filter { $0.path.hasPrefix("/api/admin") && !["GET", "HEAD"].contains("\($0.method)") }
                        .map { "\($0.method) \($0.path)" }
                )
                #expect(changing == Set(exercised.keys), "admin routes that change something, each to be listed with its audit entry")
                for (route, exercise) in exercised.sorted(by: { $0.key < $1.key }) {
                    let count = try await entries(market, admin, "?limit=100").count
                    let (response, action, target) = try await exercise()
                    #expect(response.status.code < 300, "\(route): \(response.raw)")
                    let log = try await entries(market, admin, "?limit=100")
                    #expect(log.count == count + 1, "\(route) recorded \(log.count - count) entries")
                    #expect(log.first?["action"] as? String == action && log.first?["targetId"] as? String == target, "\(route)")
                }
            }
        }
    }

    @Test func onlyAdminsListTheLogAndFiltersPageAndRefuseNonsense() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let admin = try await market.admin("filterroot")
                let other = try await market.admin("otherroot")
                let seller = try await market.seller("filterseller")
                var ids: [String] = []
                for (n, who) in [admin, admin, other].enumerated() {
                    let id = try await payout(market, seller, amount: Int64(100 * (n + 1)))
                    ids.append(id)
                    #expect(try await market.api.call(.post, "/api/admin/payouts/\(id)/settle", json: ["status": "paid"], bearer: who.accessToken).status == .ok)
                }

                #expect(try await market.api.call(.get, "/api/admin/audit", bearer: seller.accessToken).status == .forbidden)
                #expect(try await market.api.call(.get, "/api/admin/audit").status == .unauthorized)

                #expect(try await entries(market, admin).map { $0["targetId"] as? String } == ids.reversed())
                #expect(try await entries(market, admin, "?actor=\(other.accountID)").map { $0["targetId"] as? String } == [ids[2]])
                #expect(try await entries(market, admin, "?action=payout.settled").count == 3)
                #expect(try await entries(market, admin, "?targetType=payout&targetId=\(ids[1])").map { $0["targetId"] as? String } == [ids[1]])
                #expect(try await entries(market, admin, "?targetType=order").isEmpty)
                #expect(try await entries(market, admin, "?from=2999-01-01T00:00:00Z").isEmpty)
                #expect(try await entries(market, admin, "?to=2000-01-01T00:00:00Z").isEmpty)
                #expect(try await entries(market, admin, "?from=2000-01-01T00:00:00.000Z&to=2999-01-01T00:00:00%2B02:00").count == 3)

                // Pages: two, then one, no entry twice.
                let page = try await market.api.call(.get, "/api/admin/audit?limit=2", bearer: admin.accessToken)
                let cursor = try #require(page["nextCursor"] as? String)
                let rest = try await market.api.call(.get, "/api/admin/audit?limit=2&cursor=\(cursor)", bearer: admin.accessToken)
                let seen = ((page["items"] as? [[String: Any]]) ?? []) + ((rest["items"] as? [[String: Any]]) ?? [])
                #expect(seen.map { $0["targetId"] as? String } == ids.reversed())
                #expect(rest["nextCursor"] is NSNull)

                for query in ["action=payout.lost", "action=unknown", "actor=someone", "from=yesterday", "to=2026-12-01", "cursor=not-ours", "targetId=",
                              "targetType=\(String(repeating: "x", count: 65))"] {
                    let refused = try await market.api.call(.get, "/api/admin/audit?\(query)", bearer: admin.accessToken)
                    #expect(refused.status == .badRequest, "\(query): \(refused.status) \(refused.raw)")
                }
                // As everywhere in the API: a NUL in the query is invalid text, and a limit out of range a field error.
                #expect(try await market.api.call(.get, "/api/admin/audit?targetId=a%00b", bearer: admin.accessToken).code == "invalid_text")
                #expect(try await market.api.call(.get, "/api/admin/audit?limit=0", bearer: admin.accessToken).status == .unprocessableContent)
            }
        }
    }
}
