import AgoraTestSupport
import AgoraWebSocket
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

private func upgraded(_ port: Int) async throws -> RawSocket {
    let socket = try await RawSocket.connect(port: port)
    let answer = try await socket.handshake(path: "/ws")
    #expect(answer.status == 101)
    #expect(answer.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    return socket
}

@Suite(.timeLimit(.minutes(1)))
struct ConnectionTests {
    @Test func pingIsAnsweredWithTheSamePayloadAndUnsolicitedPongsAreIgnored() async throws {
        try await TestServer.with { port in
            let socket = try await upgraded(port)
            try await socket.send(clientFrame(0xA, Array("unsolicited".utf8)))
            try await socket.send(clientFrame(0x9, Array("are you there?".utf8)))
            let pong = try #require(try await socket.readFrame())
            #expect(pong.opcode == .pong)
            #expect(String(buffer: pong.payload) == "are you there?")
            try await socket.send(clientFrame(0x1, text: "still open"))
            #expect(String(buffer: try #require(try await socket.readFrame()).payload) == "still open")
        }
    }

    @Test func aPeerThatClosesTCPWithoutACloseFrameIsClosedAtOnce() async throws {
        // Hummingbird allows half-closure, so a FIN is an event, not the end of the channel; with pings off nothing
        // else would ever end this connection (and with them on, it held its session and caps until a missed pong).
        try await TestServer.with { port in
            let socket = try await upgraded(port)
            try await socket.send(clientFrame(0x1, text: "last words"))
            #expect(String(buffer: try #require(try await socket.readFrame()).payload) == "last words")
            try await socket.channel.close(mode: .output)
            #expect(try await socket.waitForTCPClose(timeout: .seconds(3)))
        }
    }

    @Test func idleConnectionsArePingedAndDroppedWhenThePongIsLate() async throws {
        // Timings leave room for a loaded 2-core machine: the whole suite starts in parallel on two cores, and in CI a
        // test task waited over two seconds between reading a ping and writing its pong (the server rightly dropped
        // it). A pong within ten seconds is in time; the silent client is still dropped within about 10.25 s.
        let configuration = WebSocketConfiguration(paths: ["/ws"], pingInterval: .milliseconds(250), pongTimeout: .seconds(10))
        try await TestServer.with(configuration) { port in
            let answering = try await upgraded(port)
            let silent = try await upgraded(port)
            // The answering client replies to each ping; the silent one never does.
            for _ in 0..<3 {
                let ping = try #require(try await answering.readFrame())
                #expect(ping.opcode == .ping)
                try await answering.send(clientFrame(0xA, Array(ping.payload.readableBytesView)))
            }
            let ping = try await silent.readFrame()
            #expect(ping?.opcode == .ping)
            #expect(try await silent.waitForTCPClose())
            #expect(!(try await answering.waitForTCPClose(timeout: .milliseconds(100))))
            await answering.close()
        }
    }

    @Test func aClientThatDoesNotReadIsClosedWith1008() async throws {
        let configuration = WebSocketConfiguration(paths: ["/ws"], pingInterval: nil, maxQueuedBytes: 256 << 10)
        try await TestServer.with(configuration, onUpgrade: { connection, _, _ in
            let chunk = ByteBuffer(repeating: 0x61, count: 64 << 10)
            // Far more than the socket buffers plus the queue limit hold, written without waiting.
            for _ in 0..<2000 { connection.send(.binary(chunk)) }
            for try await _ in connection.messages {}
        }) { port in
            let socket = try await upgraded(port)
            try await socket.pauseReading()
            try await Task.sleep(for: .milliseconds(500))  // read nothing while the server writes
            try await socket.resumeReading()
            let closing = try await socket.readUntilClose(timeout: .seconds(10))
            #expect(closing?.code == 1008)
        }
    }

    @Test func aClientOverTheMessageRateIsClosedWith1008() async throws {
        let configuration = WebSocketConfiguration(paths: ["/ws"], pingInterval: nil, messagesPerSecond: 5, messageBurst: 10)
        try await TestServer.with(configuration) { port in
            let socket = try await upgraded(port)
            // A burst within the allowance is served.
            var burst: [UInt8] = []
            for i in 0..<10 { burst += clientFrame(0x1, text: "m\(i)") }
            try await socket.send(burst)
            for i in 0..<10 {
                let echo = try #require(try await socket.readFrame())
                #expect(String(buffer: echo.payload) == "m\(i)")
            }
            // Twenty more at once is far over 5/s: the connection is closed with 1008.
            var flood: [UInt8] = []
            for i in 0..<20 { flood += clientFrame(0x1, text: "f\(i)") }
            try await socket.send(flood)
            let closing = try await socket.readUntilClose()
            #expect(closing?.code == 1008)
            #expect(try await socket.waitForTCPClose())
        }
    }

    @Test func serverShutdownClosesEveryWebSocketWith1001() async throws {
        let router = Router()
        let portBox = PortBox()
        let app = Application(
            router: router,
            server: .http1WebSocket(webSocket: .init(paths: ["/ws"], pingInterval: nil), shouldUpgrade: { _, _, _ in .accept(()) },
                                    onUpgrade: { connection, _, _ in for try await _ in connection.messages {} }),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portBox.set(channel.localAddress?.port ?? 0) },
            logger: TestServer.logger
        )
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: TestServer.logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serviceGroup.run() }
            let port = try await portBox.wait()
            let sockets = [try await upgraded(port), try await upgraded(port)]
            await serviceGroup.triggerGracefulShutdown()
            for socket in sockets {
                let closing = try await socket.readUntilClose()
                #expect(closing?.code == 1001)
                try await socket.send(clientFrame(0x8, closePayload(1001)))
                #expect(try await socket.waitForTCPClose())
            }
            try await group.waitForAll()
        }
    }

    @Test func broadcastWritesOneEncodedFrameToEveryMember() async throws {
        let group = BroadcastGroup()
        try await TestServer.with(onUpgrade: { connection, _, _ in
            group.join(connection.channel)
            for try await message in connection.messages {
                if case .text(let text) = message { group.broadcast(text: text) }
            }
        }) { port in
            var sockets: [RawSocket] = []
            for _ in 0..<50 { sockets.append(try await upgraded(port)) }
            while group.count < 50 { try await Task.sleep(for: .milliseconds(5)) }
            try await sockets[0].send(clientFrame(0x1, text: "to everyone"))
            for socket in sockets {
                let frame = try #require(try await socket.readFrame())
                #expect(frame.opcode == .text && String(buffer: frame.payload) == "to everyone")
            }
            for socket in sockets { await socket.close() }
        }
    }
}

/// Hands the server's port from `onServerRunning` to the test.
final class PortBox: Sendable {
    private let port = Mutex<Int?>(nil)
    func set(_ value: Int) { port.withLock { $0 = value } }
    func wait() async throws -> Int {
        for _ in 0..<500 {
            if let value = port.withLock({ $0 }) {
                port.withLock { $0 = nil }
                return value
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw RawSocketTimeout()
    }
}
