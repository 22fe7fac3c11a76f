import AgoraTestSupport
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import AgoraWebSocket

/// The connection handler's transitions on an `EmbeddedChannel`: client frames in, messages and frames out, and the
/// closing handshake, with no socket. The same behaviour over real sockets is in ConnectionTests and the conformance
/// suites; these pin each transition on its own.
struct WebSocketHandlerTests {
    /// A server-side handler in a channel.
    struct Rig {
        let channel = EmbeddedChannel()

        init(_ configuration: WebSocketConfiguration = WebSocketConfiguration(paths: ["/ws"], pingInterval: nil)) throws {
            let handler = WebSocketHandler(settings: WebSocketSettings(configuration: configuration, isClient: false), logger: Logger(label: "test"))
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func send(_ bytes: [UInt8]) throws { try channel.writeInbound(ByteBuffer(bytes: bytes)) }

        /// The messages the handler passed down the pipeline.
        func messages() throws -> [WebSocketMessage] {
            var out: [WebSocketMessage] = []
            while let message = try channel.readInbound(as: WebSocketMessage.self) { out.append(message) }
            return out
        }

        /// The frames the handler wrote, parsed as a client would.
        func frames() throws -> [WebSocketFrame] {
            var bytes = ByteBuffer()
            while var chunk = try channel.readOutbound(as: ByteBuffer.self) { bytes.writeBuffer(&chunk) }
            var parser = FrameParser(maxFrameSize: 1 << 20, requireMasked: false)
            var frames: [WebSocketFrame] = []
            while let frame = try parser.next(&bytes) { frames.append(frame) }
            return frames
        }
    }

    static func closeCode(_ frame: WebSocketFrame?) -> UInt16? {
        guard let frame, frame.opcode == .close else { return nil }
        var payload = frame.payload
        return payload.readInteger(as: UInt16.self)
    }

    @Test func aMaskedTextFrameBecomesAMessage() throws {
        let rig = try Rig()
        try rig.send(clientFrame(0x1, text: "héllo"))
        #expect(try rig.messages() == [.text("héllo")])
        #expect(try rig.frames().isEmpty)
    }

    @Test func fragmentsAreAssembledAndAPingBetweenThemIsAnswered() throws {
        let rig = try Rig()
        try rig.send(clientFrame(0x1, text: "con", fin: false))
        #expect(try rig.messages().isEmpty)
        try rig.send(clientFrame(0x9, Array("are you there".utf8)))
        try rig.send(clientFrame(0x0, text: "tinued"))
        #expect(try rig.messages() == [.text("continued")])
        let pong = try #require(try rig.frames().first)
        #expect(pong.opcode == .pong)
        #expect(String(buffer: pong.payload) == "are you there")
    }

    @Test func aFrameSplitAcrossReadsIsWaitedFor() throws {
        let rig = try Rig()
        let frame = clientFrame(0x2, Array(repeating: 7, count: 300))
        for chunk in stride(from: 0, to: frame.count, by: 50) {
            #expect(try rig.messages().isEmpty)
            try rig.send(Array(frame[chunk..<min(chunk + 50, frame.count)]))
        }
        #expect(try rig.messages() == [.binary(ByteBuffer(bytes: Array(repeating: 7, count: 300)))])
    }

    @Test func theClientsCloseIsEchoedAndTheServerDropsTCP() throws {
        let rig = try Rig()
        try rig.send(clientFrame(0x8, closePayload(1000, "bye")))
        rig.channel.embeddedEventLoop.run()
        #expect(Self.closeCode(try rig.frames().first) == 1000)
        #expect(!rig.channel.isActive)
    }

    @Test func anUnmaskedClientFrameFailsTheConnectionWith1002() throws {
        let rig = try Rig()
        try? rig.send(clientFrame(0x1, Array("x".utf8), masked: false))
        rig.channel.embeddedEventLoop.run()
        #expect(try rig.messages().isEmpty)
        #expect(Self.closeCode(try rig.frames().first) == 1002)
        #expect(!rig.channel.isActive)
    }

    @Test func invalidUTF8FailsTheConnectionWith1007() throws {
        let rig = try Rig()
        try? rig.send(clientFrame(0x1, [0xC3, 0x28]))
        rig.channel.embeddedEventLoop.run()
        #expect(try rig.messages().isEmpty)
        #expect(Self.closeCode(try rig.frames().first) == 1007)
    }

    @Test func aMessagePastTheLimitFailsTheConnectionWith1009() throws {
        let rig = try Rig(WebSocketConfiguration(paths: ["/ws"], maxFrameSize: 64, maxMessageSize: 100, pingInterval: nil))
        try? rig.send(clientFrame(0x2, Array(repeating: 1, count: 60), fin: false))
        try? rig.send(clientFrame(0x0, Array(repeating: 1, count: 60)))
        rig.channel.embeddedEventLoop.run()
        #expect(try rig.messages().isEmpty)
        #expect(Self.closeCode(try rig.frames().first) == 1009)
    }

    @Test func aFloodPastTheRateIsClosedWith1008() throws {
        let rig = try Rig(WebSocketConfiguration(paths: ["/ws"], pingInterval: nil, messagesPerSecond: 5, messageBurst: 10))
        for i in 0..<30 { try? rig.send(clientFrame(0x1, text: "m\(i)")) }
        rig.channel.embeddedEventLoop.run()
        // The burst gets through; what follows it is refused with a policy close.
        let delivered = try rig.messages()
        #expect((10...11).contains(delivered.count))
        #expect(Self.closeCode(try rig.frames().first) == 1008)
    }

    @Test func outboundMessagesAreUnmaskedFrames() throws {
        let rig = try Rig()
        try rig.channel.writeOutbound(WebSocketOutbound.text("to the client"))
        try rig.channel.writeOutbound(WebSocketOutbound.binary(ByteBuffer(bytes: [1, 2, 3])))
        let frames = try rig.frames()
        #expect(frames.map(\.opcode) == [.text, .binary])
        #expect(String(buffer: frames[0].payload) == "to the client")
        #expect(Array(frames[1].payload.readableBytesView) == [1, 2, 3])
    }

    @Test func aServerCloseWaitsForTheClientsReply() throws {
        let rig = try Rig()
        try rig.channel.writeOutbound(WebSocketOutbound.close(code: 1001, reason: "going away"))
        #expect(Self.closeCode(try rig.frames().first) == 1001)
        #expect(rig.channel.isActive)
        // Data after our Close is not delivered; the client's Close completes the handshake and TCP closes.
        try? rig.send(clientFrame(0x1, text: "late"))
        try rig.send(clientFrame(0x8, closePayload(1001)))
        rig.channel.embeddedEventLoop.run()
        #expect(try rig.messages().isEmpty)
        #expect(!rig.channel.isActive)
    }
}
