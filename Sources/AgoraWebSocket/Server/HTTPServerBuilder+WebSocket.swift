public import HummingbirdCore

extension HTTPServerBuilder {
    /// HTTP/1.1 with our WebSocket upgrade on `webSocket.paths`.
    ///
    /// ```swift
    /// let app = Application(router: router, server: .http1WebSocket(webSocket: .init(paths: ["/ws"]),
    ///     shouldUpgrade: { head, channel, logger in .accept(user) },
    ///     onUpgrade: { connection, user, logger in for try await message in connection.messages { ... } }))
    /// ```
    /// - Parameters:
    ///   - http: Hummingbird's HTTP/1.1 settings for every non-upgrade connection.
    ///   - webSocket: paths, limits and timers of WebSocket connections.
    ///   - shouldUpgrade: decides on a valid handshake before `101` (Origin, authentication).
    ///   - onUpgrade: serves an accepted connection.
    public static func http1WebSocket<Accepted: Sendable>(
        http: HTTP1Channel.Configuration = .init(),
        webSocket: WebSocketConfiguration,
        shouldUpgrade: @escaping WebSocketHTTPChannel<Accepted>.ShouldUpgrade,
        onUpgrade: @escaping WebSocketHTTPChannel<Accepted>.OnUpgrade
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            WebSocketHTTPChannel(
                http: HTTP1Channel(responder: responder, configuration: http),
                configuration: webSocket,
                shouldUpgrade: shouldUpgrade,
                onUpgrade: onUpgrade
            )
        }
    }

    /// HTTP/1.1 with our WebSocket upgrade on `webSocket.paths`, each connection served from its pipeline by a
    /// `WebSocketDelegate`, with no task per connection.
    ///
    /// ```swift
    /// struct Echo: WebSocketDelegate {
    ///     func received(_ message: WebSocketMessage, from peer: WebSocketPeer) { peer.send(WebSocketOutbound(message)) }
    /// }
    /// let app = Application(router: router, server: .http1WebSocket(webSocket: .init(paths: ["/ws"]),
    ///     shouldUpgrade: { head, channel, logger in .accept(user) },
    ///     serve: { peer, user, logger in Echo() }))
    /// ```
    /// - Parameters:
    ///   - http: Hummingbird's HTTP/1.1 settings for every non-upgrade connection.
    ///   - webSocket: paths, limits and timers of WebSocket connections.
    ///   - shouldUpgrade: decides on a valid handshake before `101` (Origin, authentication).
    ///   - serve: called on the connection's event loop after the `101`; returns the connection's delegate.
    public static func http1WebSocket<Accepted: Sendable>(
        http: HTTP1Channel.Configuration = .init(),
        webSocket: WebSocketConfiguration,
        shouldUpgrade: @escaping WebSocketHTTPChannel<Accepted>.ShouldUpgrade,
        serve: @escaping WebSocketHTTPChannel<Accepted>.Serve
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            WebSocketHTTPChannel(
                http: HTTP1Channel(responder: responder, configuration: http),
                configuration: webSocket,
                shouldUpgrade: shouldUpgrade,
                serve: serve
            )
        }
    }
}
