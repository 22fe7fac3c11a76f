public import NIOCore

/// One WebSocket frame as it travels on the wire (RFC 6455 §5.2), without the masking details.
///
/// `FrameParser` produces frames with the payload already unmasked, and `FrameEncoder` masks on the
/// way out when asked to, so nothing above the codec ever sees masked bytes or a masking key.
public struct WebSocketFrame: Sendable, Equatable {
    /// Whether this is the final fragment of a message (§5.4). Control frames always have it set.
    public var fin: Bool
    /// The three RSV bits, RSV1 as the most significant (0...7).
    ///
    /// They carry meaning only for a negotiated extension (§5.2): RSV1 (`0b100`) marks the first frame of a
    /// compressed message under permessage-deflate (RFC 7692 §6); the others are always 0.
    public var rsv: UInt8
    /// What the payload means (§5.2, §11.8).
    public var opcode: WebSocketOpcode
    /// The application data, always unmasked.
    public var payload: ByteBuffer

    /// Creates a frame.
    ///
    /// - Parameters:
    ///   - fin: whether this is the last fragment of its message; `true` for an unfragmented message.
    ///   - rsv: the three RSV bits (0...7); leave at 0 unless an extension defines them.
    ///   - opcode: the frame type.
    ///   - payload: the unmasked payload.
    public init(fin: Bool = true, rsv: UInt8 = 0, opcode: WebSocketOpcode, payload: ByteBuffer) {
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.payload = payload
    }
}
