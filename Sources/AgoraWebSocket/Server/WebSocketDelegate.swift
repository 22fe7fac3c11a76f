public import NIOCore

/// Serves one connection from inside its pipeline, with no task of its own.
///
/// An idle connection served this way costs its channel and one handler (3.6 KiB in `scripts/bench-ws.sh`); one
/// served by `WebSocketHTTPChannel.OnUpgrade` also keeps a Swift task, its async frames and an `NIOAsyncChannel`
/// (14.3 KiB in all). Use this for anything that holds many mostly idle connections, like a hub that fans messages
/// out.
///
/// Every call comes on the connection's event loop, in order: do not block in it, and hand slow work (a database
/// query, say) to a task of your own. Sending from here goes straight into the pipeline.
public protocol WebSocketDelegate {
    /// A complete data message from the peer. Not called after this side has started closing.
    func received(_ message: WebSocketMessage, from peer: WebSocketPeer)
    /// The connection is gone: closing handshake done, failed, or dropped. Called once, last.
    func closed(_ peer: WebSocketPeer)
}

extension WebSocketDelegate {
    /// Does nothing.
    public func closed(_ peer: WebSocketPeer) {}
}

/// The far end of a live connection, as code that sends to it sees it.
///
/// `send` never blocks or awaits: it hands the message to the connection's event loop (directly when called there),
/// where the handler applies writability and the bounded queue.
public struct WebSocketPeer: Sendable {
    /// The underlying channel: its identity, event loop and `closeFuture`.
    public let channel: any Channel

    /// Wraps a channel whose pipeline ends in our WebSocket handler.
    public init(channel: any Channel) {
        self.channel = channel
    }

    /// Sends a message or starts closing.
    public func send(_ outbound: WebSocketOutbound) {
        channel.writeAndFlush(outbound, promise: nil)
    }

    /// Starts the closing handshake.
    public func close(code: UInt16 = WebSocketCloseCode.normal, reason: String = "") {
        send(.close(code: code, reason: reason))
    }
}
