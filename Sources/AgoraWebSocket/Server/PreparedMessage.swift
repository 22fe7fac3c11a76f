public import NIOCore
import Synchronization

/// A data message prepared once for many connections (a broadcast, a topic or user-stream event on several sockets).
///
/// Each form of its frame is made the first time a connection needs it and then shared by reference: the plain frame
/// for connections without compression (or a message under the threshold), and the DEFLATE frame for each window
/// size among connections that negotiated permessage-deflate without server context takeover. A message to 10,000
/// browsers is therefore compressed once, not 10,000 times. Connections that keep a compression context cannot share
/// (each one's output depends on what it sent before) and compress for themselves.
///
/// Server side only: client frames are masked with a fresh key each and cannot be shared.
public final class PreparedMessage: Sendable {
    /// RSV1 in `WebSocketFrame.rsv`: the message is compressed (RFC 7692 §6).
    static let rsv1: UInt8 = 0b100

    public let opcode: WebSocketOpcode
    public let payload: ByteBuffer
    private let plain = AtomicLazyReference<Frame>()
    /// The first compressed form made, for whatever window size asked first (in practice the server's own).
    private let deflated = AtomicLazyReference<Frame>()
    /// Compressed forms for other window sizes, rare (a client that asked for a smaller window).
    private let otherWindows = Mutex<[Frame]>([])

    private final class Frame: Sendable {
        let windowBits: Int
        let bytes: ByteBuffer
        init(windowBits: Int, bytes: ByteBuffer) {
            self.windowBits = windowBits
            self.bytes = bytes
        }
    }

    /// A text message.
    public convenience init(text: String) {
        self.init(opcode: .text, payload: ByteBuffer(string: text))
    }

    /// A data message (`.text` or `.binary`) with this payload; text must be valid UTF-8.
    public init(opcode: WebSocketOpcode, payload: ByteBuffer) {
        precondition(opcode == .text || opcode == .binary, "a prepared message is a data message")
        self.opcode = opcode
        self.payload = payload
    }

    /// The whole frame, uncompressed.
    public var plainFrame: ByteBuffer {
        if let frame = plain.load() { return frame.bytes }
        let frame = Frame(windowBits: 0, bytes: FrameEncoder.encoded(WebSocketFrame(opcode: opcode, payload: payload)))
        return plain.storeIfNil(frame).bytes
    }

    /// The whole frame compressed for `windowBits`, made by `compress` (which returns the DEFLATE payload) the first
    /// time it is asked for. Two threads asking at once may both compress; one result is kept.
    func deflatedFrame(windowBits: Int, compress: () -> ByteBuffer) -> ByteBuffer {
        if let frame = deflated.load(), frame.windowBits == windowBits { return frame.bytes }
        if let frame = otherWindows.withLock({ $0.first { $0.windowBits == windowBits } }) { return frame.bytes }
        let frame = Frame(
            windowBits: windowBits, bytes: FrameEncoder.encoded(WebSocketFrame(rsv: Self.rsv1, opcode: opcode, payload: compress())))
        let kept = deflated.storeIfNil(frame)
        if kept.windowBits == windowBits { return kept.bytes }
        otherWindows.withLock { others in
            if !others.contains(where: { $0.windowBits == windowBits }) { others.append(frame) }
        }
        return frame.bytes
    }
}
