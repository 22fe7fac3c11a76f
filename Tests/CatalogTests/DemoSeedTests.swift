import AgoraApp
import AgoraDemo
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct DemoSeedTests {
    @Test func theDemoMarketplaceIsARealShopAndLoadsOnlyOnce() async throws {
        try await TestApp.withApplication(["AGORA_CACHE_TTL_MS": "0"]) { app, services in
            _ = try await PGMigrator(pool: services.db).migrate(try Migrations.all(), logger: TestServices.logger)
            let summary = try #require(try await DemoSeed.seedIfEmpty(services, imageSize: (48, 36), logger: TestServices.logger))
            #expect(summary.products >= 20 && summary.categories >= 8)
            #expect(try await DemoSeed.seedIfEmpty(services, imageSize: (48, 36), logger: TestServices.logger) == nil)
            try await app.test(.router) { client in
                let api = API(client: client)
                let page = try await api.call(.get, "/api/products?limit=100")
                let items = try #require(page["items"] as? [[String: Any]])
                #expect(items.count == summary.products)
                #expect(Set(items.compactMap { ($0["seller"] as? [String: Any])?["username"] as? String }).count == 4)
                #expect(Set(items.compactMap { ($0["category"] as? [String: Any])?["slug"] as? String }).count >= 8)
                // Every product has an image that is served.
                for item in items {
                    let url = try #require(((item["images"] as? [[String: Any]])?.first?["url"] as? String))
                    try await client.execute(uri: url, method: .get) { #expect($0.status == .ok && $0.headers[.contentType] == "image/png") }
                }
                #expect(Set(try #require(try await api.call(.get, "/api/products?type=key,credential,link")["items"] as? [[String: Any]]).compactMap { $0["type"] as? String }) == ["key", "credential", "link"])
                // The demo accounts work with the documented password, and the buyer follows sellers.
                let login = try await api.login("demo_buyer@demo.agora.local", DemoSeed.password)
                #expect(login.status == .ok)
                let feed = try await api.call(.get, "/api/feed", bearer: login["accessToken"] as? String)
                #expect((feed["items"] as? [[String: Any]])?.isEmpty == false)
                // The demo buyer's address book: Home (the default) and Work, the province stored by its name.
                let book = try await api.call(.get, "/api/addresses", bearer: try #require(login["accessToken"] as? String))
                let saved = book["items"] as? [[String: Any]] ?? []
                #expect(saved.map { $0["label"] as? String } == ["Home", "Work"] && saved.first?["isDefault"] as? Bool == true)
                #expect((saved.last?["address"] as? [String: Any])?["region"] as? String == "Gauteng")
                #expect(try await api.call(.get, "/api/products?sort=likes&limit=1")["items"].map { ($0 as? [[String: Any]])?.first?["likeCount"] as? Int } != 0)
            }
        }
    }
}
