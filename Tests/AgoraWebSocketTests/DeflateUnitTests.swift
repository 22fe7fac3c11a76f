import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import AgoraWebSocket

/// The zlib wrappers, the per-connection session and the shared message, as plain values.
@Suite struct DeflateUnitTests {
    private let allocator = ByteBufferAllocator()

    private func inflate(_ payload: ByteBuffer, limit: Int = 1 << 20, inflater: Inflater = Inflater(windowBits: 15)) throws -> [UInt8] {
        Array(try inflater.decompress(payload, limit: limit, resetAfter: true, allocator: allocator).readableBytesView)
    }

    @Test func anEmptyMessageIsTheSingleByte00() throws {
        let deflater = Deflater(windowBits: 15, level: 6, memLevel: 8)
        let empty = deflater.compress(ByteBuffer(), resetAfter: true, allocator: allocator)
        #expect(Array(empty.readableBytesView) == [0x00])
        #expect(try inflate(empty).isEmpty)
    }

    @Test func whatTheDeflaterMakesTheReferenceInflates() throws {
        let deflater = Deflater(windowBits: 11, level: 6, memLevel: 8)
        let reference = ReferenceInflate(windowBits: 11, keepContext: true)
        for seed in 0..<20 {
            let message = Samples.json(100 + seed * 300, seed: seed)
            let compressed = deflater.compress(ByteBuffer(bytes: message), resetAfter: false, allocator: allocator)
            #expect(try reference.inflate(Array(compressed.readableBytesView)) == message)
        }
    }

    @Test func theLimitIsOnTheInflatedSizeToTheByte() throws {
        let message = [UInt8](repeating: 7, count: 10_000)
        let compressed = ByteBuffer(bytes: ReferenceDeflate(windowBits: 15, keepContext: false).compress(message))
        #expect(try inflate(compressed, limit: 10_000) == message)
        #expect(throws: WebSocketError.messageTooBig("inflated message exceeds 9999 bytes")) { try inflate(compressed, limit: 9_999) }
        // After a refusal the same inflater is clean for the next message.
        let inflater = Inflater(windowBits: 15)
        #expect(throws: WebSocketError.self) { try inflate(compressed, limit: 10, inflater: inflater) }
        #expect(try inflate(compressed, inflater: inflater) == message)
    }

    @Test func aMessageEndingTheDeflateStreamIsReadAndTheNextStartsAfresh() throws {
        // A final stored block (BFINAL=1, BTYPE=00) holding "abc": a sender may end a message this way.
        let final = ByteBuffer(bytes: [0x01, 0x03, 0x00, 0xFC, 0xFF] + Array("abc".utf8))
        let inflater = Inflater(windowBits: 15)
        let first = try inflater.decompress(final, limit: 100, resetAfter: false, allocator: allocator)
        #expect(String(buffer: first) == "abc")
        let next = ByteBuffer(bytes: ReferenceDeflate(windowBits: 15, keepContext: false).compress(Array("next".utf8)))
        #expect(String(buffer: try inflater.decompress(next, limit: 100, resetAfter: false, allocator: allocator)) == "next")
    }

    @Test func garbageIsInvalidPayload() {
        #expect(throws: WebSocketError.invalidPayload("compressed message is not valid DEFLATE")) {
            try inflate(ByteBuffer(bytes: [0x07, 0xFF, 0xFF]))
        }
    }

    // MARK: Sessions: who owns zlib state

    private func session(_ parameters: PerMessageDeflateParameters, threshold: Int = 0) -> DeflateSession {
        DeflateSession(parameters, isClient: false, configuration: PerMessageDeflateConfiguration(threshold: threshold), codecs: DeflateCodecs(level: 6, memoryLevel: 8))
    }

    @Test func withoutContextTakeoverAConnectionOwnsNoZlibState() throws {
        let plain = session(PerMessageDeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true))
        let message = ByteBuffer(bytes: Samples.json(2000, seed: 1))
        let first = try #require(plain.compress(message, allocator: allocator))
        let second = try #require(plain.compress(message, allocator: allocator))
        #expect(first == second, "each message compressed on its own")
        _ = try plain.decompress(ByteBuffer(bytes: ReferenceDeflate(windowBits: 15, keepContext: false).compress(Samples.json(500, seed: 2))), limit: 1 << 20, allocator: allocator)
        #expect(plain.ownsZlibState == (false, false))
    }

    @Test func contextTakeoverStateIsMadeOnUseAndTheCompressorDroppedWhenQuiet() throws {
        let context = session(PerMessageDeflateParameters())
        #expect(context.ownsZlibState == (false, false))
        let message = ByteBuffer(bytes: Samples.json(2000, seed: 1))
        let first = try #require(context.compress(message, allocator: allocator))
        let second = try #require(context.compress(message, allocator: allocator))
        #expect(second.readableBytes < first.readableBytes / 4, "the second refers back to the first")
        #expect(context.ownsZlibState.deflater)
        context.releaseIdleCompressor(idle: .seconds(30), now: .now() + .seconds(29))  // used within the interval: kept
        #expect(context.ownsZlibState.deflater)
        context.releaseIdleCompressor(idle: .seconds(30), now: .now() + .seconds(31))  // quiet for a whole interval: dropped
        #expect(!context.ownsZlibState.deflater)
        // A fresh compressor is a valid continuation for the peer, whose window just holds unused history.
        let reference = ReferenceInflate(windowBits: 15, keepContext: true)
        #expect(try reference.inflate(Array(first.readableBytesView)) == Samples.json(2000, seed: 1))
        let third = try #require(context.compress(message, allocator: allocator))
        #expect(try reference.inflate(Array(third.readableBytesView)) == Samples.json(2000, seed: 1))
        // The peer keeps context too: an inflater of our own, kept.
        let peer = ReferenceDeflate(windowBits: 15, keepContext: true)
        for seed in 0..<3 {
            let inflated = try context.decompress(ByteBuffer(bytes: peer.compress(Samples.json(800, seed: seed))), limit: 1 << 20, allocator: allocator)
            #expect(Array(inflated.readableBytesView) == Samples.json(800, seed: seed))
        }
        #expect(context.ownsZlibState.inflater)
    }

    @Test func connectionsWithoutContextShareOneSessionPerLoop() {
        let registry = DeflateCodecs.Registry(level: 6, memoryLevel: 8)
        let configuration = PerMessageDeflateConfiguration()
        let loops = [EmbeddedEventLoop(), EmbeddedEventLoop()]
        let none = PerMessageDeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true)
        let a = registry.session(none, isClient: false, configuration: configuration, loop: loops[0])
        let b = registry.session(none, isClient: false, configuration: configuration, loop: loops[0])
        #expect(a === b, "an idle connection that negotiated compression costs one reference")
        #expect(a !== registry.session(none, isClient: false, configuration: configuration, loop: loops[1]), "one per event loop")
        var smaller = none
        smaller.serverMaxWindowBits = 10
        #expect(a !== registry.session(smaller, isClient: false, configuration: configuration, loop: loops[0]))
        // Context either way is state of the connection's own.
        let context = PerMessageDeflateParameters(serverNoContextTakeover: false, clientNoContextTakeover: true)
        #expect(registry.session(context, isClient: false, configuration: configuration, loop: loops[0])
            !== registry.session(context, isClient: false, configuration: configuration, loop: loops[0]))
    }

    @Test func messagesUnderTheThresholdGoPlain() {
        let small = session(PerMessageDeflateParameters(serverNoContextTakeover: true), threshold: 128)
        #expect(small.compress(ByteBuffer(bytes: Samples.json(127, seed: 0)), allocator: allocator) == nil)
        #expect(small.compress(ByteBuffer(bytes: Samples.json(128, seed: 0)), allocator: allocator) != nil)
    }

    // MARK: Prepared messages

    @Test func aPreparedMessageIsCompressedOncePerWindow() {
        let message = PreparedMessage(text: String(decoding: Samples.json(3000, seed: 4), as: UTF8.self))
        let calls = Mutex(0)
        let compress = { () -> ByteBuffer in
            calls.withLock { $0 += 1 }
            return ByteBuffer(bytes: [1, 2, 3])
        }
        let first = message.deflatedFrame(windowBits: 15, compress: compress)
        for _ in 0..<1000 { #expect(message.deflatedFrame(windowBits: 15, compress: compress) == first) }
        #expect(calls.withLock { $0 } == 1)
        let ten = message.deflatedFrame(windowBits: 10, compress: compress)
        _ = message.deflatedFrame(windowBits: 10, compress: compress)
        #expect(calls.withLock { $0 } == 2)
        // RSV1 and FIN on the compressed frame; the plain frame is the ordinary text frame.
        #expect(first.getInteger(at: first.readerIndex, as: UInt8.self) == 0xC1)
        #expect(ten.getInteger(at: ten.readerIndex, as: UInt8.self) == 0xC1)
        #expect(message.plainFrame.getInteger(at: message.plainFrame.readerIndex, as: UInt8.self) == 0x81)
        #expect(message.plainFrame == message.plainFrame)
    }
}
