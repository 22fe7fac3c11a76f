/// Limits and timers of WebSocket connections. Every limit has a default that suits browsers on a social app.
public struct WebSocketConfiguration: Sendable {
    /// Paths where an `Upgrade: websocket` request is handled before the router.
    public var paths: Set<String>
    /// Subprotocols the server speaks, in order of preference.
    public var subprotocols: [String]
    /// Largest frame payload accepted (1009 above it). 64 KiB: chat messages and events are small.
    public var maxFrameSize: Int
    /// Largest message (all fragments together) accepted (1009 above it).
    public var maxMessageSize: Int
    /// Largest request head read while deciding whether a request is an upgrade; bigger heads go to the HTTP server.
    public var maxRequestHeadSize: Int
    /// A connection that has not sent a complete request head by then is closed.
    public var handshakeTimeout: Duration
    /// A connection silent this long is pinged; nil disables pings.
    public var pingInterval: Duration?
    /// A ping not answered within this is a dead peer: the connection is dropped.
    public var pongTimeout: Duration
    /// How long to wait for the peer's Close after ours before closing TCP.
    public var closeTimeout: Duration
    /// Bytes queued for a peer whose socket is not writable before it is closed with 1008.
    public var maxQueuedBytes: Int
    /// Sustained inbound data messages (and pings) per second per connection.
    public var messagesPerSecond: Double
    /// Messages a connection may send in a burst above the sustained rate before it is closed with 1008.
    public var messageBurst: Double
    /// permessage-deflate (RFC 7692): on a server, accepted when a client offers it; on our client, offered. nil: off.
    /// `maxFrameSize` applies to the compressed frame, `maxMessageSize` to the inflated message.
    public var compression: PerMessageDeflateConfiguration?

    /// Defaults: `/ws`, 64 KiB frames, 1 MiB messages, ping after 30 s of silence with 10 s to answer, 1 MiB send queue,
    /// 20 messages/s with bursts of 50, permessage-deflate accepted without context takeover.
    public init(
        paths: Set<String> = ["/ws"],
        subprotocols: [String] = [],
        maxFrameSize: Int = 1 << 16,
        maxMessageSize: Int = 1 << 20,
        maxRequestHeadSize: Int = 16 << 10,
        handshakeTimeout: Duration = .seconds(10),
        pingInterval: Duration? = .seconds(30),
        pongTimeout: Duration = .seconds(10),
        closeTimeout: Duration = .seconds(5),
        maxQueuedBytes: Int = 1 << 20,
        messagesPerSecond: Double = 20,
        messageBurst: Double = 50,
        compression: PerMessageDeflateConfiguration? = PerMessageDeflateConfiguration()
    ) {
        self.paths = paths
        self.subprotocols = subprotocols
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
        self.maxRequestHeadSize = maxRequestHeadSize
        self.handshakeTimeout = handshakeTimeout
        self.pingInterval = pingInterval
        self.pongTimeout = pongTimeout
        self.closeTimeout = closeTimeout
        self.maxQueuedBytes = maxQueuedBytes
        self.messagesPerSecond = messagesPerSecond
        self.messageBurst = messageBurst
        self.compression = compression
    }
}
