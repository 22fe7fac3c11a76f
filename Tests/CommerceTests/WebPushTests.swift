import AgoraApp
import AgoraCrypto
import AgoraPostgres
import AgoraPush
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Notifications
import Testing

/// Web Push end to end against a local push service built on http_ece and py_vapid (Tests/interop/push_service.py):
/// a device subscribes, a notice is written with its push in one transaction, the dispatcher encrypts and signs it,
/// and the service verifies the VAPID token and decrypts the payload with the subscription's own keys. The relay and
/// the dispatcher are run by hand, so each step is seen.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct WebPushTests {
    static func settings(_ extra: [String: String] = [:]) -> [String: String] {
        Shop.overrides.merging([
            "AGORA_PUSH_HOSTS": "127.0.0.1", "AGORA_PUSH_ALLOW_HTTP": "true", "AGORA_PUSH_DISPATCH": "false", "AGORA_PUSH_DISPATCH_MS": "60000",
            "AGORA_VAPID_SUBJECT": "mailto:ops@agora.example",
        ].merging(extra) { $1 }) { $1 }
    }

    func subscribe(_ shop: Shop, _ grant: Grant, _ push: LocalPushService, behaviour: String = "ok") async throws -> String {
        let subscription = try await push.subscription(behaviour: behaviour)
        let saved = try await shop.api.call(.post, "/api/push/subscriptions", json: subscription, bearer: grant.accessToken)
        try #require(saved.status == .created, "\(saved.raw)")
        return try #require(subscription["endpoint"] as? String)
    }

    func outbox(_ shop: Shop) async throws -> Int { try await shop.int("SELECT count(*)::int FROM push_outbox") }

    /// Relays until every domain event so far is relayed (the app's own relay may hold a batch, claimed with SKIP
    /// LOCKED, for a moment), so the notices and pushes they cause are committed.
    func relayed(_ shop: Shop, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            try await shop.services.notificationRelay.relayOnce()
            if try await shop.int("SELECT count(*)::int FROM domain_events WHERE relayed_at IS NULL") == 0 { return }
            guard ContinuousClock.now < deadline else {
                Issue.record("domain events were not relayed in time")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func aPaidOrderReachesEverySellerDeviceEncryptedAndSigned() async throws {
        try await LocalPushService.with { push in
            try await TestApp.withApplication(Self.settings()) { app, services in
                try await app.test(.router) { client in
                    let shop = Shop(market: Market(api: API(client: client), services: services))
                    let seller = try await shop.market.seller("push_seller")
                    let buyer = try await shop.buyer("push_buyer")
                    let key = try #require(try await shop.api.call(.get, "/api/push/key")["publicKey"] as? String)
                    let phone = try await subscribe(shop, seller, push)
                    let laptop = try await subscribe(shop, seller, push)
                    let stale = try await subscribe(shop, seller, push, behaviour: "gone")
                    #expect(try await shop.int("SELECT count(*)::int FROM push_subscriptions") == 3)

                    let product = try await shop.product(seller, ["title": "Clay pot", "price": ["amount": 25_000, "currency": "ZAR"]])
                    let order = try await shop.order(product, as: buyer)
                    try await shop.pay(order, as: buyer)
                    try await relayed(shop)
                    #expect(try await outbox(shop) == 3, "one push per device, written with the notice")
                    try await services.pushDispatcher.dispatchOnce()

                    // The seller order's total: goods, VAT included, and shipping.
                    let placed = try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
                    let total = try #require((placed.sellerOrders.first?["total"] as? [String: Any])?["amount"] as? Int)
                    #expect(total == 31_000)
                    let pushes = try await push.wait { $0.count >= 3 }
                    try #require(pushes.count == 3, "\(pushes)")
                    let topic = "ord-" + order.lowercased().filter(\.isHexDigit).prefix(24)
                    for received in pushes {
                        #expect(received.vapid, "py_vapid verified the token: \(received.vapidError ?? "")")
                        #expect(received.claims?["aud"] == .string(push.origin) && received.claims?["sub"] == .string("mailto:ops@agora.example"))
                        if case .number(let exp)? = received.claims?["exp"] {
                            #expect(exp > Date().timeIntervalSince1970 && exp <= Date().timeIntervalSince1970 + 86_400)
                        } else {
                            Issue.record("no exp claim")
                        }
                        #expect(received.k == key, "signed with the key browsers subscribe with")
                        #expect(received.contentEncoding == "aes128gcm" && received.urgency == "high" && received.ttl == "86400")
                        #expect(received.topic == topic)
                        #expect(received.decryptError == nil, "\(received.decryptError ?? "")")
                        #expect(received.payload?["title"] == "New order" && received.payload?["body"] == "ZAR 310.00 paid: ready to ship")
                        #expect(received.payload?["url"] == "/sell/orders")
                    }
                    #expect(Set(pushes.map(\.id)) == Set([phone, laptop, stale].map { String($0.split(separator: "/").last ?? "") }))
                    // The device the service no longer knows (410) is forgotten; the others were sent to; nothing waits.
                    #expect(try await shop.int("SELECT count(*)::int FROM push_subscriptions") == 2)
                    #expect(try await shop.int("SELECT count(*)::int FROM push_subscriptions WHERE last_success_at IS NOT NULL") == 2)
                    #expect(try await outbox(shop) == 0)

                    // The buyer hears of the shipping with normal urgency, on the order's topic.
                    let buyerPhone = try await subscribe(shop, buyer, push)
                    let sellerOrder = try #require(try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken).sellerOrders.first?["id"] as? String)
                    let shipped = try await shop.api.call(.post, "/api/seller/orders/\(sellerOrder)/ship", json: ["carrier": "PostNet", "trackingNumber": "PN1"],
                                                          bearer: seller.accessToken)
                    try #require(shipped.status == .ok, "\(shipped.raw)")
                    try await relayed(shop)
                    try await services.pushDispatcher.dispatchOnce()
                    let update = try #require(try await push.wait { $0.count >= 4 }.last)
                    #expect(update.id == buyerPhone.split(separator: "/").last.map(String.init))
                    #expect(update.urgency == "normal" && update.topic == topic && update.payload?["body"] == "Your order has shipped with PostNet")
                    #expect(update.payload?["url"] == "/orders/\(order.lowercased())")
                }
            }
        }
    }

    @Test func busyServicesAreRetriedFailingOnesGivenUpAndEndedSessionsMutesAndOpenSocketsGetNone() async throws {
        try await LocalPushService.with { push in
            try await TestApp.withApplication(Self.settings(["AGORA_PUSH_MAX_ATTEMPTS": "2"])) { app, services in
                try await app.test(.router) { client in
                    let shop = Shop(market: Market(api: API(client: client), services: services))
                    let seller = try await shop.market.seller("busy_seller")
                    let buyer = try await shop.buyer("busy_buyer")
                    _ = try await subscribe(shop, seller, push, behaviour: "busy-once")
                    _ = try await subscribe(shop, seller, push, behaviour: "error")
                    let product = try await shop.product(seller, ["stock": 10])
                    try await shop.pay(try await shop.order(product, as: buyer), as: buyer)
                    try await relayed(shop)

                    // First round: 429 (Retry-After: 1) and 500; both wait.
                    try await services.pushDispatcher.dispatchOnce()
                    #expect(try await push.wait { $0.count >= 2 }.count == 2)
                    #expect(try await outbox(shop) == 2)
                    let wait = try await shop.int("SELECT min(extract(epoch FROM next_attempt_at - now()))::int FROM push_outbox")
                    #expect((0...5).contains(wait), "Retry-After: 1 is honoured, the 500 backs off 5 s: \(wait)")
                    try await services.db.execute("UPDATE push_outbox SET next_attempt_at = now()", logger: shop.market.logger)
                    // Second round: the busy one goes through; the failing one has had its two attempts.
                    try await services.pushDispatcher.dispatchOnce()
                    let pushes = try await push.wait { $0.count >= 4 }
                    #expect(pushes.filter { $0.attempt == 2 }.count == 2)
                    #expect(try await outbox(shop) == 0, "sent, or given up after AGORA_PUSH_MAX_ATTEMPTS")
                    #expect(try await shop.int("SELECT count(*)::int FROM push_subscriptions") == 2, "a 500 does not end a subscription")

                    // A muted kind is not pushed: nothing is even queued.
                    let muted = try await shop.api.call(.put, "/api/notifications/preferences", json: ["muted": ["order"]], bearer: seller.accessToken)
                    try #require(muted.status == .ok, "\(muted.raw)")
                    try await shop.pay(try await shop.order(product, as: buyer), as: buyer)
                    try await relayed(shop)
                    #expect(try await outbox(shop) == 0)
                    _ = try await shop.api.call(.put, "/api/notifications/preferences", json: ["muted": []], bearer: seller.accessToken)

                    // Someone with a socket open is told by it: the push is dropped (presence says online).
                    try await shop.pay(try await shop.order(product, as: buyer), as: buyer)
                    try await relayed(shop)
                    #expect(try await outbox(shop) == 2)
                    let online = PushDispatcher(
                        db: services.db, vapid: VAPID(key: try .generate(), subject: "mailto:x@y.z"), settings: services.pushDispatcher.settings,
                        logger: shop.market.logger, isReady: { true }, isOnline: { users, _ in users.map { _ in true } },
                        liveSessions: { sessions, _ in Set(sessions) }
                    )
                    try await online.dispatchOnce()
                    #expect(try await outbox(shop) == 0)
                    #expect(try push.pushes().count == 4)

                    // A logout ends the session that subscribed, and with it the device's pushes.
                    let logout = try await shop.api.call(.post, "/api/auth/logout", bearer: seller.accessToken)
                    #expect(logout.status == .noContent)
                    try await shop.pay(try await shop.order(product, as: buyer), as: buyer)
                    try await relayed(shop)
                    try await services.pushDispatcher.dispatchOnce()
                    #expect(try await shop.int("SELECT count(*)::int FROM push_subscriptions") == 0)
                    #expect(try push.pushes().count == 4, "nothing sent for an ended session")
                }
            }
        }
    }

    @Test func messagesToAnOfflineUserArePushedAndABurstCollapses() async throws {
        try await LocalPushService.with { push in
            try await TestApp.withApplication(Self.settings()) { app, services in
                try await app.test(.router) { client in
                    let shop = Shop(market: Market(api: API(client: client), services: services))
                    let seller = try await shop.market.seller("chat_seller")
                    let buyer = try await shop.buyer("chat_buyer")
                    _ = try await subscribe(shop, seller, push)
                    let conversation = try #require(
                        try await shop.api.call(.post, "/api/conversations", json: ["username": "chat_seller"], bearer: buyer.accessToken)["id"] as? String
                    )
                    for (index, text) in ["Hi!", "Is the pot still for sale?", "I can collect today"].enumerated() {
                        let sent = try await shop.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": text, "clientId": "m-\(index)"],
                                                           bearer: buyer.accessToken)
                        try #require(sent.status == .created || sent.status == .ok, "\(sent.raw)")
                    }
                    #expect(try await outbox(shop) == 3)
                    try await services.pushDispatcher.dispatchOnce()
                    let pushes = try await push.wait { !$0.isEmpty }
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(try push.pushes().count == 1, "three messages of one conversation collapse to the newest")
                    let message = try #require(pushes.first)
                    #expect(message.urgency == "high" && message.topic == "msg-" + conversation.lowercased().filter(\.isHexDigit).prefix(24))
                    #expect(message.payload?["title"] == "New message" && message.payload?["body"] == "I can collect today")
                    #expect(message.payload?["url"] == "/chat/\(conversation.lowercased())")
                    #expect(try await outbox(shop) == 0)
                }
            }
        }
    }

    /// The running dispatcher, whose poll is a minute here: only the NOTIFY of the queued push can wake it.
    @Test func aQueuedPushWakesTheRunningDispatcherAtOnce() async throws {
        try await LocalPushService.with { push in
            try await TestApp.withApplication(Self.settings(["AGORA_PUSH_DISPATCH": "true"])) { app, services in
                try await app.test(.router) { client in
                    let shop = Shop(market: Market(api: API(client: client), services: services))
                    let seller = try await shop.market.seller("woken_seller")
                    let buyer = try await shop.buyer("woken_buyer")
                    _ = try await subscribe(shop, seller, push)
                    let conversation = try #require(
                        try await shop.api.call(.post, "/api/conversations", json: ["username": "woken_seller"], bearer: buyer.accessToken)["id"] as? String
                    )
                    // The listener may still be connecting when the app starts: a first message makes sure it listens.
                    _ = try await shop.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "Hello", "clientId": "w-0"],
                                                bearer: buyer.accessToken)
                    _ = try await push.wait(timeout: .seconds(10)) { $0.count >= 1 }
                    let sent = Date().timeIntervalSince1970
                    _ = try await shop.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "Still there?", "clientId": "w-1"],
                                                bearer: buyer.accessToken)
                    let pushes = try await push.wait(timeout: .seconds(10)) { $0.count >= 2 }
                    let second = try #require(pushes.count == 2 ? pushes.last : nil, "\(pushes)")
                    #expect(second.payload?["body"] == "Still there?")
                    #expect(second.at - sent < 5, "woken by the commit, not the minute-long poll: \(second.at - sent) s")
                }
            }
        }
    }

    @Test func subscriptionsAreCheckedAtTheEdge() async throws {
        try await TestApp.withApplication(Self.settings()) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let user = try await shop.buyer("edge_pusher")
                let good: [String: Any] = ["endpoint": "http://127.0.0.1:9/push/x", "keys": [
                    "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", "auth": "BTBZMqHH6r4Tts7J_aSIgg",
                ]]
                #expect(try await shop.api.call(.post, "/api/push/subscriptions", json: good).status == .unauthorized)
                func attempt(_ change: (inout [String: Any]) -> Void) async throws -> APIResponse {
                    var body = good
                    change(&body)
                    return try await shop.api.call(.post, "/api/push/subscriptions", json: body, bearer: user.accessToken)
                }
                let privateNetwork = try await attempt { $0["endpoint"] = "http://10.0.0.5:5432/" }
                #expect(privateNetwork.status == .unprocessableContent && privateNetwork.fields["endpoint"] != nil, "not a push service")
                let badKey = try await attempt { $0["keys"] = ["p256dh": "BCVx", "auth": "BTBZMqHH6r4Tts7J_aSIgg"] }
                #expect(badKey.status == .unprocessableContent && badKey.fields["keys.p256dh"] != nil)
                let badAuth = try await attempt { $0["keys"] = ["p256dh": (good["keys"] as? [String: String])?["p256dh"] ?? "", "auth": "AAAA"] }
                #expect(badAuth.status == .unprocessableContent && badAuth.fields["keys.auth"] != nil)
                #expect(try await attempt { $0["endpoint"] = nil }.status == .badRequest)
                #expect(try await shop.int("SELECT count(*)::int FROM push_subscriptions") == 0)

                #expect(try await attempt { _ in }.status == .created)
                #expect(try await attempt { _ in }.status == .created, "the same endpoint again replaces it")
                #expect(try await shop.int("SELECT count(*)::int FROM push_subscriptions") == 1)
                let removed = try await shop.api.call(.delete, "/api/push/subscriptions", json: ["endpoint": "http://127.0.0.1:9/push/x"], bearer: user.accessToken)
                #expect(removed.status == .noContent)
                #expect(try await shop.int("SELECT count(*)::int FROM push_subscriptions") == 0)
            }
        }
    }
}
