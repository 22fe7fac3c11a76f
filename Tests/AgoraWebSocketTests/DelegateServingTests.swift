import AgoraTestSupport
import AgoraWebSocket
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// The same connection behaviour as `ConnectionTests`, for connections served from their pipeline by a
/// `WebSocketDelegate` (no task per connection), plus what only that API has: per-connection delegate state, the
/// `closed` call, and a shutdown that still waits for connections no task is holding.
@Suite(.timeLimit(.minutes(1)))
struct DelegateServingTests {
    /// Numbers each message, so the test sees that one delegate lives as long as its connection.
    final class Counting: WebSocketDelegate {
        let events: Events
        var count = 0
        init(events: Events) { self.events = events }

        func received(_ message: WebSocketMessage, from peer: WebSocketPeer) {
            count += 1
            if case .text(let text) = message { peer.send(.text("\(count): \(text)")) }
        }

        func closed(_ peer: WebSocketPeer) { events.append("closed after \(count)") }
    }

    final class Events: Sendable {
        private let list = Mutex<[String]>([])
        func append(_ event: String) { list.withLock { $0.append(event) } }
        var all: [String] { list.withLock { $0 } }
    }

    @Test func delegateKeepsStateSendsOnAcceptAndHearsTheCloseOnce() async throws {
        let events = Events()
        try await TestServer.with(serve: { peer, target, _ in
            peer.send(.text("welcome \(target)"))  // sent from `serve`, before any message
            return Counting(events: events)
        }) { port in
            let socket = try await upgraded(port)
            #expect(String(buffer: try #require(try await socket.readFrame()).payload) == "welcome /ws")
            try await socket.send(clientFrame(0x1, text: "a") + clientFrame(0x1, text: "b"))
            #expect(String(buffer: try #require(try await socket.readFrame()).payload) == "1: a")
            #expect(String(buffer: try #require(try await socket.readFrame()).payload) == "2: b")
            try await socket.send(clientFrame(0x8, closePayload(1000)))
            #expect(try await socket.readUntilClose()?.code == 1000)
            #expect(try await socket.waitForTCPClose())
            for _ in 0..<100 where events.all.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(events.all == ["closed after 2"])
        }
    }

    @Test func framesSentWithTheHandshakeReachTheDelegate() async throws {
        try await TestServer.with(serve: { _, _, _ in EchoDelegate() }) { port in
            let socket = try await RawSocket.connect(port: port)
            let head = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            try await socket.send(Array(head.utf8) + clientFrame(0x1, text: "early"))
            #expect(try await socket.readHTTP().status == 101)
            #expect(String(buffer: try #require(try await socket.readFrame()).payload) == "early")
        }
    }

    @Test func idleConnectionsArePingedAndDroppedWhenThePongIsLate() async throws {
        // As in ConnectionTests: in CI the suite's start on two cores delayed a test task over two seconds between a
        // ping and its pong, so a pong within ten seconds is in time.
        let configuration = WebSocketConfiguration(paths: ["/ws"], pingInterval: .milliseconds(250), pongTimeout: .seconds(10))
        try await TestServer.with(configuration, serve: { _, _, _ in EchoDelegate() }) { port in
            let answering = try await upgraded(port)
            let silent = try await upgraded(port)
            for _ in 0..<3 {
                let ping = try #require(try await answering.readFrame())
                #expect(ping.opcode == .ping)
                try await answering.send(clientFrame(0xA, Array(ping.payload.readableBytesView)))
            }
            #expect(try await silent.readFrame()?.opcode == .ping)
            #expect(try await silent.waitForTCPClose())
            #expect(!(try await answering.waitForTCPClose(timeout: .milliseconds(100))))
            await answering.close()
        }
    }

    @Test func aClientThatDoesNotReadIsClosedWith1008() async throws {
        let configuration = WebSocketConfiguration(paths: ["/ws"], pingInterval: nil, maxQueuedBytes: 256 << 10)
        try await TestServer.with(configuration, serve: { peer, _, _ in
            let chunk = ByteBuffer(repeating: 0x61, count: 64 << 10)
            for _ in 0..<2000 { peer.send(.binary(chunk)) }
            return EchoDelegate()
        }) { port in
            let socket = try await upgraded(port)
            try await socket.pauseReading()
            try await Task.sleep(for: .milliseconds(500))
            try await socket.resumeReading()
            #expect(try await socket.readUntilClose()?.code == 1008)
        }
    }

    @Test func aClientOverTheMessageRateIsClosedWith1008() async throws {
        let configuration = WebSocketConfiguration(paths: ["/ws"], pingInterval: nil, messagesPerSecond: 5, messageBurst: 10)
        try await TestServer.with(configuration, serve: { _, _, _ in EchoDelegate() }) { port in
            let socket = try await upgraded(port)
            var flood: [UInt8] = []
            for i in 0..<30 { flood += clientFrame(0x1, text: "f\(i)") }
            try await socket.send(flood)
            #expect(try await socket.readUntilClose()?.code == 1008)
            #expect(try await socket.waitForTCPClose())
        }
    }

    @Test func shutdownSends1001AndWaitsForTheCloseHandshakes() async throws {
        let portBox = PortBox()
        let app = Application(
            router: Router(),
            server: .http1WebSocket(webSocket: .init(paths: ["/ws"], pingInterval: nil), shouldUpgrade: { _, _, _ in .accept(()) },
                                    serve: { _, _, _ in EchoDelegate() }),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portBox.set(channel.localAddress?.port ?? 0) },
            logger: TestServer.logger
        )
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: TestServer.logger))
        let stopped = Events()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await serviceGroup.run()
                stopped.append("stopped")
            }
            let port = try await portBox.wait()
            let sockets = [try await upgraded(port), try await upgraded(port), try await upgraded(port)]
            await serviceGroup.triggerGracefulShutdown()
            for socket in sockets { #expect(try await socket.readUntilClose()?.code == 1001) }
            // No task serves these connections, yet the server must not stop while their handshakes are open.
            try await Task.sleep(for: .milliseconds(300))
            #expect(stopped.all.isEmpty)
            for socket in sockets {
                try await socket.send(clientFrame(0x8, closePayload(1001)))
                #expect(try await socket.waitForTCPClose())
            }
            try await group.waitForAll()
            #expect(stopped.all == ["stopped"])
        }
    }

    @Test func broadcastReachesEveryMember() async throws {
        try await Conformance.withEcho { port in
            var sockets: [RawSocket] = []
            for _ in 0..<20 {
                let socket = try await RawSocket.connect(port: port)
                #expect(try await socket.handshake(path: "/broadcast").status == 101)
                sockets.append(socket)
            }
            // Joining happens on each connection's loop right after its 101; a message sent by the last one to join
            // can only go out after every earlier join.
            try await Task.sleep(for: .milliseconds(100))
            try await sockets[19].send(clientFrame(0x1, text: "to everyone"))
            for socket in sockets {
                let frame = try #require(try await socket.readFrame())
                #expect(frame.opcode == .text && String(buffer: frame.payload) == "to everyone")
            }
            for socket in sockets { await socket.close() }
        }
    }
}

private func upgraded(_ port: Int) async throws -> RawSocket {
    let socket = try await RawSocket.connect(port: port)
    #expect(try await socket.handshake(path: "/ws").status == 101)
    return socket
}
