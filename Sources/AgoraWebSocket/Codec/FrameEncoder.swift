public import NIOCore

/// Frame encoding (RFC 6455 §5.2).
///
/// A server sends unmasked frames (§5.1 forbids masking them). A client masks every frame with a
/// fresh, unpredictable key per frame (§5.3, §10.3); `MaskingKeySource` supplies those keys.
public enum FrameEncoder {
    /// The most a Close frame's payload may hold: control frames carry at most 125 bytes (§5.5).
    static let maxControlPayload = 125

    /// Appends the encoded frame to `buffer`, using the shortest length encoding (§5.2).
    ///
    /// - Parameters:
    ///   - frame: the frame to send; `rsv` must be 0...7.
    ///   - maskingKey: nil for an unmasked frame (servers). Otherwise the MASK bit is set, the key is
    ///     written big-endian (`0x37FA213D` goes out as 37 FA 21 3D) and the payload is masked with it.
    ///   - buffer: where the header and payload are appended.
    public static func encode(_ frame: WebSocketFrame, maskingKey: UInt32?, into buffer: inout ByteBuffer) {
        precondition(frame.rsv < 8, "rsv holds only the three RSV bits")
        let payloadLength = frame.payload.readableBytes
        buffer.reserveCapacity(minimumWritableBytes: headerLength(payloadLength: payloadLength, isMasked: maskingKey != nil) + payloadLength)

        let finBit: UInt8 = frame.fin ? 0x80 : 0
        buffer.writeInteger(finBit | frame.rsv << 4 | frame.opcode.rawValue)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        switch payloadLength {
        case ..<126:
            buffer.writeInteger(maskBit | UInt8(payloadLength))
        case ...Int(UInt16.max):
            buffer.writeInteger(maskBit | 126)
            buffer.writeInteger(UInt16(payloadLength))
        default:
            buffer.writeInteger(maskBit | 127)
            buffer.writeInteger(UInt64(payloadLength))
        }

        guard let maskingKey else {
            buffer.writeImmutableBuffer(frame.payload)
            return
        }
        buffer.writeInteger(maskingKey)
        // Mask straight from the payload into the output, so the frame's own buffer is left as it was.
        frame.payload.withUnsafeReadableBytes { source in
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: payloadLength) { destination in
                WebSocketMask.apply(key: maskingKey, from: source, to: destination)
                return payloadLength
            }
        }
    }

    /// A complete unmasked frame in a fresh buffer, e.g. to write the same bytes to many connections.
    ///
    /// - Parameters:
    ///   - frame: the frame to send.
    ///   - allocator: where the buffer comes from, normally the channel's.
    /// - Returns: a buffer holding exactly the encoded frame.
    public static func encoded(_ frame: WebSocketFrame, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let payloadLength = frame.payload.readableBytes
        var buffer = allocator.buffer(capacity: headerLength(payloadLength: payloadLength, isMasked: false) + payloadLength)
        encode(frame, maskingKey: nil, into: &buffer)
        return buffer
    }

    /// The payload of a Close frame: the 2-byte status code, then the reason in UTF-8 (§5.5.1).
    ///
    /// The reason is cut on a `Character` boundary so the payload fits the 125 bytes a control frame
    /// may carry and stays valid UTF-8 (a peer must reject a reason that is not, §8.1), without
    /// splitting a user-perceived character such as an emoji sequence. A single character longer
    /// than the space left is dropped entirely.
    ///
    /// - Parameters:
    ///   - code: the status code; must be one `WebSocketCloseCode.isValidOnWire` accepts.
    ///   - reason: a short explanation for the peer.
    public static func closePayload(code: UInt16, reason: String) -> ByteBuffer {
        assert(WebSocketCloseCode.isValidOnWire(code), "close code \(code) must not be sent (RFC 6455 §7.4)")
        let budget = maxControlPayload - 2
        var buffer = ByteBufferAllocator().buffer(capacity: maxControlPayload)
        buffer.writeInteger(code)
        if reason.utf8.count <= budget {
            buffer.writeString(reason)
            return buffer
        }
        var used = 0
        var end = reason.startIndex
        while end < reason.endIndex {
            let next = reason.index(after: end)
            let size = reason.utf8.distance(from: end, to: next)
            guard used + size <= budget else { break }
            used += size
            end = next
        }
        buffer.writeSubstring(reason[..<end])
        return buffer
    }

    /// Bytes before the payload: 2, plus 2 or 8 for an extended length (§5.2), plus 4 for a masking key.
    static func headerLength(payloadLength: Int, isMasked: Bool) -> Int {
        let lengthBytes = payloadLength < 126 ? 0 : (payloadLength <= Int(UInt16.max) ? 2 : 8)
        return 2 + lengthBytes + (isMasked ? 4 : 0)
    }
}
