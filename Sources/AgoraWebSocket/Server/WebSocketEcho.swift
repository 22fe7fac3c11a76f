public import HummingbirdCore
import NIOCore

/// The echo endpoint behind `agora ws-echo`, shared with the tests so they exercise exactly what external suites see:
/// every path echoes each text and binary message unchanged, except `/broadcast`, where each text message goes to
/// every connection on `/broadcast` (encoded once).
public enum WebSocketEcho {
    /// Limits large enough for the big-message conformance cases, no rate limit, pings every 30 s, permessage-deflate
    /// as given (nil: declined).
    public static func configuration(
        maxMessageSize: Int = 16 << 20, compression: PerMessageDeflateConfiguration? = PerMessageDeflateConfiguration()
    ) -> WebSocketConfiguration {
        WebSocketConfiguration(
            paths: ["/", "/echo", "/broadcast"],
            maxFrameSize: maxMessageSize,
            maxMessageSize: maxMessageSize,
            pingInterval: .seconds(30),
            maxQueuedBytes: 64 << 20,
            messagesPerSecond: .infinity,
            messageBurst: .infinity,
            compression: compression
        )
    }

    /// The HTTP server with the echo endpoint.
    /// - Parameters:
    ///   - tasks: serve each connection with a task (the async API) instead of from its pipeline.
    ///   - compression: how permessage-deflate is accepted; nil declines it.
    public static func server(
        maxMessageSize: Int = 16 << 20, tasks: Bool = false, compression: PerMessageDeflateConfiguration? = PerMessageDeflateConfiguration()
    ) -> HTTPServerBuilder {
        let webSocket = configuration(maxMessageSize: maxMessageSize, compression: compression)
        let group = BroadcastGroup()
        return tasks
            ? .http1WebSocket(webSocket: webSocket, shouldUpgrade: shouldUpgrade, onUpgrade: onUpgrade(group: group))
            : .http1WebSocket(webSocket: webSocket, shouldUpgrade: shouldUpgrade, serve: serve(group: group))
    }

    /// Accepts every valid handshake, passing on its path.
    public static let shouldUpgrade: WebSocketHTTPChannel<String>.ShouldUpgrade = { head, _, _ in .accept(head.path) }

    /// Serves each connection from its pipeline, with no task per connection (what `agora ws-echo` runs); `group`
    /// holds the `/broadcast` members.
    public static func serve(group: BroadcastGroup) -> WebSocketHTTPChannel<String>.Serve {
        { peer, path, _ in
            guard path == "/broadcast" else { return Echo() }
            group.join(peer.channel)
            return Broadcast(group: group)
        }
    }

    /// The same endpoint on the async API: one task per connection, iterating its messages.
    public static func onUpgrade(group: BroadcastGroup) -> WebSocketHTTPChannel<String>.OnUpgrade {
        { connection, path, _ in
            if path == "/broadcast" {
                group.join(connection.channel)
                for try await message in connection.messages {
                    if case .text(let text) = message { group.broadcast(text: text) }
                }
            } else {
                for try await message in connection.messages {
                    switch message {
                    case .text(let text): connection.send(.text(text))
                    case .binary(let bytes): connection.send(.binary(bytes))
                    }
                }
            }
        }
    }

    private struct Echo: WebSocketDelegate {
        func received(_ message: WebSocketMessage, from peer: WebSocketPeer) {
            peer.send(WebSocketOutbound(message))
        }
    }

    private struct Broadcast: WebSocketDelegate {
        let group: BroadcastGroup

        func received(_ message: WebSocketMessage, from peer: WebSocketPeer) {
            if case .text(let text) = message { group.broadcast(text: text) }
        }
    }
}
