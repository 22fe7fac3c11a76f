import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import AgoraWebSocket
import Foundation
import HTTPTypes
import NIOCore
import Realtime
import Testing

/// Who may open the socket, who may read and write a conversation, and what bad messages get.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct RealtimeAccessTests {
    @Test func theUpgradeChecksOriginAndCredentials() async throws {
        try await Cluster.with(1) { nodes in
            let a = nodes[0]
            let user = try await a.api.register("gated")
            func refusal(origin: String?, query: String = "", headers: [(String, String)] = []) async -> WebSocketClientError? {
                var all = headers
                if let origin { all.append(("Origin", origin)) }
                do {
                    _ = try await WebSocketClient.connect(host: "127.0.0.1", port: a.port, path: "/ws" + query, headers: all)
                    return nil
                } catch {
                    return error as? WebSocketClientError
                }
            }
            // A cross-site page, even with a valid token.
            let foreign = await refusal(origin: "https://evil.example", headers: [("Authorization", "Bearer \(user.accessToken)")])
            #expect(foreign?.status == 403)
            #expect(foreign?.body.contains("origin_not_allowed") == true)
            // No credentials; a bad token; the access cookie without any Origin (a cross-site socket a browser could open).
            #expect(await refusal(origin: API.origin)?.status == 401)
            #expect(await refusal(origin: API.origin, headers: [("Authorization", "Bearer nope")])?.status == 401)
            #expect(await refusal(origin: nil, headers: [("Cookie", "agora_access=\(user.accessToken)")])?.status == 403)

            // The cookie from our own origin works, and so does a ticket, once.
            let cookie = try await TestSocket.connect(port: a.port, token: nil, headers: [("Cookie", "agora_access=\(user.accessToken)")])
            #expect((cookie.hello?.data["userId"] as? String)?.uppercased() == user.accountID.uppercased())
            cookie.close()
            let ticketed = try await a.api.call(.post, "/api/realtime/ticket", json: [:], bearer: user.accessToken)
            let ticket = try #require(ticketed["ticket"] as? String, "\(ticketed.raw)")
            let viaTicket = try await TestSocket.connect(port: a.port, token: nil, origin: nil, query: "?ticket=\(ticket)")
            viaTicket.close()
            #expect(await refusal(origin: nil, query: "?ticket=\(ticket)")?.status == 401)
        }
    }

    @Test func blockingSomeoneStopsTheirMessagesOverHTTPAndTheSocketUntilUnblocked() async throws {
        try await Cluster.with(1) { nodes in
            let a = nodes[0]
            let pest = try await a.api.register("pestbuyer")
            let seller = try await a.api.register("calmseller")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["username": "calmseller"], bearer: pest.accessToken)
            let conversation = try #require(opened["id"] as? String)
            #expect(try await a.api.call(.get, "/api/users/pestbuyer/block", bearer: seller.accessToken)["blocked"] as? Bool == false)

            let blocked = try await a.api.call(.put, "/api/users/pestbuyer/block", json: [:], bearer: seller.accessToken)
            #expect(blocked.status == .ok && blocked["blocked"] as? Bool == true, "\(blocked.raw)")
            #expect(try await a.api.call(.put, "/api/users/pestbuyer/block", json: [:], bearer: seller.accessToken).status == .ok)  // idempotent
            #expect(try await a.api.call(.get, "/api/users/pestbuyer/block", bearer: seller.accessToken)["blocked"] as? Bool == true)
            #expect(try await a.api.call(.get, "/api/users/calmseller/block", bearer: pest.accessToken)["blocked"] as? Bool == false)  // one way

            // Refused over HTTP and over the socket alike, and nothing is stored or delivered.
            let http = try await a.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "hello??"], bearer: pest.accessToken)
            #expect(http.status == .forbidden && http.code == "blocked", "\(http.raw)")
            let socket = try await TestSocket.resuming(port: a.port, token: pest.accessToken, after: 0)
            _ = try await socket.expect("ack", skipping: ["presence"])
            try socket.send(["type": "chat:send", "id": "b1", "data": ["conversationId": conversation, "text": "hello???"]])
            let refused = try await socket.expect("error", skipping: ["presence"])
            #expect(refused["id"] as? String == "b1" && refused.data["code"] as? String == "blocked", "\(refused)")
            try socket.send(["type": "chat:send", "id": "b2", "data": ["to": seller.accountID, "text": "a new conversation?"]])
            #expect(try await socket.expect("error", skipping: ["presence"]).data["code"] as? String == "blocked")
            let history = try await a.api.call(.get, "/api/conversations/\(conversation)/messages", bearer: seller.accessToken)
            #expect((history["items"] as? [Any])?.isEmpty == true, "\(history.raw)")

            // Bad targets are named; unblocking lets messages through again.
            #expect(try await a.api.call(.put, "/api/users/calmseller/block", json: [:], bearer: seller.accessToken).code == "cannot_block_self")
            #expect(try await a.api.call(.put, "/api/users/nobody_here/block", json: [:], bearer: seller.accessToken).status == .notFound)
            #expect(try await a.api.call(.get, "/api/users/pestbuyer/block").status == .unauthorized)
            let unblocked = try await a.api.call(.delete, "/api/users/pestbuyer/block", bearer: seller.accessToken)
            #expect(unblocked["blocked"] as? Bool == false)
            let after = try await a.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "sorry"], bearer: pest.accessToken)
            #expect(after.status == .created, "\(after.raw)")
            socket.close()
        }
    }

    @Test func aThirdUserCannotReadWriteOrFollowSomeoneElsesConversation() async throws {
        try await Cluster.with(1) { nodes in
            let a = nodes[0]
            let buyer = try await a.api.register("pairbuyer")
            let seller = try await a.api.register("pairseller")
            let intruder = try await a.api.register("intruder")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["username": "pairseller"], bearer: buyer.accessToken)
            let conversation = try #require(opened["id"] as? String)

            for (method, path) in [
                (HTTPMethodName.get, "/api/conversations/\(conversation)"), (.get, "/api/conversations/\(conversation)/messages"),
                (.post, "/api/conversations/\(conversation)/messages"), (.post, "/api/conversations/\(conversation)/read"),
            ] {
                let response = try await a.api.call(method.method, path, json: method == .post ? ["text": "let me in"] : nil, bearer: intruder.accessToken)
                #expect(response.status == .notFound, "\(path): \(response.raw)")
                #expect(response.code == "conversation_not_found")
            }
            let socket = try await TestSocket.resuming(port: a.port, token: intruder.accessToken, after: 0)
            _ = try await socket.expect("ack")
            try socket.send(["type": "chat:send", "id": 1, "data": ["conversationId": conversation, "text": "hi"]])
            let refused = try await socket.expect("error")
            #expect(refused["id"] as? Int == 1)
            #expect(refused.data["code"] as? String == "conversation_not_found")
            try socket.send(["type": "chat:read", "id": 2, "data": ["conversationId": conversation]])
            #expect(try await socket.expect("error").data["code"] as? String == "conversation_not_found")
            try socket.send(["type": "subscribe", "id": 3, "data": ["topic": "conversation:\(conversation)"]])
            #expect(try await socket.expect("error").data["code"] as? String == "topic_forbidden")

            // The pair's own messages never reach the intruder.
            let sent = try await a.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "private"], bearer: buyer.accessToken)
            #expect(sent.status == .created)
            try socket.send(["type": "ping", "id": "p"])
            let pong = try await socket.expect("ack")
            #expect(pong["id"] as? String == "p")
            let list = try await a.api.call(.get, "/api/conversations", bearer: intruder.accessToken)
            #expect((list["items"] as? [Any])?.isEmpty == true)
            _ = seller
        }
    }

    @Test func badMessagesGetAnErrorAndTheConnectionStays() async throws {
        try await Cluster.with(1) { nodes in
            let a = nodes[0]
            let user = try await a.api.register("sloppy")
            let socket = try await TestSocket.connect(port: a.port, token: user.accessToken)
            try socket.send(["no": "type"])
            #expect(try await socket.expect("error").data["code"] as? String == "bad_message")
            try socket.send(["type": "dance", "id": "d"])
            let unknown = try await socket.expect("error")
            #expect(unknown.data["code"] as? String == "unknown_type")
            #expect(unknown["id"] as? String == "d")
            try socket.send(["type": "chat:send", "id": "e", "data": ["conversationId": "not-an-id", "text": "x"]])
            #expect(try await socket.expect("error").data["code"] as? String == "validation_failed")
            try socket.send(["type": "subscribe", "id": "t", "data": ["topic": "no spaces please"]])
            #expect(try await socket.expect("error").data["code"] as? String == "bad_topic")
            try socket.send(["type": "resume", "id": "r", "data": ["lastSeq": 999]])
            #expect(try await socket.expect("error").data["code"] as? String == "resume_ahead")
            #expect(try await socket.expect("ack")["id"] as? String == "r")
            try socket.send(["type": "ping", "id": "still-here"])
            #expect(try await socket.expect("ack")["id"] as? String == "still-here")
        }
    }

    /// A client that stops reading is closed once its queue overflows, and catches up by resuming.
    @Test func aSlowConsumerIsClosedAndRecovers() async throws {
        try await Cluster.with(1, ["AGORA_WS_MAX_QUEUE": "131072", "AGORA_CHAT_MAX_LENGTH": "60000"]) { nodes in
            let a = nodes[0]
            let buyer = try await a.api.register("flooder")
            let seller = try await a.api.register("slowreader")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["userId": seller.accountID], bearer: buyer.accessToken)
            let conversation = try #require(opened["id"] as? String)
            // A raw client that never reads: its TCP window fills, then the server's queue.
            let stalled = try await WebSocketClient.connect(
                host: "127.0.0.1", port: a.port, path: "/ws?resume=0", headers: [("Origin", API.origin), ("Authorization", "Bearer \(seller.accessToken)")]
            )
            // Big messages, so the kernel's socket buffers (megabytes on loopback) fill within a few hundred.
            let text = String(repeating: "x", count: 50_000)
            var sent = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while a.services.realtime.isConnected(try #require(UUID(uuidString: seller.accountID))), ContinuousClock.now < deadline {
                for _ in 0..<20 {
                    let response = try await a.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": text], bearer: buyer.accessToken)
                    try #require(response.status == .created)
                    sent += 1
                }
            }
            #expect(!a.services.realtime.isConnected(try #require(UUID(uuidString: seller.accountID))), "still connected after \(sent) messages")
            try? await stalled.channel.close()

            let again = try await TestSocket.resuming(port: a.port, token: seller.accessToken, after: 0)
            var received = 0
            while received < sent {
                _ = try await again.expect("chat:message", skipping: ["ack", "notification:new"])
                received += 1
            }
        }
    }
}

/// The HTTP methods the access test loops over, comparable.
enum HTTPMethodName: Equatable {
    case get, post
    var method: HTTPRequest.Method { self == .get ? .get : .post }
}

