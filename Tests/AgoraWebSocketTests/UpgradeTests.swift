import AgoraTestSupport
import AgoraWebSocket
import Foundation
import HTTPTypes
import NIOCore
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1)))
struct UpgradeTests {
    @Test func echoesTextAndBinaryThroughOurClient() async throws {
        // Frames up to 1 MiB, so a 70 000-byte message uses the 64-bit length form.
        try await TestServer.with(WebSocketConfiguration(paths: ["/ws"], maxFrameSize: 1 << 20, pingInterval: nil)) { port in
            let ws = try await WebSocketClient.connect(host: "127.0.0.1", port: port, path: "/ws")
            try await ws.executeThenClose { inbound, outbound in
                var messages = inbound.makeAsyncIterator()
                try await outbound.write(.text("héllo ☃"))
                #expect(try await messages.next() == .text("héllo ☃"))
                let blob = ByteBuffer(bytes: (0..<70_000).map { UInt8($0 % 251) })
                try await outbound.write(.binary(blob))
                #expect(try await messages.next() == .binary(blob))
                try await outbound.write(.close(code: 1000, reason: "done"))
                #expect(try await messages.next() == nil)  // the server echoed our Close and closed TCP
            }
        }
    }

    @Test func plainHTTPIsUntouchedIncludingKeepAliveAndPipelining() async throws {
        try await TestServer.with { port in
            let socket = try await RawSocket.connect(port: port)
            // Two requests in one write (pipelined), then a third on the same connection (keep-alive).
            try await socket.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping")
            let first = try await socket.readHTTP()
            let second = try await socket.readHTTP()
            #expect(first.status == 200 && first.body == "hello")
            #expect(second.status == 200 && second.body == "ping")
            try await socket.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await socket.readHTTP().body == "hello")
            // The WebSocket path without an upgrade is an ordinary request for the router (404 here).
            try await socket.send("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await socket.readHTTP().status == 404)
            await socket.close()
        }
    }

    @Test func upgradeOnAnotherPathReachesTheRouter() async throws {
        try await TestServer.with { port in
            let socket = try await RawSocket.connect(port: port)
            let answer = try await socket.handshake(path: "/hello")
            #expect(answer.status == 200 && answer.body == "hello")
            await socket.close()
        }
    }

    @Test func badHandshakesGetJSON400And426() async throws {
        try await TestServer.with { port in
            let socket = try await RawSocket.connect(port: port)
            try await socket.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n")
            let bad = try await socket.readHTTP()
            #expect(bad.status == 400)
            #expect(bad.headers["content-type"] == "application/json")
            let body = try JSONSerialization.jsonObject(with: Data(bad.body.utf8)) as? [String: Any]
            #expect(body?["statusCode"] as? Int == 400)
            #expect((body?["message"] as? String)?.contains("Sec-WebSocket-Key") == true)
            #expect(try await socket.waitForTCPClose())

            let old = try await RawSocket.connect(port: port)
            try await old.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
            let answer = try await old.readHTTP()
            #expect(answer.status == 426)
            #expect(answer.headers["sec-websocket-version"] == "13")

            // A handshake that lost its Upgrade header is still a handshake on a WebSocket path: 426, never the
            // router's 200 or 404 (RFC 6455 §4.2.1). So is one with only a key.
            for headers in ["Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"] {
                let noUpgrade = try await RawSocket.connect(port: port)
                try await noUpgrade.send("GET /ws HTTP/1.1\r\nHost: x\r\n\(headers)Sec-WebSocket-Version: 13\r\n\r\n")
                let refused = try await noUpgrade.readHTTP()
                #expect(refused.status == 426)
                #expect(refused.headers["upgrade"] == "websocket")
                #expect(refused.headers["sec-websocket-version"] == "13")
                #expect(try await noUpgrade.waitForTCPClose())
            }

            let post = try await RawSocket.connect(port: port)
            try await post.send("POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n")
            #expect(try await post.readHTTP().status == 400)
        }
    }

    @Test func theHookSeesPathQueryHeadersAndCookiesAndCanRefuse() async throws {
        let seen = Mutex<[String]>([])
        try await TestServer.with(shouldUpgrade: { head, _, _ in
            seen.withLock { $0.append("\(head.path)|\(head.query ?? "")|\(head.cookies["session"] ?? "")|\(head.values("Origin").first ?? "")") }
            guard head.values("Origin").first == "https://agora.example" else { return .refuse(.forbidden, message: "Origin not allowed") }
            guard head.cookies["session"] == "good" else { return .refuse(.unauthorized, message: "Log in first") }
            return .accept("user-42")
        }, onUpgrade: { connection, user, _ in
            connection.send(.text("hello \(user)"))
            for try await _ in connection.messages {}
        }) { port in
            let wrongOrigin = try await RawSocket.connect(port: port)
            let refused = try await wrongOrigin.handshake(path: "/ws?ticket=1", headers: ["Origin: https://evil.example", "Cookie: session=good"])
            #expect(refused.status == 403)
            #expect(refused.body.contains("Origin not allowed"))

            let anonymous = try await RawSocket.connect(port: port)
            #expect(try await anonymous.handshake(path: "/ws", headers: ["Origin: https://agora.example"]).status == 401)

            let ws = try await WebSocketClient.connect(
                host: "127.0.0.1", port: port, path: "/ws?ticket=7", headers: [("Origin", "https://agora.example"), ("Cookie", "theme=dark; session=good")])
            try await ws.executeThenClose { inbound, _ in
                var messages = inbound.makeAsyncIterator()
                let greeting = try await messages.next()
                #expect(greeting == .text("hello user-42"))
            }
            #expect(seen.withLock { $0 }.last == "/ws|ticket=7|good|https://agora.example")
        }
    }

    @Test func ourClientReportsARefusalWithItsStatusAndBody() async throws {
        try await TestServer.with(shouldUpgrade: { _, _, _ in .refuse(.unauthorized, message: "no ticket") }) { port in
            let error = await #expect(throws: WebSocketClientError.self) {
                _ = try await WebSocketClient.connect(host: "127.0.0.1", port: port, path: "/ws")
            }
            #expect(error?.status == 401)
            #expect(error?.body.contains("no ticket") == true)
        }
    }

    @Test func framesSentRightAfterTheHandshakeAreNotLost() async throws {
        try await TestServer.with { port in
            let socket = try await RawSocket.connect(port: port)
            // Handshake and a frame in one write: the frame arrives while the server is still deciding.
            let head = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            try await socket.send(Array(head.utf8) + clientFrame(0x1, text: "early"))
            #expect(try await socket.readHTTP().status == 101)
            let frame = try #require(try await socket.readFrame())
            #expect(String(buffer: frame.payload) == "early")
        }
    }
}
