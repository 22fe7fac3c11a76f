import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import Commerce

/// What a client can send that once crashed the process or answered 500: each is now a 4xx that changes nothing.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct EdgeInputTests {
    @Test func anEmptyContentTypeOnAnInventoryUploadIsA415AndTheProcessLives() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("emptytype")
                // Before the fix this trapped (split(";")[0] of an empty header) before the product was looked up.
                let upload = try await shop.upload("A\n", to: UUID().uuidString, as: seller, contentType: "")
                #expect(upload.status == .unsupportedMediaType && upload.code == "unsupported_media_type")
                let product = try await shop.product(seller, ["title": "A key", "type": "key", "price": ["amount": 100, "currency": "ZAR"]])
                #expect(try await shop.upload("A\n", to: product, as: seller, contentType: " ; charset=utf-8").status == .unsupportedMediaType)
                #expect(try await shop.api.call(.get, "/health").status == .ok)
            }
        }
    }

    @Test func aNULInAQueryParameterIsA422NamingIt() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let api = API(client: client)
                for name in ["q", "category", "seller"] {
                    let response = try await api.call(.get, "/api/products?\(name)=a%00b")
                    #expect(response.status == .unprocessableContent && response.code == "invalid_text", "\(name): \(response.raw)")
                    #expect(response.fields[name] == "must not contain NUL characters")
                }
                #expect(try await api.call(.get, "/api/users/a%00b").status == .badRequest)
                // An encoded percent sign followed by 00 is not a NUL.
                #expect(try await api.call(.get, "/api/products?q=%2500").status == .ok)
            }
        }
    }

    @Test func aNULInAnyJSONStringIsA422NamingTheFieldAndChangesNothing() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let api = shop.api
                let seller = try await shop.market.seller("nulseller")
                let buyer = try await shop.buyer("nulbuyer")
                let product = try await shop.product(seller)
                let nul = "a\u{0}b"

                func expectNUL(_ response: APIResponse, _ field: String, sourceLocation: SourceLocation = #_sourceLocation) {
                    #expect(response.status == .unprocessableContent, "\(response.raw)", sourceLocation: sourceLocation)
                    #expect(response.code == "invalid_text" && response.fields[field] == "must not contain NUL characters", "\(response.raw)", sourceLocation: sourceLocation)
                }
                expectNUL(try await api.call(.post, "/api/auth/login", json: ["email": "x\u{0}@example.com", "password": "whatever-it-is"]), "email")
                expectNUL(try await api.call(.post, "/api/auth/password-reset", json: ["email": nul]), "email")
                let opened = try await api.call(.post, "/api/conversations", json: ["userId": seller.accountID, "productId": product], bearer: buyer.accessToken)
                let conversation = try #require((opened["conversation"] as? [String: Any])?["id"] as? String ?? opened["id"] as? String, "\(opened.raw)")
                expectNUL(try await api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": nul], bearer: buyer.accessToken), "text")
                expectNUL(
                    try await api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "hi", "clientId": nul], bearer: buyer.accessToken),
                    "clientId"
                )
                expectNUL(try await api.call(.post, "/api/products/\(product)/reviews", json: ["rating": 5, "body": nul], bearer: buyer.accessToken), "body")
                expectNUL(try await api.call(.post, "/api/reviews/\(UUID())/reply", json: ["reply": nul], bearer: seller.accessToken), "reply")
                expectNUL(try await api.call(.post, "/api/seller/payouts", json: ["currency": nul], bearer: seller.accessToken), "currency")
                // Nested fields are named by their path.
                expectNUL(
                    try await api.call(.post, "/api/checkout", json: ["shippingAddress": ["name": "A", "line1": nul]], bearer: buyer.accessToken),
                    "shippingAddress.line1"
                )
                #expect(try await shop.int("SELECT count(*) FROM messages") == 0)
            }
        }
    }

    @Test func aCursorWithATimeOutsideAnyCalendarIsNoCrashAndNo500() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let seller = try await market.seller("cursorseller")
                _ = try await market.product(seller)
                // `at` at Int64.min once trapped converting to PostgreSQL's epoch; far past (before 4713 BC) was a 500.
                for at in [Int64.min, Int64.max, -300_000_000_000_000_000, 9_000_000_000_000_000_000] {
                    let json = "{\"at\":\(at),\"id\":\"00000000-0000-0000-0000-000000000000\"}"
                    let cursor = Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
                    for path in ["/api/users/cursorseller/followers", "/api/products/\(UUID())/reviews", "/api/me/products"] {
                        let response = try await market.api.call(.get, "\(path)?cursor=\(cursor)", bearer: seller.accessToken)
                        #expect(response.status.code < 500, "\(path) at=\(at): \(response.raw)")
                    }
                }
                #expect(try await market.api.call(.get, "/health").status == .ok)
            }
        }
    }

    @Test func anOutOfRangeCategoryPositionIsA422() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let admin = try await market.admin("positions")
                let created = try await market.api.call(
                    .post, "/api/categories", json: ["slug": "far", "name": "Far", "position": Int64.max], bearer: admin.accessToken
                )
                #expect(created.status == .unprocessableContent && created.fields["position"] != nil, "\(created.raw)")
                let fine = try await market.api.call(.post, "/api/categories", json: ["slug": "near", "name": "Near", "position": 3], bearer: admin.accessToken)
                let id = try #require(fine["id"] as? String, "\(fine.raw)")
                let moved = try await market.api.call(.patch, "/api/categories/\(id)", json: ["position": -9_223_372_036_854_775_807], bearer: admin.accessToken)
                #expect(moved.status == .unprocessableContent && moved.fields["position"] != nil)
            }
        }
    }

    @Test func namesAndTitlesRefuseTextDirectionAndInvisibleCharacters() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let seller = try await market.seller("bidiseller")
                let reversed = try await market.api.call(.patch, "/api/me", json: ["displayName": "Thandi\u{202E}gpj.exe"], bearer: seller.accessToken)
                #expect(reversed.status == .unprocessableContent && reversed.fields["displayName"]?.contains("invisible or text-direction") == true)
                let hidden = try await market.api.call(
                    .post, "/api/products", json: ["title": "Ni\u{200B}ke shoes", "price": ["amount": 100, "currency": "ZAR"]], bearer: seller.accessToken
                )
                #expect(hidden.status == .unprocessableContent && hidden.fields["title"] != nil)
                // Joiners stay: emoji sequences and several scripts need them.
                let family = try await market.api.call(.patch, "/api/me", json: ["displayName": "The 👨\u{200D}👩\u{200D}👧 shop"], bearer: seller.accessToken)
                #expect(family.status == .ok, "\(family.raw)")
            }
        }
    }

    @Test func aSignedWebhookWithAMalformedIdIsA400AndRecordsNothing() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let signer = services.simulatedPayments.signer
                func event(id: String, session: String = "sim_x") -> [UInt8] {
                    let object: [String: Any] = [
                        "id": id, "type": "payment.succeeded",
                        "data": ["session": session, "orderId": UUID().uuidString, "amount": 100, "currency": "ZAR"],
                    ]
                    return Array(try! JSONSerialization.data(withJSONObject: object))
                }
                for payload in [event(id: ""), event(id: String(repeating: "e", count: 100_000)), event(id: "evt\u{0}1"), event(id: "evt_1", session: "s\u{0}")] {
                    let signature = signer.header(payload: payload, timestamp: Int64(Date().timeIntervalSince1970))
                    let response = try await shop.deliver((payload, signature))
                    #expect(response.status == .badRequest && response.code == "invalid_payload", "\(response.raw.prefix(300))")
                }
                #expect(try await shop.int("SELECT count(*) FROM payment_events") == 0)
            }
        }
    }

    @Test func aMalformedChunkedBodyIsA400() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, _ in
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let request = "POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
                let answer = try await RawHTTP.exchange(port: port, Array(request.utf8))
                #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(200))")
                #expect(answer.contains("\"code\":\"malformed_request\""))
            }
        }
    }
}
