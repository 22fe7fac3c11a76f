import AgoraApp
import AgoraPostgres
import AgoraRedis
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Catalog

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct CacheAndViewTests {
    @Test func editsAreVisibleAtOnceThoughDetailsAndListingsAreCached() async throws {
        try await TestApp.withApplication(["AGORA_CACHE_TTL_MS": "60000"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let id = try #require(try await market.product(alice, ["title": "Teapot"])["id"] as? String)
                let uuid = try #require(UUID(uuidString: id))
                #expect(try await market.api.call(.get, "/api/products/\(id)")["title"] as? String == "Teapot")
                #expect(try await market.titles("/api/products").titles == ["Teapot"])
                // The cached copy is the public view; the seller still gets their own, with stock.
                #expect(try await market.api.call(.get, "/api/products/\(id)")["stock"] == nil)
                #expect(try await market.api.call(.get, "/api/products/\(id)", bearer: alice.accessToken)["stock"] as? Int == 5)

                // Behind the service's back: served from Redis, the row change is invisible.
                try await services.db.execute("UPDATE products SET title = 'Changed behind the cache' WHERE id = \(uuid)", logger: TestServices.logger)
                #expect(try await market.api.call(.get, "/api/products/\(id)")["title"] as? String == "Teapot")
                #expect(try await market.titles("/api/products").titles == ["Teapot"])

                // Through the service: the edit invalidates, and the next read shows the row as it is.
                let patched = try await market.api.call(.patch, "/api/products/\(id)", json: ["price": ["amount": 4242, "currency": "ZAR"]], bearer: alice.accessToken)
                #expect(patched.status == .ok)
                let fresh = try await market.api.call(.get, "/api/products/\(id)")
                #expect((fresh["price"] as? [String: Any])?["amount"] as? Int == 4242)
                #expect(fresh["title"] as? String == "Changed behind the cache")
                #expect(try await market.titles("/api/products").titles == ["Changed behind the cache"])

                // Publishing another product shows up in the cached first page at once; unpublishing removes it.
                let other = try #require(try await market.product(alice, ["title": "Kettle"])["id"] as? String)
                #expect(try await market.titles("/api/products").titles == ["Kettle", "Changed behind the cache"])
                _ = try await market.api.call(.post, "/api/products/\(other)/unpublish", bearer: alice.accessToken)
                #expect(try await market.titles("/api/products").titles == ["Changed behind the cache"])
                #expect(try await market.api.call(.get, "/api/products/\(other)").status == .notFound)
            }
        }
    }

    @Test func likeCountsInCachedDetailsLagByAtMostTheTTL() async throws {
        try await TestApp.withApplication(["AGORA_CACHE_TTL_MS": "1500"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let id = try #require(try await market.product(alice)["id"] as? String)
                let fan = try await market.api.register("fan")
                #expect(try await market.api.call(.get, "/api/products/\(id)")["likeCount"] as? Int == 0)
                #expect(try await market.api.call(.put, "/api/products/\(id)/like", bearer: fan.accessToken)["likeCount"] as? Int == 1)
                // likedByMe is per caller and never cached; the count is the cached one until the entry expires.
                let cached = try await market.api.call(.get, "/api/products/\(id)", bearer: fan.accessToken)
                #expect(cached["likedByMe"] as? Bool == true && cached["likeCount"] as? Int == 0)
                try await Task.sleep(for: .milliseconds(1800))
                #expect(try await market.api.call(.get, "/api/products/\(id)")["likeCount"] as? Int == 1)
            }
        }
    }

    @Test func aReaderThatReadBeforeAnEditCannotStoreItsStaleCopy() async throws {
        try await TestApp.withApplication { _, services in
            let cache = CatalogCache(redis: services.redis, prefix: TestServices.uniqueName("cache") + ":", ttl: .seconds(60))
            let product = UUID()
            let keys = cache.productKeys(product)
            guard case .miss(let version) = await cache.lookup(keys, logger: TestServices.logger) else {
                Issue.record("expected a miss")
                return
            }
            // The edit commits and invalidates while the reader is still reading PostgreSQL...
            await cache.invalidate(products: [product], logger: TestServices.logger)
            // ...so the reader's store, made with the version it saw before, is refused.
            await cache.store(Array("stale".utf8), keys, seen: version, logger: TestServices.logger)
            guard case .miss(let newer) = await cache.lookup(keys, logger: TestServices.logger) else {
                Issue.record("a stale value was stored")
                return
            }
            #expect(newer != version)
            await cache.store(Array("fresh".utf8), keys, seen: newer, logger: TestServices.logger)
            guard case .hit(let bytes) = await cache.lookup(keys, logger: TestServices.logger) else {
                Issue.record("a current value was not stored")
                return
            }
            #expect(String(decoding: bytes, as: UTF8.self) == "fresh")
        }
    }

    @Test func viewsCountOncePerViewerPerWindowAndFlushInBatches() async throws {
        try await TestApp.withApplication(["AGORA_VIEW_FLUSH_INTERVAL_MS": "3600000"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let id = try #require(try await market.product(alice)["id"] as? String)
                let reader = try await market.api.register("reader")
                for _ in 0..<3 {
                    _ = try await market.api.call(.get, "/api/products/\(id)")  // anonymous: one viewer (by address)
                    _ = try await market.api.call(.get, "/api/products/\(id)", bearer: reader.accessToken)
                    _ = try await market.api.call(.get, "/api/products/\(id)", bearer: alice.accessToken)  // the seller: not a view
                }
                #expect(try await services.views.flush(logger: TestServices.logger) == 2)
                #expect(try await services.views.flush(logger: TestServices.logger) == 0)  // taken once, by one flusher
                // The same viewer in a later batch: the marker in Redis still holds for the window.
                _ = try await market.api.call(.get, "/api/products/\(id)", bearer: reader.accessToken)
                #expect(try await services.views.flush(logger: TestServices.logger) == 0)
                let count: Int64 = try await services.db.query(
                    "SELECT view_count FROM products WHERE id = \(try #require(UUID(uuidString: id)))", logger: TestServices.logger
                )[0].decode("view_count")
                #expect(count == 2)
                // Two flushers racing over the same pending counts write each view once.
                let other = try await market.api.register("other")
                _ = try await market.api.call(.get, "/api/products/\(id)", bearer: other.accessToken)
                async let first = services.views.flush(logger: TestServices.logger)
                async let second = services.views.flush(logger: TestServices.logger)
                #expect(try await first + second == 1)
            }
        }
    }
}
