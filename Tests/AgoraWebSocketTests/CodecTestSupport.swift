import AgoraWebSocket
import NIOCore
import Testing

/// Shared helpers for the codec tests. Namespaced so they cannot clash with helpers the handler and
/// handshake tests in this target define.
enum CodecTestSupport {
    /// The readable bytes of `buffer`.
    static func bytes(_ buffer: ByteBuffer) -> [UInt8] {
        Array(buffer.readableBytesView)
    }

    /// A buffer holding `bytes`.
    static func buffer(_ bytes: [UInt8]) -> ByteBuffer {
        ByteBuffer(bytes: bytes)
    }

    /// A buffer holding the UTF-8 of `string`.
    static func buffer(_ string: String) -> ByteBuffer {
        ByteBuffer(string: string)
    }

    /// Every frame in `bytes`, which must end on a frame boundary.
    static func parseAll(_ bytes: [UInt8], requireMasked: Bool, maxFrameSize: Int = 1 << 20) throws -> [WebSocketFrame] {
        var parser = FrameParser(maxFrameSize: maxFrameSize, requireMasked: requireMasked)
        var buffer = ByteBuffer(bytes: bytes)
        var frames: [WebSocketFrame] = []
        while let frame = try parser.next(&buffer) {
            frames.append(frame)
        }
        #expect(buffer.readableBytes == 0, "bytes left after the last frame")
        return frames
    }

    /// Every frame in `bytes`, delivered to the parser one byte at a time.
    ///
    /// Also checks that the parser consumes nothing while it returns nil, which is its contract with
    /// an accumulating caller.
    static func parseByteAtATime(_ bytes: [UInt8], requireMasked: Bool, maxFrameSize: Int = 1 << 20) throws -> [WebSocketFrame] {
        var parser = FrameParser(maxFrameSize: maxFrameSize, requireMasked: requireMasked)
        var buffer = ByteBuffer()
        var frames: [WebSocketFrame] = []
        for byte in bytes {
            buffer.writeInteger(byte)
            while true {
                let before = buffer.readerIndex
                guard let frame = try parser.next(&buffer) else {
                    #expect(buffer.readerIndex == before, "consumed bytes without returning a frame")
                    break
                }
                frames.append(frame)
            }
        }
        #expect(buffer.readableBytes == 0, "bytes left after the last frame")
        return frames
    }

    /// The encoding of `frame`, masked with `maskingKey` when given.
    static func encode(_ frame: WebSocketFrame, maskingKey: UInt32? = nil) -> [UInt8] {
        var buffer = ByteBuffer()
        FrameEncoder.encode(frame, maskingKey: maskingKey, into: &buffer)
        return bytes(buffer)
    }

    /// `count` bytes of a repeating, position-dependent pattern, so misplaced bytes are noticed.
    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    }

    /// Checks that `body` throws a `WebSocketError` carrying `closeCode`.
    static func expectError(
        _ closeCode: UInt16,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        let error = #expect(throws: WebSocketError.self, sourceLocation: sourceLocation) { try body() }
        #expect(error?.closeCode == closeCode, sourceLocation: sourceLocation)
    }
}

/// SplitMix64: a seeded generator, so the randomised tests fail the same way every run.
struct CodecTestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
