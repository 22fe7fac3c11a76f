import HummingbirdCore
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import AgoraWebSocket

/// The sniffer's state transitions on an `EmbeddedChannel`: what it decides for each first request head, what it
/// keeps, and when it gives up. No sockets, no clock but the embedded loop's.
struct UpgradeSnifferTests {
    static let upgradeHead =
        "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// A channel with the sniffer in it, the promise it fulfils, and a collector of what it passes on.
    struct Rig {
        let channel: EmbeddedChannel
        let kind: EventLoopPromise<WebSocketConnectionKind>
        let passed: Collector

        init(_ configuration: WebSocketConfiguration = WebSocketConfiguration(paths: ["/ws"])) throws {
            channel = EmbeddedChannel()
            kind = channel.eventLoop.makePromise(of: WebSocketConnectionKind.self)
            passed = Collector()
            let http = HTTP1Channel(responder: { _, _, _ in })
            let sniffer = UpgradeSniffer(configuration: configuration, http: http, logger: Logger(label: "test"), promise: kind)
            try channel.pipeline.syncOperations.addHandlers([sniffer, passed])
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func write(_ text: String) throws { try channel.writeInbound(ByteBuffer(string: text)) }

        /// What the sniffer decided, if it has.
        func decision() -> WebSocketConnectionKind? {
            var result: WebSocketConnectionKind?
            kind.futureResult.whenSuccess { result = $0 }
            channel.embeddedEventLoop.run()
            return result
        }
    }

    /// Collects the bytes passed behind the sniffer.
    final class Collector: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        var bytes: [String] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes.append(String(buffer: unwrapInboundIn(data)))
        }
    }

    @Test func anUpgradeOnAWebSocketPathIsHeldWithTheBytesAfterIt() throws {
        let rig = try Rig()
        try rig.write(Self.upgradeHead + "early-frame")
        guard case .upgrade(let candidate) = rig.decision() else {
            Issue.record("not an upgrade")
            return
        }
        #expect(candidate.head.path == "/ws")
        #expect(candidate.head.values("Sec-WebSocket-Key") == ["dGhlIHNhbXBsZSBub25jZQ=="])
        // Held, not passed on, until the handshake removes the sniffer: then the early bytes reach the next handler.
        #expect(rig.passed.bytes.isEmpty)
        try rig.write("-and-more")
        #expect(rig.passed.bytes.isEmpty)
        let sniffer = try rig.channel.pipeline.syncOperations.handler(type: UpgradeSniffer.self)
        try rig.channel.pipeline.syncOperations.removeHandler(sniffer).wait()
        #expect(rig.passed.bytes.joined() == "early-frame-and-more")
        // Once it has left, bytes flow straight through.
        try rig.write("frame")
        #expect(rig.passed.bytes.last == "frame")
    }

    @Test func aHeadSplitAcrossReadsIsWaitedFor() throws {
        let rig = try Rig()
        let bytes = Array(Self.upgradeHead.utf8)
        for chunk in stride(from: 0, to: bytes.count, by: 7) {
            #expect(rig.decision() == nil)
            try rig.channel.writeInbound(ByteBuffer(bytes: bytes[chunk..<min(chunk + 7, bytes.count)]))
        }
        guard case .upgrade = rig.decision() else {
            Issue.record("not an upgrade")
            return
        }
    }

    @Test func aBrokenHandshakeOnTheWebSocketPathIsStillOursToRefuse() throws {
        // Connection: Upgrade and a key but no Upgrade header: the handshake answers it with a 4xx, not the router.
        let rig = try Rig()
        try rig.write("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\n\r\n")
        guard case .upgrade = rig.decision() else {
            Issue.record("not an upgrade")
            return
        }
    }

    @Test func anythingElseGoesToHummingbirdWithTheBytesReadSoFar() throws {
        for head in [
            "GET /api/products HTTP/1.1\r\nHost: a\r\n\r\n",  // not a WebSocket path
            "GET /other HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",  // an upgrade elsewhere
            "GET /ws HTTP/1.1\r\nHost: a\r\n\r\n",  // the path, but no sign of an upgrade
            "NOT HTTP AT ALL\r\n\r\n",  // malformed: Hummingbird's decoder answers it
        ] {
            let rig = try Rig()
            try rig.write(head)
            guard case .http = rig.decision() else {
                Issue.record("not passed to HTTP: \(head)")
                continue
            }
            #expect((try? rig.channel.pipeline.syncOperations.handler(type: UpgradeSniffer.self)) == nil, "the sniffer left")
            _ = try? rig.channel.finish()
        }
    }

    @Test func aHeadPastTheLimitIsLeftToHummingbird() throws {
        let rig = try Rig(WebSocketConfiguration(paths: ["/ws"], maxRequestHeadSize: 256))
        try rig.write("GET /ws HTTP/1.1\r\nX-Padding: " + String(repeating: "a", count: 300))
        guard case .http = rig.decision() else {
            Issue.record("not passed to HTTP")
            return
        }
        _ = try? rig.channel.finish()
    }

    @Test func tooMuchBeforeThe101ClosesTheConnection() throws {
        let rig = try Rig(WebSocketConfiguration(paths: ["/ws"], maxRequestHeadSize: 256))
        try rig.write(Self.upgradeHead)
        guard case .upgrade = rig.decision() else {
            Issue.record("not an upgrade")
            return
        }
        #expect(rig.channel.isActive)
        try rig.write(String(repeating: "x", count: 300))
        rig.channel.embeddedEventLoop.run()
        #expect(!rig.channel.isActive)
    }

    @Test func aConnectionThatSendsNoHeadInTimeIsClosed() throws {
        let rig = try Rig(WebSocketConfiguration(paths: ["/ws"], handshakeTimeout: .seconds(2)))
        try rig.write("GET /ws HTT")
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1999))
        #expect(rig.decision() == nil)
        #expect(rig.channel.isActive)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        guard case .closed = rig.decision() else {
            Issue.record("not closed")
            return
        }
        #expect(!rig.channel.isActive)
    }

    @Test func theTimeoutStopsOnceAnUpgradeIsSeen() throws {
        let rig = try Rig(WebSocketConfiguration(paths: ["/ws"], handshakeTimeout: .seconds(2)))
        try rig.write(Self.upgradeHead)
        rig.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        guard case .upgrade = rig.decision() else {
            Issue.record("not an upgrade")
            return
        }
        #expect(rig.channel.isActive)
    }

    @Test func aPeerThatLeavesBeforeAHeadIsClosed() throws {
        let rig = try Rig()
        try rig.write("GET /")
        rig.channel.pipeline.fireChannelInactive()
        guard case .closed = rig.decision() else {
            Issue.record("not closed")
            return
        }
    }

    @Test func shutdownClosesAConnectionThatHasNotSentAHead() throws {
        let rig = try Rig()
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        guard case .closed = rig.decision() else {
            Issue.record("not closed")
            return
        }
        #expect(!rig.channel.isActive)
    }

    @Test func shutdownLeavesAnUpgradeInFlightAlone() throws {
        let rig = try Rig()
        try rig.write(Self.upgradeHead)
        guard case .upgrade = rig.decision() else {
            Issue.record("not an upgrade")
            return
        }
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        rig.channel.embeddedEventLoop.run()
        #expect(rig.channel.isActive)
    }
}
