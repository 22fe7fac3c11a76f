import Foundation
public import HTTPTypes
public import HummingbirdCore
public import Logging
public import NIOCore
public import NIOHTTPTypes

/// What the first request of a connection turned out to be.
public enum WebSocketConnectionKind: Sendable {
    /// An ordinary HTTP connection, wired exactly as Hummingbird's `HTTP1Channel` wires it.
    case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    /// A WebSocket upgrade request awaiting the handshake.
    case upgrade(WebSocketUpgradeCandidate)
    /// Closed before it sent a whole request head.
    case closed
}

/// The value `setup` returns at once: the channel, and the decision the sniffer will make once the first request
/// head has arrived. (NIO registers a child channel only after `setup`'s future completes, so that future cannot
/// itself wait for bytes from the client.)
public struct WebSocketChildChannelValue: ServerChildChannelValue {
    public let channel: any Channel
    /// Completes when the first request head has been read.
    public let kind: EventLoopFuture<WebSocketConnectionKind>
}

/// An upgrade request held in the pipeline while the application decides.
public struct WebSocketUpgradeCandidate: Sendable {
    /// The connection.
    public let channel: any Channel
    /// The request line and headers.
    public let head: RequestHead
}

/// What the application answers to an upgrade request.
public enum WebSocketUpgradeDecision<Accepted: Sendable>: Sendable {
    /// Answer 101; `value` is handed to the connection handler (e.g. the authenticated user).
    case accept(Accepted)
    /// Answer with this status, and a body (the default is a small JSON error).
    case refuse(HTTPResponse.Status, message: String, body: ByteBuffer? = nil, contentType: String = "application/json")
}

/// Hummingbird's HTTP/1.1 server plus our own WebSocket upgrade, as one `ServerChildChannel`.
///
/// The first request of a connection decides: an `Upgrade: websocket` request on a configured path goes through
/// `WebSocketHandshake`, then `shouldUpgrade`, then, if accepted, is served, either by a `WebSocketDelegate` in its
/// pipeline (no task per connection) or by an `OnUpgrade` task. Every other connection is handed to `HTTP1Channel`
/// untouched.
public struct WebSocketHTTPChannel<Accepted: Sendable>: ServerChildChannel {
    public typealias Value = WebSocketChildChannelValue
    /// Decides on a valid handshake: sees path, query, headers and cookies.
    public typealias ShouldUpgrade = @Sendable (RequestHead, any Channel, Logger) async -> WebSocketUpgradeDecision<Accepted>
    /// Serves an accepted connection in a task of its own; when it returns, the connection is closed with 1000.
    public typealias OnUpgrade = @Sendable (WebSocketConnection, Accepted, Logger) async throws -> Void
    /// Serves an accepted connection from its pipeline: called once, on the connection's event loop, right after the
    /// `101`; returns the delegate that gets the connection's messages. Messages may already be sent to the peer here.
    public typealias Serve = @Sendable (WebSocketPeer, Accepted, Logger) -> any WebSocketDelegate

    private enum Serving {
        case task(OnUpgrade)
        case delegate(Serve)
    }

    let http: HTTP1Channel
    let configuration: WebSocketConfiguration
    let shouldUpgrade: ShouldUpgrade
    private let serving: Serving
    private let settings: WebSocketSettings
    private let openConnections = OpenConnections()

    /// Makes the channel; each accepted connection is served by a task running `onUpgrade`.
    public init(http: HTTP1Channel, configuration: WebSocketConfiguration, shouldUpgrade: @escaping ShouldUpgrade, onUpgrade: @escaping OnUpgrade) {
        self.init(http: http, configuration: configuration, shouldUpgrade: shouldUpgrade, serving: .task(onUpgrade))
    }

    /// Makes the channel; each accepted connection is served by the `WebSocketDelegate` that `serve` returns, without
    /// a task.
    public init(http: HTTP1Channel, configuration: WebSocketConfiguration, shouldUpgrade: @escaping ShouldUpgrade, serve: @escaping Serve) {
        self.init(http: http, configuration: configuration, shouldUpgrade: shouldUpgrade, serving: .delegate(serve))
    }

    private init(http: HTTP1Channel, configuration: WebSocketConfiguration, shouldUpgrade: @escaping ShouldUpgrade, serving: Serving) {
        self.http = http
        self.configuration = configuration
        self.shouldUpgrade = shouldUpgrade
        self.serving = serving
        self.settings = WebSocketSettings(configuration: configuration, isClient: false)
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try ReceiveBuffers.sniffing(channel)
            let promise = channel.eventLoop.makePromise(of: WebSocketConnectionKind.self)
            try channel.pipeline.syncOperations.addHandler(UpgradeSniffer(configuration: configuration, http: http, logger: logger, promise: promise))
            return WebSocketChildChannelValue(channel: channel, kind: promise.futureResult)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        let kind: WebSocketConnectionKind
        do {
            kind = try await value.kind.get()
        } catch {
            logger.debug("Connection failed before its first request", metadata: ["error": "\(error)"])
            try? await value.channel.close()
            return
        }
        switch kind {
        case .http(let channel):
            await http.handle(value: channel, logger: logger)
        case .closed:
            return
        case .upgrade(let candidate):
            do {
                try await upgrade(candidate, logger: logger)
            } catch {
                logger.debug("WebSocket connection ended with an error", metadata: ["error": "\(error)"])
                try? await candidate.channel.close()
            }
        }
    }

    private func upgrade(_ candidate: WebSocketUpgradeCandidate, logger: Logger) async throws {
        let channel = candidate.channel
        let accepted: WebSocketHandshake.Accepted
        switch WebSocketHandshake.validate(candidate.head, subprotocols: configuration.subprotocols, compression: configuration.compression) {
        case .failure(let failure):
            logger.debug("Bad WebSocket handshake", metadata: ["reason": "\(failure.message)"])
            return try await HandshakeResponse.refuse(channel, status: failure.status, message: failure.message, headers: failure.headers)
        case .success(let value):
            accepted = value
        }
        let value: Accepted
        switch await shouldUpgrade(candidate.head, channel, logger) {
        case .refuse(let status, let message, let body, let contentType):
            return try await HandshakeResponse.refuse(channel, status: status, message: message, body: body, contentType: contentType)
        case .accept(let acceptedValue):
            value = acceptedValue
        }
        let settings = self.settings
        let serving = self.serving
        let openConnections = self.openConnections
        let asyncChannel = try await channel.eventLoop.submit { () throws -> NIOAsyncChannel<WebSocketMessage, WebSocketOutbound>? in
            channel.write(HandshakeResponse.switchingProtocols(accepted), promise: nil)
            try ReceiveBuffers.webSocket(channel)
            let pipeline = channel.pipeline.syncOperations
            var asyncChannel: NIOAsyncChannel<WebSocketMessage, WebSocketOutbound>?
            switch serving {
            case .delegate(let serve):
                // The handler goes in first, so whatever `serve` sends already goes through it (after the 101); the
                // delegate is in place before the sniffer leaves and replays frames that came early.
                let handler = WebSocketHandler(
                    settings: settings, logger: logger, openConnections: openConnections, deflate: accepted.deflate, eventLoop: channel.eventLoop)
                try pipeline.addHandler(handler)
                let peer = WebSocketPeer(channel: channel)
                handler.setDelegate(serve(peer, value, logger), peer: peer)
            case .task:
                try pipeline.addHandler(WebSocketHandler(settings: settings, logger: logger, deflate: accepted.deflate, eventLoop: channel.eventLoop))
                asyncChannel = try NIOAsyncChannel<WebSocketMessage, WebSocketOutbound>(wrappingChannelSynchronously: channel)
            }
            // Removing the sniffer replays any bytes the client sent after its handshake into the WebSocket handler.
            let sniffer = try pipeline.context(handlerType: UpgradeSniffer.self)
            _ = pipeline.removeHandler(context: sniffer)
            channel.flush()
            return asyncChannel
        }.get()
        guard case .task(let onUpgrade) = serving, let asyncChannel else {
            // Served from the pipeline: this task can end, unless it is the one that keeps the server's shutdown
            // waiting for such connections.
            return await openConnections.holdWhileOpen()
        }
        // The connection's task prefers its channel's event loop: reading, handling and sending a message then
        // happen on one thread (see EventLoopTaskExecutor).
        try await withTaskExecutorPreference(EventLoopTaskExecutor(channel.eventLoop)) {
            try await asyncChannel.executeThenClose { inbound, _ in
                let connection = WebSocketConnection(channel: channel, messages: inbound)
                try await onUpgrade(connection, value, logger)
                connection.close(code: WebSocketCloseCode.normal)
                try await channel.closeFuture.get()
            }
        }
    }
}
