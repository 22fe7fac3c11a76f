import AgoraApp
import AgoraTestSupport
import Foundation
import HTTPTypes
import Realtime
import Testing

/// What happens when an instance is killed or Redis restarts in the middle of a conversation: nothing accepted is
/// lost, nothing arrives twice.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured), .serialized)
struct FailureTests {
    static func text(_ message: [String: Any]) -> String? { (message.data["message"] as? [String: Any])?["text"] as? String }

    @Test func anInstanceKilledMidConversationLosesNothing() async throws {
        try await Cluster.with(1, ["AGORA_PRESENCE_TTL_SECONDS": "3", "AGORA_WS_RESYNC_SECONDS": "1"]) { nodes in
            let a = nodes[0]
            let b = try await ServerProcess(environment: a.environment)
            let c = try await ServerProcess(environment: a.environment)
            let buyer = try await a.api.register("crashbuyer")
            let seller = try await a.api.register("crashseller")
            let ghost = try await a.api.register("crashghost")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["userId": seller.accountID], bearer: buyer.accessToken)
            let conversation = try #require(opened["id"] as? String)
            #expect(try await a.api.call(.post, "/api/conversations", json: ["userId": buyer.accountID], bearer: ghost.accessToken).status == .ok)

            let buyerSocket = try await TestSocket.resuming(port: a.port, token: buyer.accessToken, after: 0)
            _ = try await buyerSocket.expect("ack", skipping: ["presence"])
            let sellerSocket = try await TestSocket.resuming(port: b.port, token: seller.accessToken, after: 0)
            _ = try await sellerSocket.expect("ack", skipping: ["presence"])
            let ghostSocket = try await TestSocket.resuming(port: b.port, token: ghost.accessToken, after: 0)
            _ = try await ghostSocket.expect("ack", skipping: ["presence"])

            // The seller sends ten on B and waits for every ack: accepted.
            for n in 1...10 {
                try sellerSocket.send(["type": "chat:send", "id": "s\(n)", "data": ["conversationId": conversation, "text": "seller \(n)"]])
            }
            var acked = 0
            while acked < 10 {
                let message = try #require(try await sellerSocket.next())
                if message["type"] as? String == "ack" { acked += 1 }
            }
            // The buyer sends thirty; after ten have reached the seller, B dies.
            for n in 1...30 {
                try buyerSocket.send(["type": "chat:send", "id": "b\(n)", "data": ["conversationId": conversation, "text": "buyer \(n)"]])
            }
            var fromBuyer: [String] = []
            while fromBuyer.count < 10 {
                let message = try await sellerSocket.expect("chat:message", skipping: ["ack", "presence"])
                if let text = Self.text(message), text.hasPrefix("buyer") { fromBuyer.append(text) }
            }
            let processed = sellerSocket.lastSeq
            b.kill()

            // The seller's app reconnects to C and resumes.
            let again = try await TestSocket.resuming(port: c.port, token: seller.accessToken, after: processed)
            let deadline = ContinuousClock.now + .seconds(30)
            while fromBuyer.count < 30, ContinuousClock.now < deadline {
                let message = try await again.expect("chat:message", skipping: ["ack", "presence", "notification:new"])
                if let text = Self.text(message), text.hasPrefix("buyer") { fromBuyer.append(text) }
            }
            #expect(fromBuyer == (1...30).map { "buyer \($0)" })

            // The buyer has every acknowledged message from the seller, and hears that the ghost (only on B) went
            // offline once its presence claim expired.
            var fromSeller: [String] = []
            var ghostOffline = false
            let until = ContinuousClock.now + .seconds(20)
            while (fromSeller.count < 10 || !ghostOffline), ContinuousClock.now < until {
                let message = try #require(try await buyerSocket.next(timeout: .seconds(20)))
                switch message["type"] as? String {
                case "chat:message": if let text = Self.text(message), text.hasPrefix("seller") { fromSeller.append(text) }
                case "presence":
                    if (message.data["userId"] as? String)?.uppercased() == ghost.accountID.uppercased(), message.data["online"] as? Bool == false {
                        ghostOffline = true
                    }
                default: break
                }
            }
            #expect(fromSeller == (1...10).map { "seller \($0)" })
            #expect(ghostOffline, "no offline presence for the ghost after its instance was killed")
            let presence = try await a.api.call(.get, "/api/presence?users=\(ghost.accountID),\(seller.accountID)", bearer: buyer.accessToken)
            #expect((presence["items"] as? [[String: Any]])?.map { $0["online"] as? Bool } == [false, true])
            try await c.stop()
        }
    }

    @Test func deliveryRecoversWhenRedisRestarts() async throws {
        let redis = try PrivateRedis()
        try await redis.start()
        try await Cluster.with(2, ["AGORA_REDIS_URL": redis.url, "AGORA_WS_RESYNC_SECONDS": "2"]) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let buyer = try await a.api.register("redisbuyer")
            let seller = try await b.api.register("redisseller")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["userId": seller.accountID], bearer: buyer.accessToken)
            let conversation = try #require(opened["id"] as? String)
            let buyerSocket = try await TestSocket.resuming(port: a.port, token: buyer.accessToken, after: 0)
            _ = try await buyerSocket.expect("ack", skipping: ["presence"])
            let sellerSocket = try await TestSocket.resuming(port: b.port, token: seller.accessToken, after: 0)
            _ = try await sellerSocket.expect("ack", skipping: ["presence"])

            func send(_ range: ClosedRange<Int>) async throws {
                for n in range {
                    try buyerSocket.send(["type": "chat:send", "id": "m\(n)", "data": ["conversationId": conversation, "text": "m\(n)"]])
                }
                var acks = 0
                while acks < range.count {
                    let message = try #require(try await buyerSocket.next())
                    switch message["type"] as? String {
                    case "ack": acks += 1
                    case "error": Issue.record("send refused: \(message)")
                    default: break
                    }
                }
            }
            var received: [String] = []
            func receive(until count: Int) async throws {
                while received.count < count {
                    let message = try await sellerSocket.expect("chat:message", skipping: ["presence", "notification:new"], timeout: .seconds(30))
                    received.append(Self.text(message) ?? "?")
                }
            }
            try await send(1...10)
            try await receive(until: 10)

            try await redis.stop()
            // With Redis away, sending still works: stored, acknowledged, delivered on this instance.
            try await send(11...20)
            try await Task.sleep(for: .milliseconds(500))
            try await redis.start()
            // B's subscriber reconnects and its connections catch up from PostgreSQL.
            try await receive(until: 20)
            try await send(21...21)
            try await receive(until: 21)
            #expect(received == (1...21).map { "m\($0)" })
            #expect(a.services.realtime.localFallbackCount > 0)
        }
    }
}
