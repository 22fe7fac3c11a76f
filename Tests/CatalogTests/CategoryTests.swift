import AgoraApp
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct CategoryTests {
    @Test func adminsKeepATreeWithUniqueSlugsAndNoCycles() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let admin = try await market.admin("boss")
                let seller = try await market.seller("shop")
                func create(_ slug: String, _ parent: String? = nil) async throws -> String {
                    let response = try await market.api.call(.post, "/api/categories", json: ["slug": slug, "name": slug.capitalized, "parentId": parent], bearer: admin.accessToken)
                    try #require(response.status == .created, "\(response.raw)")
                    return try #require(response["id"] as? String)
                }
                // Only admins write; everyone reads.
                #expect(try await market.api.call(.post, "/api/categories", json: ["slug": "x", "name": "X"], bearer: seller.accessToken).status == .forbidden)
                #expect(try await market.api.call(.post, "/api/categories", json: ["slug": "x", "name": "X"]).status == .unauthorized)

                let home = try await create("home")
                let kitchen = try await create("kitchen", home)
                let knives = try await create("knives", kitchen)
                let garden = try await create("garden")

                let tree = try await market.api.call(.get, "/api/categories")
                let roots = try #require(tree["categories"] as? [[String: Any]])
                #expect(roots.compactMap { $0["slug"] as? String } == ["garden", "home"])
                let homeNode = try #require(roots.first { $0["slug"] as? String == "home" })
                let kitchenNode = try #require((homeNode["children"] as? [[String: Any]])?.first)
                #expect(kitchenNode["slug"] as? String == "kitchen")
                #expect(((kitchenNode["children"] as? [[String: Any]])?.first)?["slug"] as? String == "knives")

                // Slugs: unique and well-formed.
                let taken = try await market.api.call(.post, "/api/categories", json: ["slug": "HOME", "name": "Again"], bearer: admin.accessToken)
                #expect(taken.status == .unprocessableContent && taken.fields["slug"] == "is taken")
                let malformed = try await market.api.call(.post, "/api/categories", json: ["slug": "no spaces--here", "name": ""], bearer: admin.accessToken)
                #expect(Set(malformed.fields.keys) == ["slug", "name"])
                let orphan = try await market.api.call(.post, "/api/categories", json: ["slug": "orphan", "name": "Orphan", "parentId": UUID().uuidString], bearer: admin.accessToken)
                #expect(orphan.fields["parentId"] == "does not name a category")

                // No cycles: not under itself, not under a descendant.
                #expect(try await market.api.call(.patch, "/api/categories/\(home)", json: ["parentId": knives], bearer: admin.accessToken).code == "category_cycle")
                #expect(try await market.api.call(.patch, "/api/categories/\(home)", json: ["parentId": home], bearer: admin.accessToken).code == "category_cycle")
                // A legal move, and back to the top level with null.
                let moved = try await market.api.call(.patch, "/api/categories/\(kitchen)", json: ["parentId": garden, "name": "Outdoor kitchen"], bearer: admin.accessToken)
                #expect(moved["parentId"] as? String == garden && moved["name"] as? String == "Outdoor kitchen")
                let top = try await market.api.call(.patch, "/api/categories/\(kitchen)", json: ["parentId": nil], bearer: admin.accessToken)
                #expect(top.status == .ok && top["parentId"] == nil)
                #expect(try await market.api.call(.patch, "/api/categories/\(UUID())", json: ["name": "Ghost"], bearer: admin.accessToken).status == .notFound)

                // Delete: not while children or products use it.
                #expect(try await market.api.call(.delete, "/api/categories/\(kitchen)", bearer: admin.accessToken).code == "category_in_use")
                try await market.product(seller, ["categoryId": knives])
                #expect(try await market.api.call(.delete, "/api/categories/\(knives)", bearer: admin.accessToken).code == "category_in_use")
                #expect(try await market.api.call(.delete, "/api/categories/\(home)", bearer: admin.accessToken).status == .noContent)
                #expect(try await market.api.call(.delete, "/api/categories/\(home)", bearer: admin.accessToken).status == .notFound)
            }
        }
    }

    @Test func concurrentOpposingMovesCannotMakeACycle() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let admin = try await market.admin("boss")
                var ids: [String] = []
                for slug in ["a", "b"] {
                    let response = try await market.api.call(.post, "/api/categories", json: ["slug": slug, "name": slug], bearer: admin.accessToken)
                    ids.append(try #require(response["id"] as? String))
                }
                // A under B and B under A at once: each alone is legal, together a cycle. One must lose.
                async let first = market.api.call(.patch, "/api/categories/\(ids[0])", json: ["parentId": ids[1]], bearer: admin.accessToken)
                async let second = market.api.call(.patch, "/api/categories/\(ids[1])", json: ["parentId": ids[0]], bearer: admin.accessToken)
                let statuses = [try await first.status, try await second.status]
                #expect(statuses.filter { $0 == .ok }.count == 1 && statuses.contains(.unprocessableContent))
            }
        }
    }
}
