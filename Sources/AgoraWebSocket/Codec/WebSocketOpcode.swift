/// The four-bit opcode of a WebSocket frame (RFC 6455 §5.2, registry in §11.8).
///
/// Only the opcodes RFC 6455 defines are representable: 0x3-0x7 and 0xB-0xF are reserved for
/// extensions, and since Agora never negotiates one, `FrameParser` rejects them before a frame exists.
public enum WebSocketOpcode: UInt8, Sendable {
    /// A later fragment of a fragmented text or binary message (§5.4).
    case continuation = 0x0
    /// The first (or only) frame of a UTF-8 text message (§5.6).
    case text = 0x1
    /// The first (or only) frame of a binary message (§5.6).
    case binary = 0x2
    /// Starts or answers the closing handshake (§5.5.1).
    case close = 0x8
    /// A keep-alive or liveness probe; the peer must answer with a pong (§5.5.2).
    case ping = 0x9
    /// The answer to a ping, or an unsolicited heartbeat (§5.5.3).
    case pong = 0xA

    /// Whether this is a control frame (close, ping, pong).
    ///
    /// Control opcodes are exactly those with the most significant bit set (§5.5), which is why this
    /// is a bit test rather than a list: the reserved control range 0xB-0xF follows the same rule.
    public var isControl: Bool {
        self.rawValue & 0x8 != 0
    }
}
