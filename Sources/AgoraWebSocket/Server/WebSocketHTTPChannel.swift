import Foundation
public import HummingbirdCore
public import HTTPTypes
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
/// `WebSocketHandshake`, then `shouldUpgrade`, then, if accepted, `onUpgrade` with a live connection. Every other
/// connection is handed to `HTTP1Channel` untouched.
public struct WebSocketHTTPChannel<Accepted: Sendable>: ServerChildChannel {
    public typealias Value = WebSocketChildChannelValue
    /// Decides on a valid handshake: sees path, query, headers and cookies.
    public typealias ShouldUpgrade = @Sendable (RequestHead, any Channel, Logger) async -> WebSocketUpgradeDecision<Accepted>
    /// Serves an accepted connection; when it returns, the connection is closed with 1000.
    public typealias OnUpgrade = @Sendable (WebSocketConnection, Accepted, Logger) async throws -> Void

    let http: HTTP1Channel
    let configuration: WebSocketConfiguration
    let shouldUpgrade: ShouldUpgrade
    let onUpgrade: OnUpgrade

    /// Makes the channel.
    public init(http: HTTP1Channel, configuration: WebSocketConfiguration, shouldUpgrade: @escaping ShouldUpgrade, onUpgrade: @escaping OnUpgrade) {
        self.http = http
        self.configuration = configuration
        self.shouldUpgrade = shouldUpgrade
        self.onUpgrade = onUpgrade
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
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
        switch WebSocketHandshake.validate(candidate.head, subprotocols: configuration.subprotocols) {
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
        let configuration = self.configuration
        let asyncChannel = try await channel.eventLoop.submit {
            channel.write(HandshakeResponse.switchingProtocols(accepted), promise: nil)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ByteToMessageHandler(FrameDecoderHandler(maxFrameSize: configuration.maxFrameSize, requireMasked: true)))
            try pipeline.addHandler(WebSocketHandler(configuration: configuration, isClient: false, logger: logger))
            let asyncChannel = try NIOAsyncChannel<WebSocketMessage, WebSocketOutbound>(wrappingChannelSynchronously: channel)
            // Removing the sniffer replays any bytes the client sent after its handshake into the frame decoder.
            let sniffer = try pipeline.context(handlerType: UpgradeSniffer.self)
            _ = pipeline.removeHandler(context: sniffer)
            channel.flush()
            return asyncChannel
        }.get()
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
