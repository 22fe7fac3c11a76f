public import NIOCore

/// Incremental frame parser (RFC 6455 §5.2). One per connection direction.
///
/// The parser consumes nothing until a whole frame is in the buffer, so the caller's accumulating
/// buffer (a `ByteToMessageDecoder`'s cumulation, say) is the only place partial input lives. Each
/// call therefore re-reads at most 14 header bytes, which is cheaper than keeping a second copy of the
/// parse state in sync with that buffer, and lets every check fire as soon as the bytes it needs are
/// present: an oversized frame is refused from its header, before any of its payload is buffered.
///
/// Reserved opcodes and RSV2/RSV3 are always protocol errors; RSV1 means "compressed" once permessage-deflate is
/// negotiated (RFC 7692 §6), and only on the first frame of a data message.
public struct FrameParser: Sendable {
    /// The largest payload accepted in a single frame, in bytes.
    private let maxFrameSize: Int
    /// Whether frames must be masked (we are the server) or must not be (we are the client).
    private let requireMasked: Bool
    /// Whether permessage-deflate was negotiated, which gives RSV1 its meaning.
    public var allowsCompression = false

    /// Creates a parser.
    ///
    /// - Parameters:
    ///   - maxFrameSize: the largest payload accepted in one frame. A larger frame fails with
    ///     `messageTooBig` as soon as its length is known, so this bounds what one frame can make us buffer.
    ///   - requireMasked: `true` on a server, where client frames MUST be masked (§5.1); `false` on a
    ///     client, where server frames MUST NOT be. A frame breaking the rule is a `protocolError`.
    public init(maxFrameSize: Int, requireMasked: Bool) {
        precondition(maxFrameSize >= 0, "maxFrameSize must not be negative")
        self.maxFrameSize = maxFrameSize
        self.requireMasked = requireMasked
    }

    /// Returns the next complete frame, consuming its bytes from `buffer`.
    ///
    /// Works however the bytes are split: call it again after appending more to `buffer`.
    ///
    /// - Parameter buffer: the received bytes, starting at a frame boundary.
    /// - Returns: the frame with its payload unmasked, or nil (consuming nothing) when `buffer` does not
    ///   yet hold a whole frame.
    /// - Throws: `WebSocketError` with 1002 for a framing violation or 1009 for a frame over
    ///   `maxFrameSize`, as soon as the offending header bytes have arrived.
    public mutating func next(_ buffer: inout ByteBuffer) throws(WebSocketError) -> WebSocketFrame? {
        guard let header = try self.header(in: buffer) else { return nil }
        let payloadIndex = buffer.readerIndex + header.headerLength
        guard buffer.readableBytes - header.headerLength >= header.payloadLength else { return nil }

        let payload: ByteBuffer
        if let key = header.maskingKey {
            payload = Self.unmaskedCopy(of: buffer, at: payloadIndex, length: header.payloadLength, key: key)
        } else if let slice = buffer.getSlice(at: payloadIndex, length: header.payloadLength) {
            // Unmasked data needs no transformation, so share the received storage instead of copying.
            payload = slice
        } else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: header.headerLength + header.payloadLength)
        return WebSocketFrame(fin: header.fin, rsv: header.rsv, opcode: header.opcode, payload: payload)
    }

    /// A validated frame header.
    private struct Header {
        var fin: Bool
        var rsv: UInt8
        var opcode: WebSocketOpcode
        var maskingKey: UInt32?
        var payloadLength: Int
        /// Bytes from the start of the frame to the start of the payload (2 to 14).
        var headerLength: Int
    }

    /// Reads and validates the header at the buffer's reader index without consuming it.
    ///
    /// Returns nil when the header is incomplete, but throws as soon as the bytes already present
    /// break a rule, so a peer cannot hold a doomed frame open by sending its header slowly.
    private func header(in buffer: ByteBuffer) throws(WebSocketError) -> Header? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        let fin = first & 0x80 != 0
        let rsv = (first >> 4) & 0x7
        // §5.2: a nonzero RSV bit that no negotiated extension defines MUST fail the connection.
        guard rsv & 0b011 == 0, rsv == 0 || self.allowsCompression else {
            throw WebSocketError.protocolError("RSV bits set without a negotiated extension")
        }
        // §5.2: reserved opcodes (0x3-0x7, 0xB-0xF) MUST fail the connection.
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
            throw WebSocketError.protocolError("reserved opcode")
        }
        if rsv != 0 {
            // RFC 7692 §6.1: control frames are never compressed, and RSV1 marks only a message's first frame.
            guard !opcode.isControl else { throw WebSocketError.protocolError("compressed control frame") }
            guard opcode != .continuation else { throw WebSocketError.protocolError("RSV1 set on a continuation frame") }
        }
        // §5.5: control frames MUST NOT be fragmented.
        guard fin || !opcode.isControl else {
            throw WebSocketError.protocolError("fragmented control frame")
        }

        guard let second = buffer.getInteger(at: start + 1, as: UInt8.self) else { return nil }
        let isMasked = second & 0x80 != 0
        // §5.1: a server MUST close on an unmasked client frame, a client on a masked server frame.
        guard isMasked == self.requireMasked else {
            throw WebSocketError.protocolError(self.requireMasked ? "client frame is not masked" : "server frame is masked")
        }
        let shortLength = second & 0x7F
        // §5.5: control frames carry at most 125 bytes, so they never use an extended length.
        guard shortLength <= 125 || !opcode.isControl else {
            throw WebSocketError.protocolError("control frame payload over 125 bytes")
        }

        var cursor = start + 2
        let length: UInt64
        switch shortLength {
        case 126:
            guard let extended = buffer.getInteger(at: cursor, as: UInt16.self) else { return nil }
            // §5.2: "the minimal number of bytes MUST be used to encode the length".
            guard extended >= 126 else { throw WebSocketError.protocolError("non-minimal 16-bit payload length") }
            length = UInt64(extended)
            cursor += 2
        case 127:
            guard let extended = buffer.getInteger(at: cursor, as: UInt64.self) else { return nil }
            // §5.2: "the most significant bit MUST be 0".
            guard extended & (1 << 63) == 0 else {
                throw WebSocketError.protocolError("64-bit payload length has its most significant bit set")
            }
            guard extended > UInt64(UInt16.max) else {
                throw WebSocketError.protocolError("non-minimal 64-bit payload length")
            }
            length = extended
            cursor += 8
        default:
            length = UInt64(shortLength)
        }
        // Compared as UInt64 because a 63-bit length does not fit in Int on 32-bit hosts.
        guard length <= UInt64(self.maxFrameSize) else {
            throw WebSocketError.messageTooBig("frame payload exceeds \(self.maxFrameSize) bytes")
        }

        var maskingKey: UInt32?
        if isMasked {
            guard let key = buffer.getInteger(at: cursor, as: UInt32.self) else { return nil }
            maskingKey = key
            cursor += 4
        }
        return Header(fin: fin, rsv: rsv, opcode: opcode, maskingKey: maskingKey, payloadLength: Int(length), headerLength: cursor - start)
    }

    /// Unmasks a payload into a buffer of its own.
    ///
    /// Copying while unmasking costs one pass either way, and unlike unmasking in place it leaves the
    /// caller's buffer untouched and lets the payload outlive it without pinning (or forcing a
    /// copy-on-write of) the whole receive buffer.
    private static func unmaskedCopy(of buffer: ByteBuffer, at index: Int, length: Int, key: UInt32) -> ByteBuffer {
        var payload = ByteBufferAllocator().buffer(capacity: length)
        guard length > 0 else { return payload }
        buffer.withUnsafeReadableBytes { readable in
            let offset = index - buffer.readerIndex
            let source = UnsafeRawBufferPointer(rebasing: readable[offset..<offset + length])
            payload.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { destination in
                WebSocketMask.apply(key: key, from: source, to: destination)
                return length
            }
        }
        return payload
    }
}
