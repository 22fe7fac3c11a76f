import AgoraApp
import AgoraRedis
import AgoraTestSupport
import AgoraWebSocket
import Foundation
import HTTPTypes
import NIOCore
import Testing

/// The socket does not escape the limits: caps on sockets per account and per address across instances, one command
/// budget per account across sockets and instances, and bounded queues.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SocketLimitTests {
    static func upgrade(_ node: Node, token: String) async throws -> (RawSocket, RawSocket.HTTPAnswer) {
        let socket = try await RawSocket.connect(port: node.port)
        let answer = try await socket.handshake(path: "/ws", headers: ["Origin: \(API.origin)", "Authorization: Bearer \(token)"])
        return (socket, answer)
    }

    @Test func socketsPerAccountAreCappedAcrossInstances() async throws {
        try await Cluster.with(2, ["AGORA_WS_MAX_PER_USER": "3"]) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let user = try await a.api.register("manytabs")
            var open: [RawSocket] = []
            for node in [a, b, a] {
                let (socket, answer) = try await Self.upgrade(node, token: user.accessToken)
                #expect(answer.status == 101)
                open.append(socket)
            }
            let (_, refused) = try await Self.upgrade(b, token: user.accessToken)
            #expect(refused.status == 429 && refused.body.contains("too_many_sockets"), "\(refused.status) \(refused.body)")
            // Another account is not affected.
            let other = try await a.api.register("onetab")
            #expect(try await Self.upgrade(b, token: other.accessToken).1.status == 101)
            // Closing one gives its place back (the claim is released in the background).
            await open.removeFirst().close()
            let deadline = ContinuousClock.now + .seconds(5)
            var status = 0
            while ContinuousClock.now < deadline {
                status = try await Self.upgrade(b, token: user.accessToken).1.status
                if status == 101 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let key = (b.environment["AGORA_REDIS_PREFIX"] ?? "") + "ws:u:" + (UUID(uuidString: user.accountID)?.uuidString ?? "")
            let members = try await b.services.redis.send("ZRANGE", key, 0, -1, "WITHSCORES", logger: TestServices.logger)
            #expect(status == 101, "\(members)")
        }
    }

    @Test func socketsPerAddressAreCapped() async throws {
        try await Cluster.with(1, ["AGORA_WS_MAX_PER_IP": "2"]) { nodes in
            let node = nodes[0]
            var statuses: [Int] = []
            var sockets: [RawSocket] = []
            for name in ["ipone", "iptwo", "ipthree"] {
                let user = try await node.api.register(name)
                let (socket, answer) = try await Self.upgrade(node, token: user.accessToken)
                statuses.append(answer.status)
                sockets.append(socket)
            }
            #expect(statuses == [101, 101, 429])
        }
    }

    @Test func oneCommandBudgetPerAccountAcrossSocketsAndInstances() async throws {
        try await Cluster.with(2, ["AGORA_RATE_LIMITS": "true", "AGORA_WS_COMMAND_LIMIT": "10"]) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let sender = try await a.api.register("chatty")
            let peer = try await a.api.register("listener")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["username": "listener"], bearer: sender.accessToken)
            let conversation = try #require(opened["id"] as? String, "\(opened.raw)")
            _ = peer
            let sockets = [
                try await TestSocket.resuming(port: a.port, token: sender.accessToken, after: 0),
                try await TestSocket.resuming(port: b.port, token: sender.accessToken, after: 0),
            ]
            for socket in sockets { _ = try await socket.expect("ack", skipping: ["presence"]) }
            for (index, socket) in sockets.enumerated() {
                for n in 0..<8 {
                    try socket.send(["type": "chat:send", "id": "m\(index)-\(n)", "data": ["conversationId": conversation, "text": "hi \(n)"]])
                }
            }
            var acked = 0
            var limited = 0
            for socket in sockets {
                var answered = 0
                while answered < 8 {
                    let message = try #require(try await socket.next())
                    switch message["type"] as? String {
                    case "ack":
                        acked += 1
                        answered += 1
                    case "error":
                        #expect(message.data["code"] as? String == "rate_limited")
                        limited += 1
                        answered += 1
                    default: continue
                    }
                }
            }
            #expect(acked == 10 && limited == 6, "acked \(acked), limited \(limited)")
            let history = try await a.api.call(.get, "/api/conversations/\(conversation)/messages?limit=100", bearer: sender.accessToken)
            #expect((history["items"] as? [Any])?.count == 10)
        }
    }

    @Test func aClientThatOutrunsItsCommandsIsClosedWithAPolicyCode() async throws {
        try await Cluster.with(1, ["AGORA_WS_MAX_PENDING": "4"]) { nodes in
            let node = nodes[0]
            let user = try await node.api.register("flooder")
            let (socket, answer) = try await Self.upgrade(node, token: user.accessToken)
            try #require(answer.status == 101)
            // Twenty subscribe commands in one write: they queue faster than they can run.
            var burst: [UInt8] = []
            for n in 0..<20 { burst += clientFrame(0x1, text: "{\"type\":\"subscribe\",\"id\":\"\(n)\",\"data\":{\"topic\":\"product:\(UUID())\"}}") }
            try await socket.send(burst)
            var closeFrame: WebSocketFrame?
            while let frame = try await socket.readFrame(timeout: .seconds(10)) {
                if frame.opcode == .close {
                    closeFrame = frame
                    break
                }
            }
            var payload = try #require(closeFrame).payload
            #expect(payload.readInteger(as: UInt16.self) == 1008)
            #expect(payload.readString(length: payload.readableBytes) == "too many pending commands")
        }
    }
}
