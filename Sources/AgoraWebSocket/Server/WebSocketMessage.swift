public import NIOCore

/// A complete data message received from the peer.
public enum WebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary(ByteBuffer)
}

/// What can be written to a WebSocket connection's channel.
public enum WebSocketOutbound: Sendable {
    /// A text message, sent as one frame.
    case text(String)
    /// A binary message, sent as one frame.
    case binary(ByteBuffer)
    /// A data message prepared once for many connections: each gets the shared plain frame, or the shared
    /// compressed frame for its permessage-deflate window. The way to broadcast.
    case prepared(PreparedMessage)
    /// A complete, already encoded, unmasked frame, written as it is (never compressed): encode once with
    /// `FrameEncoder.encoded`, write to many connections. Server side only (client frames must be masked per frame).
    case encodedFrame(ByteBuffer)
    /// Starts the closing handshake.
    case close(code: UInt16, reason: String)
}

extension WebSocketOutbound {
    /// The same message, to send back (an echo, a relay).
    public init(_ message: WebSocketMessage) {
        switch message {
        case .text(let text): self = .text(text)
        case .binary(let bytes): self = .binary(bytes)
        }
    }
}
