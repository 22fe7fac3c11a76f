public import NIOCore

/// A live WebSocket connection as application code sees it: messages in, messages out.
///
/// `send` never blocks or awaits: it hands the message to the connection's event loop, where the handler applies
/// writability and the bounded queue. That makes sending to many connections a plain loop with no task per message.
public struct WebSocketConnection: Sendable {
    /// The underlying channel.
    public let channel: any Channel
    /// Data messages from the peer, in order; ends when the connection closes.
    public let messages: NIOAsyncChannelInboundStream<WebSocketMessage>

    /// Sends a message or starts closing.
    public func send(_ outbound: WebSocketOutbound) {
        channel.writeAndFlush(outbound, promise: nil)
    }

    /// Starts the closing handshake.
    public func close(code: UInt16 = WebSocketCloseCode.normal, reason: String = "") {
        send(.close(code: code, reason: reason))
    }
}
