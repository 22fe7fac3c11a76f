import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct RedisDownTests {
    /// With Redis unreachable the catalog still answers from PostgreSQL: the cache reads fall through, writes and
    /// invalidations are skipped (logged), and views wait in memory for the next flush.
    @Test func browsingWorksWithoutRedis() async throws {
        try await TestApp.withApplication(["AGORA_REDIS_URL": "redis://127.0.0.1:1/0", "AGORA_CACHE_TTL_MS": "60000"]) { app, services in
            let log = TestServices.logger
            _ = try await PGMigrator(pool: services.db).migrate(try Migrations.all(), logger: log)
            let seller: UUID = try await services.db.query(
                "INSERT INTO accounts (email, username, display_name, password_hash, role) VALUES ('s@x.io', 'seller', 'Seller', 'x', 'seller') RETURNING id",
                logger: log
            )[0].decode("id")
            var input = ProductInput()
            input.title = .set("Offline kettle")
            input.price = .set(.init(amount: 1200, currency: "ZAR"))
            let product = try await services.products.create(seller: seller, input, logger: log)
            _ = try await services.products.transition(product.id, seller: seller, .publish, logger: log)
            try await app.test(.router) { client in
                let api = API(client: client)
                let page = try await api.call(.get, "/api/products?q=kettle")
                #expect(page.status == .ok)
                #expect((page["items"] as? [[String: Any]])?.compactMap { $0["title"] as? String } == ["Offline kettle"])
                let detail = try await api.call(.get, "/api/products/\(product.id)")
                #expect(detail.status == .ok && detail["title"] as? String == "Offline kettle")
                // An edit while Redis is away is still visible at once: nothing could be cached to go stale.
                var rename = ProductInput()
                rename.title = .set("Offline kettle, 1.7 l")
                _ = try await services.products.update(product.id, seller: seller, rename, logger: log)
                let edited = try await api.call(.get, "/api/products/\(product.id)")
                #expect(edited["title"] as? String == "Offline kettle, 1.7 l")
            }
        }
    }
}
