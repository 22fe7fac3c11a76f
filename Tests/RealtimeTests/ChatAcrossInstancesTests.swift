import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import AgoraWebSocket
import Foundation
import HTTPTypes
import NIOCore
import Realtime
import Testing

/// Chat between two instances of the server, over the socket and over HTTP, with durable delivery.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ChatAcrossInstancesTests {
    /// A buyer on instance A and a seller on B chat both ways; each side gets the other's messages in order, and the
    /// sender's own socket gets its messages too (for its other devices).
    @Test func buyerAndSellerChatBothWaysInOrder() async throws {
        try await Cluster.with(2) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let buyer = try await a.api.register("rtbuyer")
            let seller = try await b.api.register("rtseller")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["username": "rtseller"], bearer: buyer.accessToken)
            #expect(opened.status == .ok, "\(opened.raw)")
            let conversation = try #require(opened["id"] as? String)

            let buyerSocket = try await TestSocket.resuming(port: a.port, token: buyer.accessToken, after: 0)
            let sellerSocket = try await TestSocket.resuming(port: b.port, token: seller.accessToken, after: 0)
            _ = try await buyerSocket.expect("ack", skipping: ["presence"])
            _ = try await sellerSocket.expect("ack", skipping: ["presence"])

            for n in 1...20 {
                try buyerSocket.send(["type": "chat:send", "id": "b\(n)", "data": ["conversationId": conversation, "text": "from buyer \(n)", "clientId": "b\(n)"]])
            }
            var acks: [String] = []
            var own: [String] = []
            while acks.count < 20 || own.count < 20 {
                let message = try #require(try await buyerSocket.next())
                switch message["type"] as? String {
                case "ack": acks.append(message["id"] as? String ?? "?")
                case "chat:message": own.append((message.data["message"] as? [String: Any])?["text"] as? String ?? "?")
                case "presence": break
                default: Issue.record("unexpected \(message)")
                }
            }
            #expect(acks == (1...20).map { "b\($0)" })
            #expect(own == (1...20).map { "from buyer \($0)" })
            for n in 1...20 {
                let message = try await sellerSocket.expect("chat:message", skipping: ["presence"])
                let body = try #require(message.data["message"] as? [String: Any])
                #expect(body["text"] as? String == "from buyer \(n)")
                #expect(body["senderId"] as? String == buyer.accountID.uppercased() || body["senderId"] as? String == buyer.accountID)
                #expect(message.data["conversationId"] as? String != nil)
            }

            for n in 1...20 {
                try sellerSocket.send(["type": "chat:send", "id": "s\(n)", "data": ["conversationId": conversation, "text": "from seller \(n)"]])
            }
            var received: [String] = []
            while received.count < 20 {
                let message = try await buyerSocket.expect("chat:message", skipping: ["presence"])
                received.append((message.data["message"] as? [String: Any])?["text"] as? String ?? "?")
            }
            #expect(received == (1...20).map { "from seller \($0)" })

            // HTTP sees the same conversation: 40 messages newest first, and the buyer has 20 unread.
            let page = try await a.api.call(.get, "/api/conversations/\(conversation)/messages?limit=50", bearer: buyer.accessToken)
            let items = try #require(page["items"] as? [[String: Any]])
            #expect(items.count == 40)
            #expect(items.first?["text"] as? String == "from seller 20")
            #expect(items.last?["text"] as? String == "from buyer 1")
            let list = try await a.api.call(.get, "/api/conversations", bearer: buyer.accessToken)
            let first = try #require((list["items"] as? [[String: Any]])?.first)
            #expect(first["unread"] as? Int == 20)
            #expect(((first["with"] as? [String: Any])?["username"] as? String) == "rtseller")

            // Reading sends a receipt to the other side, live.
            try buyerSocket.send(["type": "chat:read", "id": "read", "data": ["conversationId": conversation]])
            let receipt = try await sellerSocket.expect("chat:read", skipping: ["ack", "chat:message"])
            #expect(receipt.data["conversationId"] as? String != nil)
            let after = try await a.api.call(.get, "/api/conversations", bearer: buyer.accessToken)
            #expect(((after["items"] as? [[String: Any]])?.first?["unread"] as? Int) == 0)

            // Typing is ephemeral: no sequence number.
            try sellerSocket.send(["type": "chat:typing", "data": ["conversationId": conversation]])
            let typing = try await buyerSocket.expect("chat:typing", skipping: ["chat:read", "ack"])
            #expect(typing["seq"] == nil)
            buyerSocket.close()
            sellerSocket.close()
        }
    }

    /// A client that drops out during 100 messages resumes from the last sequence it processed and gets the rest
    /// exactly once and in order, then live messages with no gap.
    @Test func aClientThatDisconnectsResumesWithEverythingExactlyOnce() async throws {
        try await Cluster.with(2) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let buyer = try await a.api.register("resumebuyer")
            let seller = try await b.api.register("resumeseller")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["userId": seller.accountID], bearer: buyer.accessToken)
            let conversation = try #require(opened["id"] as? String)

            let sellerSocket = try await TestSocket.resuming(port: b.port, token: seller.accessToken, after: 0)
            _ = try await sellerSocket.expect("ack", skipping: ["presence"])
            let sender = Task {
                for n in 1...100 {
                    let sent = try await a.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "m\(n)"], bearer: buyer.accessToken)
                    try #require(sent.status == .created, "\(sent.raw)")
                }
            }
            var texts: [String] = []
            while texts.count < 30 {
                let message = try await sellerSocket.expect("chat:message", skipping: ["presence"])
                texts.append((message.data["message"] as? [String: Any])?["text"] as? String ?? "?")
            }
            let processed = sellerSocket.lastSeq
            sellerSocket.close()
            // Reconnect to the other instance while the buyer is still sending.
            try await Task.sleep(for: .milliseconds(200))
            let again = try await TestSocket.resuming(port: a.port, token: seller.accessToken, after: processed)
            while texts.count < 100 {
                // Offline notices ride in the same stream while the seller is away.
                let message = try await again.expect("chat:message", skipping: ["ack", "notification:new"])
                texts.append((message.data["message"] as? [String: Any])?["text"] as? String ?? "?")
            }
            try await sender.value
            #expect(texts == (1...100).map { "m\($0)" })
            let live = try await a.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "live"], bearer: buyer.accessToken)
            #expect(live.status == .created)
            let last = try await again.expect("chat:message", skipping: ["ack", "notification:new"])
            #expect((last.data["message"] as? [String: Any])?["text"] as? String == "live")
        }
    }

    /// A chat:message event is stored once, as a reference to its message: what a client resuming later gets is the
    /// same event, field for field, as the live one and the HTTP answer (a product card, a client id, the date).
    @Test func aResumedChatEventIsTheLiveEvent() async throws {
        try await Cluster.with(1) { nodes in
            let a = nodes[0]
            let buyer = try await a.api.register("samebuyer")
            let seller = try await a.api.register("sameseller")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["userId": seller.accountID], bearer: buyer.accessToken)
            let conversation = try #require(opened["id"] as? String)
            let sellerSocket = try await TestSocket.resuming(port: a.port, token: seller.accessToken, after: 0)
            _ = try await sellerSocket.expect("ack", skipping: ["presence"])
            let sent = try await a.api.call(
                .post, "/api/conversations/\(conversation)/messages", json: ["text": "  héllo \"quoted\" ✓ ", "clientId": "k-1"],
                bearer: buyer.accessToken
            )
            try #require(sent.status == .created, "\(sent.raw)")
            let live = try await sellerSocket.expect("chat:message", skipping: ["presence"])
            let seq = try #require(live.seq)
            sellerSocket.close()
            let again = try await TestSocket.resuming(port: a.port, token: seller.accessToken, after: seq - 1)
            let resumed = try await again.expect("chat:message", skipping: ["ack", "presence", "notification:new"])
            #expect(resumed.seq == seq)
            #expect(NSDictionary(dictionary: resumed.data) == NSDictionary(dictionary: live.data))
            let message = try #require(live.data["message"] as? [String: Any])
            #expect(message["text"] as? String == "héllo \"quoted\" ✓")
            #expect(message["clientId"] as? String == "k-1")
            #expect(message["productId"] == nil)
            let answered = try #require(sent["message"] as? [String: Any])
            #expect(NSDictionary(dictionary: answered) == NSDictionary(dictionary: message))
        }
    }

    /// A retry of `chat:send` with the same client id (its ack was lost) stores the message once.
    @Test func aRetriedSendIsStoredOnce() async throws {
        try await Cluster.with(1) { nodes in
            let a = nodes[0]
            let buyer = try await a.api.register("retrybuyer")
            let seller = try await a.api.register("retryseller")
            let socket = try await TestSocket.resuming(port: a.port, token: buyer.accessToken, after: 0)
            _ = try await socket.expect("ack", skipping: ["presence"])
            for _ in 1...2 {
                try socket.send(["type": "chat:send", "id": "x", "data": ["to": seller.accountID, "text": "only once", "clientId": "c-1"]])
            }
            // The event (through Redis) and the two acks (direct) may arrive in any order.
            var acks: [[String: Any]] = []
            var events: [[String: Any]] = []
            while acks.count < 2 || events.isEmpty {
                let message = try #require(try await socket.next())
                if message["type"] as? String == "ack" { acks.append(message) } else { events.append(message) }
            }
            let id = (events[0].data["message"] as? [String: Any])?["id"] as? Int
            #expect(id != nil)
            #expect(acks.map { ($0.data["message"] as? [String: Any])?["id"] as? Int } == [id, id])
            let list = try await a.api.call(.get, "/api/conversations", bearer: seller.accessToken)
            let conversations = try #require(list["items"] as? [[String: Any]])
            #expect(conversations.count == 1)
            #expect(conversations.first?["unread"] as? Int == 1)
        }
    }
}
