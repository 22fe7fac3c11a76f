import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Reports, takedowns and role changes, against the real PostgreSQL and Redis.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ModerationTests {
    static let overrides = ["AGORA_RATE_LIMITS": "false", "AGORA_MAIL_DISPATCH": "false"]

    func count(_ market: Market, _ sql: PGQuery) async throws -> Int {
        try await market.services.db.query(sql, logger: market.logger).one().decode(column: 0)
    }

    @Test func reportsAreCheckedQueuedAndResolvedWithTakedownAndWarning() async throws {
        try await TestApp.withApplication(Self.overrides) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let api = market.api
                let admin = try await market.admin("modroot")
                let seller = try await market.seller("modseller")
                let buyer = try await api.register("modbuyer")
                let stranger = try await api.register("modstranger")
                let product = try #require(try await market.product(seller, ["title": "Fake watch"])["id"] as? String)
                let draft = try #require(try await market.product(seller, ["title": "Hidden draft"], publish: false)["id"] as? String)

                // A conversation with one message from the seller.
                let opened = try await api.call(.post, "/api/conversations", json: ["userId": seller.accountID], bearer: buyer.accessToken)
                let conversation = try #require(opened["id"] as? String, "\(opened.raw)")
                let sent = try await api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "Pay me outside Agora"],
                                              bearer: seller.accessToken)
                let message = try #require((sent["message"] as? [String: Any])?["id"] as? Int, "\(sent.raw)")

                func report(_ body: [String: Any?], as who: Grant) async throws -> APIResponse {
                    try await api.call(.post, "/api/reports", json: body, bearer: who.accessToken)
                }
                // Refused: nonsense, unknown or invisible targets, oneself; nothing is stored.
                #expect(try await api.call(.post, "/api/reports", json: ["targetType": "product", "targetId": product, "reason": "scam"]).status == .unauthorized)
                #expect(try await report(["targetType": "planet", "targetId": product, "reason": "scam"], as: buyer).status == .unprocessableContent)
                #expect(try await report(["targetType": "product", "targetId": product, "reason": "boring"], as: buyer).status == .unprocessableContent)
                #expect(try await report(["targetType": "product", "targetId": "x", "reason": "scam"], as: buyer).status == .unprocessableContent)
                #expect(try await report(["targetType": "product", "targetId": product, "reason": "scam", "body": "a\u{0}b"], as: buyer).status == .unprocessableContent)
                #expect(try await report(["targetType": "product", "targetId": UUID().uuidString, "reason": "scam"], as: buyer).status == .notFound)
                #expect(try await report(["targetType": "product", "targetId": draft, "reason": "scam"], as: buyer).status == .notFound)
                #expect(try await report(["targetType": "product", "targetId": product, "reason": "scam"], as: seller).status == .unprocessableContent)
                #expect(try await report(["targetType": "message", "targetId": "\(message)", "reason": "scam"], as: stranger).status == .notFound)
                #expect(try await report(["targetType": "message", "targetId": "\(message)", "reason": "scam"], as: seller).status == .unprocessableContent)
                #expect(try await report(["targetType": "message", "targetId": "-1", "reason": "scam"], as: buyer).status == .unprocessableContent)
                #expect(try await count(market, "SELECT count(*) FROM reports") == 0)

                // Filed: a listing (twice is a 409), a user, a message with its text kept as evidence.
                let first = try await report(["targetType": "product", "targetId": product, "reason": "counterfeit", "body": "Logo is wrong"], as: buyer)
                #expect(first.status == .created, "\(first.raw)")
                #expect(try await report(["targetType": "product", "targetId": product, "reason": "scam"], as: buyer).status == .conflict)
                let second = try await report(["targetType": "product", "targetId": product, "reason": "scam"], as: stranger)
                let user = try await report(["targetType": "user", "targetId": seller.accountID, "reason": "harassment"], as: stranger)
                let chat = try await report(["targetType": "message", "targetId": "\(message)", "reason": "scam"], as: buyer)
                #expect(second.status == .created && user.status == .created && chat.status == .created)
                #expect(chat["evidence"] as? String == "Pay me outside Agora")
                #expect((chat["subjectId"] as? String)?.lowercased() == seller.accountID.lowercased())

                // The queue: administrators only, oldest first.
                #expect(try await api.call(.get, "/api/admin/reports", bearer: seller.accessToken).status == .forbidden)
                #expect(try await api.call(.get, "/api/admin/reports?status=maybe", bearer: admin.accessToken).status == .badRequest)
                let queue = try await api.call(.get, "/api/admin/reports?status=open", bearer: admin.accessToken)
                let ids = try #require((queue["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
                #expect(ids == [first, second, user, chat].compactMap { $0["id"] as? String })

                // A takedown resolves both reports of the listing; the seller sees why, buyers see nothing.
                let firstID = try #require(first["id"] as? String)
                let userID = try #require(user["id"] as? String)
                let chatID = try #require(chat["id"] as? String)
                #expect(try await api.call(.post, "/api/admin/reports/\(firstID)/resolve", json: ["action": "take_down"], bearer: admin.accessToken).status
                    == .unprocessableContent)
                #expect(try await api.call(.post, "/api/admin/reports/\(userID)/resolve", json: ["action": "take_down", "reason": "x"], bearer: admin.accessToken)
                    .status == .unprocessableContent)
                let resolved = try await api.call(
                    .post, "/api/admin/reports/\(firstID)/resolve", json: ["action": "take_down", "reason": "Counterfeit brand"], bearer: admin.accessToken)
                #expect(resolved.status == .ok && resolved["resolution"] as? String == "taken_down", "\(resolved.raw)")
                #expect(try await api.call(.get, "/api/products/\(product)").status == .notFound)
                #expect(try await api.call(.get, "/api/products/\(product)", bearer: buyer.accessToken).status == .notFound)
                let own = try await api.call(.get, "/api/products/\(product)", bearer: seller.accessToken)
                #expect(own["status"] as? String == "taken_down" && own["takedownReason"] as? String == "Counterfeit brand", "\(own.raw)")
                #expect(try await api.call(.post, "/api/products/\(product)/publish", bearer: seller.accessToken).status == .conflict)
                #expect(try await count(market, "SELECT count(*) FROM reports WHERE status = 'open'") == 2)
                #expect(try await count(market, "SELECT count(*) FROM mail_outbox WHERE subject = 'Your listing was taken down' AND body LIKE '%Counterfeit brand%'") == 1)
                #expect(try await api.call(.post, "/api/admin/reports/\(firstID)/resolve", json: ["action": "dismiss", "reason": "x"], bearer: admin.accessToken)
                    .status == .conflict)

                // A warning is mailed to the message's author.
                let warned = try await api.call(
                    .post, "/api/admin/reports/\(chatID)/resolve", json: ["action": "warn", "reason": "Keep payments on Agora"], bearer: admin.accessToken)
                #expect(warned.status == .ok && warned["resolution"] as? String == "warned")
                #expect(try await count(market, "SELECT count(*) FROM mail_outbox WHERE subject LIKE 'A warning%' AND body LIKE '%Keep payments on Agora%'") == 1)

                // Restored, the listing is back for everyone; a restore of a listing not taken down is a 409.
                let restored = try await api.call(.post, "/api/admin/products/\(product)/restore", json: ["reason": "Appeal: receipt shown"], bearer: admin.accessToken)
                #expect(restored.status == .ok && restored["status"] as? String == "published", "\(restored.raw)")
                #expect(try await api.call(.get, "/api/products/\(product)").status == .ok)
                #expect(try await api.call(.post, "/api/admin/products/\(product)/restore", json: ["reason": "again"], bearer: admin.accessToken).status == .conflict)
                #expect(try await api.call(.post, "/api/admin/products/\(UUID().uuidString)/takedown", json: ["reason": "x"], bearer: admin.accessToken).status
                    == .notFound)

                let audit = try await api.call(.get, "/api/admin/audit", bearer: admin.accessToken)
                let actions = (audit["items"] as? [[String: Any]])?.compactMap { $0["action"] as? String }
                #expect(actions == ["product.restored", "report.resolved", "account.warned", "report.resolved", "product.taken_down"])
            }
        }
    }

    @Test func rolesAreGrantedAndRevokedByAdminsWithTheirSessionsEnded() async throws {
        try await TestApp.withApplication(Self.overrides) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let api = market.api
                let admin = try await market.admin("roleroot")
                let user = try await api.register("roleuser")
                let unverified = try await api.register("roleunverified")
                try await services.db.execute("UPDATE accounts SET email_verified_at = now() WHERE username = 'roleuser'", logger: market.logger)
                let path = "/api/admin/users/\(user.accountID)/role"

                #expect(try await api.call(.post, path, json: ["role": "seller", "reason": "x"], bearer: user.accessToken).status == .forbidden)
                #expect(try await api.call(.post, path, json: ["role": "king", "reason": "x"], bearer: admin.accessToken).status == .unprocessableContent)
                #expect(try await api.call(.post, path, json: ["role": "seller"], bearer: admin.accessToken).status == .unprocessableContent)
                #expect(try await api.call(.post, "/api/admin/users/\(unverified.accountID)/role", json: ["role": "seller", "reason": "x"], bearer: admin.accessToken)
                    .code == "email_not_verified")
                #expect(try await api.call(.post, "/api/admin/users/\(admin.accountID)/role", json: ["role": "buyer", "reason": "x"], bearer: admin.accessToken)
                    .status == .conflict)
                #expect(try await api.call(.post, path, json: ["role": "buyer", "reason": "x"], bearer: admin.accessToken).code == "role_unchanged")

                let granted = try await api.call(.post, path, json: ["role": "seller", "reason": "Verified shop"], bearer: admin.accessToken)
                #expect(granted.status == .ok && granted["role"] as? String == "seller", "\(granted.raw)")
                // The old token carried the old role; its session ended with the change.
                #expect(try await api.call(.get, "/api/me", bearer: user.accessToken).status == .unauthorized)
                let again = try Grant(try await api.login("roleuser@example.com"))
                #expect(try await api.call(.get, "/api/seller/orders", bearer: again.accessToken).status == .ok)

                // The list finds people by prefix, role and suspension.
                func usernames(_ query: String) async throws -> [String] {
                    let page = try await api.call(.get, "/api/admin/users\(query)", bearer: admin.accessToken)
                    #expect(page.status == .ok, "\(query): \(page.raw)")
                    return (page["items"] as? [[String: Any]])?.compactMap { $0["username"] as? String } ?? []
                }
                #expect(try await usernames("?q=role") == ["roleunverified", "roleuser", "roleroot"])
                #expect(try await usernames("?q=ROLEU") == ["roleunverified", "roleuser"])
                #expect(try await usernames("?q=role_") == [])
                #expect(try await usernames("?role=seller") == ["roleuser"])
                #expect(try await usernames("?suspended=true") == [])
                #expect(try await api.call(.get, "/api/admin/users?suspended=maybe", bearer: admin.accessToken).status == .badRequest)
                #expect(try await api.call(.get, "/api/admin/users", bearer: again.accessToken).status == .forbidden)

                let log = try await api.call(.get, "/api/admin/audit?action=account.role_changed", bearer: admin.accessToken)
                let entry = try #require((log["items"] as? [[String: Any]])?.first)
                #expect((entry["before"] as? [String: Any])?["role"] as? String == "buyer" && (entry["after"] as? [String: Any])?["role"] as? String == "seller")
                #expect(entry["reason"] as? String == "Verified shop")
            }
        }
    }
}
