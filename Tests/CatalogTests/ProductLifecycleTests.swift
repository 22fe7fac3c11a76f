import AgoraApp
import AgoraCore
import AgoraEvents
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ProductLifecycleTests {
    @Test func sellersOwnTheirProductsAndDraftsStayPrivate() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let bob = try await market.seller("bob")
                let buyer = try await market.api.register("carol")

                // Buyers cannot list things; anonymous callers cannot either.
                let byBuyer = try await market.api.call(.post, "/api/products", json: ["title": "Nope", "price": ["amount": 1, "currency": "ZAR"]], bearer: buyer.accessToken)
                #expect(byBuyer.status == .forbidden && byBuyer.code == "role_required")
                #expect(try await market.api.call(.post, "/api/products", json: ["title": "Nope"]).status == .unauthorized)

                let draft = try await market.product(alice, ["title": "Vintage camera", "location": ["lat": -33.9, "lng": 18.4]], publish: false)
                let id = try #require(draft["id"] as? String)
                #expect(draft["status"] as? String == "draft" && draft["stock"] as? Int == 5 && draft["available"] as? Int == 5)

                // A draft is visible to its seller only: 404 (not 403) for everyone else, so its existence does not leak.
                #expect(try await market.api.call(.get, "/api/products/\(id)").status == .notFound)
                #expect(try await market.api.call(.get, "/api/products/\(id)", bearer: bob.accessToken).status == .notFound)
                #expect(try await market.api.call(.get, "/api/products/\(id)", bearer: alice.accessToken).status == .ok)

                // Another seller can touch nothing of it.
                let patch = try await market.api.call(.patch, "/api/products/\(id)", json: ["title": "Mine now"], bearer: bob.accessToken)
                #expect(patch.status == .notFound)
                for action in ["publish", "unpublish", "archive"] {
                    #expect(try await market.api.call(.post, "/api/products/\(id)/\(action)", bearer: bob.accessToken).status == .notFound)
                }
                let unchanged = try await market.api.call(.get, "/api/products/\(id)", bearer: alice.accessToken)
                #expect(unchanged["title"] as? String == "Vintage camera" && unchanged["status"] as? String == "draft")

                // Draft → unpublish is not a transition; publish is, and twice is a no-op.
                #expect(try await market.api.call(.post, "/api/products/\(id)/unpublish", bearer: alice.accessToken).code == "invalid_transition")
                #expect(try await market.api.call(.post, "/api/products/\(id)/publish", bearer: alice.accessToken).status == .ok)
                let again = try await market.api.call(.post, "/api/products/\(id)/publish", bearer: alice.accessToken)
                #expect(again.status == .ok && again["status"] as? String == "published")

                // Published: public, without the seller-only fields.
                let seen = try await market.api.call(.get, "/api/products/\(id)")
                #expect(seen.status == .ok && seen["stock"] == nil && seen["available"] as? Int == 5)
                #expect((seen["seller"] as? [String: Any])?["username"] as? String == "alice")
                #expect(try await market.titles("/api/products").titles == ["Vintage camera"])

                // Archive: gone from the public, kept for its seller, and final.
                #expect(try await market.api.call(.post, "/api/products/\(id)/archive", bearer: alice.accessToken).status == .ok)
                #expect(try await market.api.call(.get, "/api/products/\(id)").status == .notFound)
                #expect(try await market.titles("/api/products").titles.isEmpty)
                #expect(try await market.api.call(.post, "/api/products/\(id)/publish", bearer: alice.accessToken).code == "invalid_transition")
                #expect(try await market.api.call(.patch, "/api/products/\(id)", json: ["title": "Back"], bearer: alice.accessToken).code == "product_archived")
                let mine = try await market.api.call(.get, "/api/me/products", bearer: alice.accessToken)
                #expect((mine["items"] as? [[String: Any]])?.first?["status"] as? String == "archived")
                let rows = try await services.db.query("SELECT count(*) AS n FROM products", logger: TestServices.logger)
                #expect(try rows[0].decode("n", as: Int.self) == 1)
            }
        }
    }

    @Test func invalidFieldsAreAllNamedInOne422AndNothingIsWritten() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let bad = try await market.api.call(.post, "/api/products", json: [
                    "title": "ab", "description": 42, "price": ["amount": -1, "currency": "ZAR"], "condition": "mint",
                    "tags": Array(repeating: "x", count: 3) + (1...10).map { "tag\($0)" }, "stock": -1, "lowStockThreshold": "many",
                    "type": "service", "location": ["lat": 91, "lng": 0], "categoryId": "not-a-uuid",
                ], bearer: alice.accessToken)
                #expect(bad.status == .unprocessableContent && bad.code == "validation_failed")
                #expect(Set(bad.fields.keys) == [
                    "title", "description", "price", "condition", "tags", "stock", "lowStockThreshold", "type", "location", "categoryId",
                ])
                #expect(bad.fields["description"] == "must be a string")

                let missing = try await market.api.call(.post, "/api/products", json: [:], bearer: alice.accessToken)
                #expect(missing.fields == ["title": "is required", "price": "is required"])
                let currency = try await market.api.call(.post, "/api/products", json: ["title": "Lamp", "price": ["amount": 100, "currency": "zar"]], bearer: alice.accessToken)
                #expect(currency.fields["price"]?.contains("ISO 4217") == true)
                let unknownCategory = try await market.api.call(.post, "/api/products", json: [
                    "title": "Lamp", "price": ["amount": 100, "currency": "ZAR"], "categoryId": UUID().uuidString,
                ], bearer: alice.accessToken)
                #expect(unknownCategory.fields == ["categoryId": "does not name a category"])
                let notJSON = try await market.api.call(.post, "/api/products", bearer: alice.accessToken, headers: [.contentType: "application/json"])
                #expect(notJSON.status == .badRequest)

                let rows = try await services.db.query("SELECT count(*) AS n FROM products", logger: TestServices.logger)
                #expect(try rows[0].decode("n", as: Int.self) == 0)

                // A bad PATCH changes nothing either, not even its valid fields.
                let product = try await market.product(alice, ["title": "Desk lamp", "tags": ["Lighting", "lighting ", "desk"]])
                #expect(product["tags"] as? [String] == ["lighting", "desk"])
                let id = try #require(product["id"] as? String)
                let patch = try await market.api.call(.patch, "/api/products/\(id)", json: ["title": "Better lamp", "stock": -5], bearer: alice.accessToken)
                #expect(patch.fields == ["stock": "must be from 0 to 1000000"])
                #expect(try await market.api.call(.get, "/api/products/\(id)")["title"] as? String == "Desk lamp")
            }
        }
    }

    @Test func patchChangesOnlyWhatIsSentAndRecordsPriceAndStockEvents() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let product = try await market.product(alice, [
                    "title": "Road bike", "description": "Steel frame", "location": ["lat": 1, "lng": 2], "lowStockThreshold": 2,
                ])
                let id = try #require(product["id"] as? String)
                let patched = try await market.api.call(.patch, "/api/products/\(id)", json: [
                    "price": ["amount": 1500, "currency": "ZAR"], "stock": 1, "location": nil,
                ], bearer: alice.accessToken)
                #expect(patched.status == .ok)
                #expect(patched["title"] as? String == "Road bike" && patched["description"] as? String == "Steel frame")
                #expect(patched["location"] == nil && patched["stock"] as? Int == 1)
                #expect((patched["price"] as? [String: Any])?["amount"] as? Int == 1500)

                let uuid = try #require(UUID(uuidString: id))
                let events = try await services.events.events(subject: uuid, logger: TestServices.logger).map(\.event)
                #expect(events.map(\.kind) == [.productPublished, .productPriceChanged, .productStockChanged])
                #expect(events[1].payload["oldAmount"] == .int(1000) && events[1].payload["amount"] == .int(1500))
                #expect(events[2].payload["stock"] == .int(1) && events[2].payload["lowStock"] == .bool(true))
                #expect(events.allSatisfy { $0.actorID == UUID(uuidString: alice.accountID) })

                // A PATCH that changes neither price nor stock records nothing more.
                _ = try await market.api.call(.patch, "/api/products/\(id)", json: ["title": "Road bike, 56 cm"], bearer: alice.accessToken)
                #expect(try await services.events.events(subject: uuid, logger: TestServices.logger).count == 3)
            }
        }
    }
}
