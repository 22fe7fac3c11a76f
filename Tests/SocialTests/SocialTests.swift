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
struct SocialTests {
    /// Rate limits would refuse 50 registrations from one address; they are tested in AccountsTests.
    static let unlimited = ["AGORA_RATE_LIMITS": "false"]

    @Test func likesAreIdempotentAndExactUnder50ConcurrentToggles() async throws {
        try await TestApp.withApplication(Self.unlimited) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let seller = try await market.seller("maker")
                let product = try #require(try await market.product(seller)["id"] as? String)
                let fan = try await market.api.register("fan")

                let first = try await market.api.call(.put, "/api/products/\(product)/like", bearer: fan.accessToken)
                let again = try await market.api.call(.put, "/api/products/\(product)/like", bearer: fan.accessToken)
                #expect(first["liked"] as? Bool == true && first["likeCount"] as? Int == 1)
                #expect(again["likeCount"] as? Int == 1)
                #expect(try await market.api.call(.get, "/api/products/\(product)", bearer: fan.accessToken)["likedByMe"] as? Bool == true)
                #expect(try await market.api.call(.get, "/api/products/\(product)")["likedByMe"] == nil)
                let mine = try await market.api.call(.get, "/api/me/likes", bearer: fan.accessToken)
                #expect((mine["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [product])

                // 50 concurrent requests from one account, alternating like and unlike, then 50 accounts at once.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<50 {
                        group.addTask {
                            let response = try await market.api.call(index % 2 == 0 ? .delete : .put, "/api/products/\(product)/like", bearer: fan.accessToken)
                            #expect(response.status == .ok)
                        }
                    }
                    try await group.waitForAll()
                }
                let settled = try await services.db.query(
                    "SELECT like_count, (SELECT count(*) FROM product_likes) AS rows FROM products", logger: TestServices.logger
                )[0]
                #expect(try settled.decode("like_count", as: Int.self) == settled.decode("rows", as: Int.self))

                var fans: [Grant] = []
                for index in 0..<50 { fans.append(try await market.api.register("fan\(index)")) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for grant in fans {
                        group.addTask { _ = try await market.api.call(.put, "/api/products/\(product)/like", bearer: grant.accessToken) }
                        group.addTask { _ = try await market.api.call(.put, "/api/products/\(product)/like", bearer: grant.accessToken) }
                    }
                    try await group.waitForAll()
                }
                let liked = try await services.db.query(
                    "SELECT like_count, (SELECT count(*) FROM product_likes) AS rows FROM products", logger: TestServices.logger
                )[0]
                let rows: Int = try liked.decode("rows")
                #expect(rows >= 50 && rows <= 51)
                #expect(try liked.decode("like_count", as: Int.self) == rows)

                // Events: one per change that happened, none for the no-ops.
                let uuid = try #require(UUID(uuidString: product))
                let events = try await services.events.events(kinds: [.productLiked, .productUnliked], subject: uuid, limit: 1000, logger: TestServices.logger)
                let net = events.reduce(0) { $0 + ($1.event.kind == .productLiked ? 1 : -1) }
                #expect(net == rows)

                // A draft cannot be liked.
                let draft = try #require(try await market.product(seller, publish: false)["id"] as? String)
                #expect(try await market.api.call(.put, "/api/products/\(draft)/like", bearer: fan.accessToken).status == .notFound)
                #expect(try await market.api.call(.put, "/api/products/\(product)/like").status == .unauthorized)
            }
        }
    }

    @Test func followsAreIdempotentCountedAndListed() async throws {
        try await TestApp.withApplication(Self.unlimited) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let star = try await market.seller("star")
                let buyer = try await market.api.register("watcher")

                #expect(try await market.api.call(.put, "/api/users/watcher/follow", bearer: buyer.accessToken).code == "cannot_follow_self")
                #expect(try await market.api.call(.put, "/api/users/nobody/follow", bearer: buyer.accessToken).status == .notFound)
                #expect(try await market.api.call(.put, "/api/users/star/follow").status == .unauthorized)
                let followed = try await market.api.call(.put, "/api/users/STAR/follow", bearer: buyer.accessToken)
                #expect(followed["following"] as? Bool == true && followed["followerCount"] as? Int == 1)
                #expect(try await market.api.call(.put, "/api/users/star/follow", bearer: buyer.accessToken)["followerCount"] as? Int == 1)
                let state = try await market.api.call(.get, "/api/users/star/follow", bearer: buyer.accessToken)
                #expect(state["following"] as? Bool == true && state["followerCount"] as? Int == 1 && state["followingCount"] as? Int == 0)
                #expect(try await market.api.call(.get, "/api/users/watcher/follow")["followingCount"] as? Int == 1)

                // 50 followers at once, each sending follow twice, plus unfollow/follow races from the first one.
                var fans: [Grant] = []
                for index in 0..<50 { fans.append(try await market.api.register("follower\(index)")) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for grant in fans {
                        group.addTask { _ = try await market.api.call(.put, "/api/users/star/follow", bearer: grant.accessToken) }
                        group.addTask { _ = try await market.api.call(.put, "/api/users/star/follow", bearer: grant.accessToken) }
                    }
                    for index in 0..<20 {
                        group.addTask { _ = try await market.api.call(index % 2 == 0 ? .delete : .put, "/api/users/star/follow", bearer: buyer.accessToken) }
                    }
                    try await group.waitForAll()
                }
                let rows: Int = try await services.db.query(
                    "SELECT count(*) AS n FROM follows WHERE followee_id = \(try #require(UUID(uuidString: star.accountID)))", logger: TestServices.logger
                )[0].decode("n")
                #expect(rows == 50 || rows == 51)
                #expect(try await market.api.call(.get, "/api/users/star/follow")["followerCount"] as? Int == rows)

                // The follower list pages without gaps or repeats.
                var names: [String] = []
                var cursor: String?
                repeat {
                    let page = try await market.api.call(.get, "/api/users/star/followers?limit=7" + (cursor.map { "&cursor=\($0)" } ?? ""))
                    names += (page["items"] as? [[String: Any]] ?? []).compactMap { ($0["account"] as? [String: Any])?["username"] as? String }
                    cursor = page["nextCursor"] as? String
                } while cursor != nil
                #expect(names.count == rows && Set(names).count == rows)
                let following = try await market.api.call(.get, "/api/users/follower3/following")
                #expect((following["items"] as? [[String: Any]])?.compactMap { ($0["account"] as? [String: Any])?["username"] as? String } == ["star"])

                let unfollowed = try await market.api.call(.delete, "/api/users/star/follow", bearer: fans[0].accessToken)
                #expect(unfollowed["following"] as? Bool == false && unfollowed["followerCount"] as? Int == rows - 1)
                let events = try await services.events.events(kinds: [.userFollowed, .userUnfollowed], limit: 1000, logger: TestServices.logger)
                // One event per change that happened, so followed minus unfollowed is what the table holds.
                let total: Int = try await services.db.query("SELECT count(*) AS n FROM follows", logger: TestServices.logger)[0].decode("n")
                #expect(events.reduce(0) { $0 + ($1.event.kind == .userFollowed ? 1 : -1) } == total)
            }
        }
    }

    @Test func theFeedShowsNewestProductsOfFollowedSellersOnly() async throws {
        try await TestApp.withApplication(["AGORA_CACHE_TTL_MS": "0"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let ana = try await market.seller("ana")
                let ben = try await market.seller("ben")
                let cat = try await market.seller("cat")
                let reader = try await market.api.register("reader")
                #expect(try await market.titles("/api/feed", bearer: reader.accessToken).titles.isEmpty)
                #expect(try await market.api.call(.get, "/api/feed").status == .unauthorized)
                for (seller, name) in [(ana, "ana"), (ben, "ben"), (cat, "cat"), (ana, "ana"), (ben, "ben")] {
                    try await market.product(seller, ["title": "\(name) item \(UUID().uuidString.prefix(4))"])
                }
                try await market.product(ana, ["title": "ana draft"], publish: false)
                _ = try await market.api.call(.put, "/api/users/ana/follow", bearer: reader.accessToken)
                _ = try await market.api.call(.put, "/api/users/ben/follow", bearer: reader.accessToken)
                let first = try await market.titles("/api/feed?limit=3", bearer: reader.accessToken)
                let second = try await market.titles("/api/feed?limit=3&cursor=\(try #require(first.next))", bearer: reader.accessToken)
                let all = first.titles + second.titles
                #expect(all.count == 4 && second.next == nil)
                #expect(all.allSatisfy { $0.hasPrefix("ana item") || $0.hasPrefix("ben item") })
                // Newest first: the last two created lead.
                #expect(all[0].hasPrefix("ben item") && all[1].hasPrefix("ana item"))
                // Following someone new between pages does not break the cursor.
                _ = try await market.api.call(.put, "/api/users/cat/follow", bearer: reader.accessToken)
                #expect(try await market.api.call(.get, "/api/feed?limit=3&cursor=\(try #require(first.next))", bearer: reader.accessToken).status == .ok)
            }
        }
    }
}
