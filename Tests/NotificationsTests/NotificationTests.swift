import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Notifications
import Realtime
import Testing

/// Domain events become notifications and live events on the right sockets, on whichever instance they are.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct NotificationTests {
    static var address: [String: Any] { ["name": "Thandi N", "line1": "12 Long Street", "city": "Cape Town", "region": "Western Cape", "postalCode": "8001", "country": "ZA"] }

    /// Notices stored together (a relay batch) count up one by one, a muted kind is skipped and not counted, and
    /// marking read takes away only what was unread: the kept count agrees with the rows throughout.
    @Test func aBatchOfNoticesCountsUpAndReadingCountsDown() async throws {
        try await TestApp.withApplication { _, services in
            let log = TestServices.logger
            // Migrations run when the server starts; this test has no server, so apply them here.
            _ = try await PGMigrator(pool: services.db).migrate(try Migrations.all(), logger: log)
            let (user, other) = (UUID(), UUID())
            for (id, name) in [(user, "countme"), (other, "countother")] {
                try await services.db.execute(
                    "INSERT INTO accounts (id, email, username, display_name, password_hash) VALUES (\(id), \(name + "@example.test"), \(name), \(name), 'x')",
                    logger: log
                )
            }
            try await services.db.execute("INSERT INTO notification_mutes (user_id, kind) VALUES (\(user), 'like')", logger: log)
            let entries = try await services.db.withTransaction(logger: log) { tx in
                try await services.notifications.notify([
                    .init(user, .order, data: ["n": .integer(1)]), .init(other, .order, data: [:]), .init(user, .like, data: [:]),
                    .init(user, .lowStock, data: ["n": .integer(2)]),
                ], in: tx)
            }
            func unread(_ entry: StreamEntry?) throws -> Int? {
                guard let entry else { return nil }
                return (try JSONSerialization.jsonObject(with: Data(entry.data.utf8)) as? [String: Any])?["unread"] as? Int
            }
            #expect(try entries.map(unread) == [1, 1, nil, 2])
            #expect(try await services.notifications.unreadCount(user, logger: log) == 2)
            let page = try await services.notifications.list(user, limit: 10, cursor: nil, logger: log)
            #expect(page.items.map(\.kind) == ["low_stock", "order"] && page.unread == 2)
            let first = try #require(page.items.last?.id)
            #expect(try await services.notifications.markRead(user, id: first, logger: log) == 1)
            #expect(try await services.notifications.markRead(user, id: first, logger: log) == 1, "a second read takes nothing away")
            await #expect(throws: AgoraError.self) { try await services.notifications.markRead(other, id: first, logger: log) }
            let single = try await services.db.withTransaction(logger: log) { tx in
                try await services.notifications.notify(user, .order, data: [:], in: tx)
            }
            #expect(try unread(single) == 2)
            #expect(try await services.notifications.markRead(user, id: nil, logger: log) == 0)
            #expect(try await services.notifications.unreadCount(other, logger: log) == 1)
            let rows = try await services.db.query("SELECT count(*) AS n FROM notifications WHERE user_id = \(user) AND read_at IS NULL", logger: log)
            #expect(try rows.one().decode("n", as: Int64.self) == 0)
        }
    }

    /// The buyer pays on instance A; the seller, connected to B, gets the new order live with its summary, and the
    /// buyer's socket on A gets the order's status.
    @Test func theSellerHearsOfAPaidOrderLive() async throws {
        try await Cluster.with(2, ["AGORA_RELAY_INTERVAL_MS": "20"]) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let market = Market(api: a.api, services: a.services)
            let seller = try await market.seller("liveseller")
            let buyer = try await a.api.register("livebuyer")
            let product = try #require(try await market.product(seller, ["title": "Clay teapot", "stock": 3])["id"] as? String)

            let sellerSocket = try await TestSocket.resuming(port: b.port, token: seller.accessToken, after: 0)
            _ = try await sellerSocket.expect("ack", skipping: ["presence"])
            let buyerSocket = try await TestSocket.resuming(port: a.port, token: buyer.accessToken, after: 0)
            _ = try await buyerSocket.expect("ack", skipping: ["presence"])

            let added = try await a.api.call(.post, "/api/cart/items", json: ["productId": product, "quantity": 1], bearer: buyer.accessToken)
            #expect(added.status == .ok, "\(added.raw)")
            let placed = try await a.api.call(.post, "/api/checkout", json: ["shippingAddress": Self.address], bearer: buyer.accessToken)
            #expect(placed.status == .created, "\(placed.raw)")
            let order = try #require(placed["id"] as? String)
            let pending = try await buyerSocket.expect("order:status")
            #expect(pending.data["status"] as? String == "pending_payment")
            #expect((pending.data["orderId"] as? String)?.uppercased() == order.uppercased())

            let url = try #require((placed["payment"] as? [String: Any])?["url"] as? String)
            let session = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "session" }?.value)
            let paid = try await a.api.call(.post, "/api/payments/simulated/\(session)/complete", json: ["outcome": "paid"])
            #expect(paid.status == .ok, "\(paid.raw)")

            // The seller: the order's status and the notification, with the summary.
            var sawStatus = false
            var notice: [String: Any]?
            while notice == nil || !sawStatus {
                let message = try #require(try await sellerSocket.next())
                switch message["type"] as? String {
                case "order:status": sawStatus = message.data["status"] as? String == "paid"
                case "notification:new": notice = message.data
                default: Issue.record("unexpected \(message)")
                }
            }
            let notification = try #require(notice?["notification"] as? [String: Any])
            #expect(notification["kind"] as? String == "order")
            let summary = try #require(notification["data"] as? [String: Any])
            #expect(summary["total"] as? Int == 1000 + 6000)
            #expect(summary["currency"] as? String == "ZAR")
            #expect(notice?["unread"] as? Int == 1)
            #expect(try await buyerSocket.expect("order:status").data["status"] as? String == "paid")

            // The same notice over HTTP, then read.
            let list = try await b.api.call(.get, "/api/notifications", bearer: seller.accessToken)
            #expect(list["unread"] as? Int == 1)
            let id = try #require((list["items"] as? [[String: Any]])?.first?["id"] as? Int)
            let read = try await b.api.call(.post, "/api/notifications/\(id)/read", bearer: seller.accessToken)
            #expect(read["unread"] as? Int == 0)
            let foreign = try await b.api.call(.post, "/api/notifications/\(id)/read", bearer: buyer.accessToken)
            #expect(foreign.status == .notFound)
        }
    }

    /// With a poll that would take a minute, the seller still hears of a paid order at once: the commit of its domain
    /// events wakes the relay (LISTEN/NOTIFY). With the listener gone, the poll still relays (the safety net).
    @Test func aCommittedEventWakesTheRelayAndThePollIsTheSafetyNet() async throws {
        try await Cluster.with(1, ["AGORA_RELAY_INTERVAL_MS": "60000"]) { nodes in
            let node = nodes[0]
            let market = Market(api: node.api, services: node.services)
            let seller = try await market.seller("wokenseller")
            let follower = try await node.api.register("wokenfollower")
            let socket = try await TestSocket.resuming(port: node.port, token: seller.accessToken, after: 0)
            _ = try await socket.expect("ack", skipping: ["presence"])
            let started = ContinuousClock.now
            let followed = try await node.api.call(.put, "/api/users/wokenseller/follow", bearer: follower.accessToken)
            #expect(followed.status.code < 300, "\(followed.raw)")
            let notice = try await socket.expect("notification:new", skipping: ["presence"])
            #expect((notice.data["notification"] as? [String: Any])?["kind"] as? String == "follower")
            #expect(ContinuousClock.now - started < .seconds(10), "woken by the commit, not by the 60 s poll")
        }
        try await Cluster.with(1, ["AGORA_RELAY_INTERVAL_MS": "300"]) { nodes in
            let node = nodes[0]
            await node.services.eventListener.stop()
            let market = Market(api: node.api, services: node.services)
            let seller = try await market.seller("pollseller")
            let follower = try await node.api.register("pollfollower")
            let socket = try await TestSocket.resuming(port: node.port, token: seller.accessToken, after: 0)
            _ = try await socket.expect("ack", skipping: ["presence"])
            let followed = try await node.api.call(.put, "/api/users/pollseller/follow", bearer: follower.accessToken)
            #expect(followed.status.code < 300, "\(followed.raw)")
            let notice = try await socket.expect("notification:new", skipping: ["presence"])
            #expect((notice.data["notification"] as? [String: Any])?["kind"] as? String == "follower")
        }
    }

    /// Follows and likes notify the person followed or the seller liked, unless they muted that kind; product
    /// followers see the like count change live.
    @Test func followsAndLikesNotifyUnlessMuted() async throws {
        try await Cluster.with(1, ["AGORA_RELAY_INTERVAL_MS": "20", "AGORA_PRODUCT_UPDATE_INTERVAL_MS": "0"]) { nodes in
            let a = nodes[0]
            let market = Market(api: a.api, services: a.services)
            let seller = try await market.seller("famous")
            let fan = try await a.api.register("fan")
            let product = try #require(try await market.product(seller, ["title": "Wool scarf"])["id"] as? String)
            let sellerSocket = try await TestSocket.resuming(port: a.port, token: seller.accessToken, after: 0)
            _ = try await sellerSocket.expect("ack", skipping: ["presence"])
            let fanSocket = try await TestSocket.resuming(port: a.port, token: fan.accessToken, after: 0)
            _ = try await fanSocket.expect("ack", skipping: ["presence"])
            try fanSocket.send(["type": "subscribe", "id": "s", "data": ["topic": "product:\(product)"]])
            _ = try await fanSocket.expect("ack", skipping: ["presence"])

            #expect(try await a.api.call(.put, "/api/users/famous/follow", bearer: fan.accessToken).status == .ok)
            let followed = try await sellerSocket.expect("notification:new")
            #expect((followed.data["notification"] as? [String: Any])?["kind"] as? String == "follower")
            #expect(((followed.data["notification"] as? [String: Any])?["data"] as? [String: Any])?["username"] as? String == "fan")

            let muted = try await a.api.call(.put, "/api/notifications/preferences", json: ["muted": ["like"]], bearer: seller.accessToken)
            #expect(muted["muted"] as? [String] == ["like"])
            #expect(try await a.api.call(.put, "/api/notifications/preferences", json: ["muted": ["nonsense"]], bearer: seller.accessToken).status
                == .unprocessableContent)
            #expect(try await a.api.call(.put, "/api/products/\(product)/like", bearer: fan.accessToken).status == .ok)
            let live = try await fanSocket.expect("product:updated")
            #expect(live.data["likes"] as? Int == 1)
            #expect(live["topic"] as? String == "product:\(product)")
            // Muted: the like made no notice (the next one the seller gets is the unmuted follow below).
            _ = try await a.api.call(.put, "/api/notifications/preferences", json: ["muted": []], bearer: seller.accessToken)
            #expect(try await a.api.call(.delete, "/api/users/famous/follow", bearer: fan.accessToken).status == .ok)
            #expect(try await a.api.call(.put, "/api/users/famous/follow", bearer: fan.accessToken).status == .ok)
            let again = try await sellerSocket.expect("notification:new")
            #expect((again.data["notification"] as? [String: Any])?["kind"] as? String == "follower")
            let list = try await a.api.call(.get, "/api/notifications", bearer: seller.accessToken)
            #expect((list["items"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["follower", "follower"])
        }
    }

    /// Ten quick price changes reach a product's followers coalesced into a few messages, the last one right.
    @Test func productUpdatesAreCoalesced() async throws {
        try await Cluster.with(1, ["AGORA_RELAY_INTERVAL_MS": "20", "AGORA_PRODUCT_UPDATE_INTERVAL_MS": "400"]) { nodes in
            let a = nodes[0]
            let market = Market(api: a.api, services: a.services)
            let seller = try await market.seller("pricey")
            let watcher = try await a.api.register("pricewatcher")
            let product = try #require(try await market.product(seller, ["title": "Brass lamp"])["id"] as? String)
            let socket = try await TestSocket.connect(port: a.port, token: watcher.accessToken)
            try socket.send(["type": "subscribe", "id": "s", "data": ["topic": "product:\(product)"]])
            _ = try await socket.expect("ack", skipping: ["presence"])
            for n in 1...10 {
                let changed = try await a.api.call(.patch, "/api/products/\(product)", json: ["price": ["amount": 2000 + n, "currency": "ZAR"]],
                                                   bearer: seller.accessToken)
                #expect(changed.status == .ok, "\(changed.raw)")
            }
            var prices: [Int] = []
            while prices.last != 2010 {
                let update = try await socket.expect("product:updated", timeout: .seconds(10))
                if let amount = (update.data["price"] as? [String: Any])?["amount"] as? Int { prices.append(amount) }
            }
            #expect(prices.count <= 4, "\(prices)")
            #expect(prices == prices.sorted())
        }
    }
}
