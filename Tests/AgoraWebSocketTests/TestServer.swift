import AgoraWebSocket
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// An HTTP server with our WebSocket upgrade on `/ws`, on a free port, for end-to-end tests.
enum TestServer {
    static var logger: Logger {
        var logger = Logger(label: "ws.test")
        logger.logLevel = .warning
        return logger
    }

    static let echo: WebSocketHTTPChannel<String>.OnUpgrade = { connection, _, _ in
        for try await message in connection.messages {
            switch message {
            case .text(let text): connection.send(.text(text))
            case .binary(let bytes): connection.send(.binary(bytes))
            }
        }
    }

    /// Runs `body` with the port of a live server. Plain HTTP routes: `GET /hello`, `POST /echo-body`.
    static func with(
        _ configuration: WebSocketConfiguration = WebSocketConfiguration(paths: ["/ws"], pingInterval: nil),
        shouldUpgrade: @escaping WebSocketHTTPChannel<String>.ShouldUpgrade = { head, _, _ in .accept(head.target) },
        onUpgrade: @escaping WebSocketHTTPChannel<String>.OnUpgrade = echo,
        _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        let router = Router()
        router.get("/hello") { _, _ in "hello" }
        router.post("/echo-body") { request, _ in
            Response(status: .ok, body: .init(byteBuffer: try await request.body.collect(upTo: 1 << 20)))
        }
        let app = Application(
            router: router,
            server: .http1WebSocket(webSocket: configuration, shouldUpgrade: shouldUpgrade, onUpgrade: onUpgrade),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: logger
        )
        try await app.test(.live) { client in
            try await body(try #require(client.port))
        }
    }

    /// The same server with each connection served from its pipeline by the delegate `serve` returns.
    static func with(
        _ configuration: WebSocketConfiguration = WebSocketConfiguration(paths: ["/ws"], pingInterval: nil),
        shouldUpgrade: @escaping WebSocketHTTPChannel<String>.ShouldUpgrade = { head, _, _ in .accept(head.target) },
        serve: @escaping WebSocketHTTPChannel<String>.Serve,
        _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        let app = Application(
            router: Router(),
            server: .http1WebSocket(webSocket: configuration, shouldUpgrade: shouldUpgrade, serve: serve),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: logger
        )
        try await app.test(.live) { client in
            try await body(try #require(client.port))
        }
    }
}

/// Echoes every message back, from the pipeline.
struct EchoDelegate: WebSocketDelegate {
    func received(_ message: WebSocketMessage, from peer: WebSocketPeer) {
        peer.send(WebSocketOutbound(message))
    }
}
