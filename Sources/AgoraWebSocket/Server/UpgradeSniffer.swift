import HummingbirdCore
import Logging
import NIOCore

/// First handler of every connection: reads the first request head from raw bytes and decides what the
/// connection is.
///
/// - A WebSocket upgrade on a configured path: the head (and any bytes after it) are held, and the channel's value
///   is `.upgrade`, for the handshake to finish in async code.
/// - Anything else: Hummingbird's own `HTTP1Channel` pipeline is installed behind this handler, the bytes read so
///   far are replayed into it, and this handler leaves. HTTP is then exactly Hummingbird's: keep-alive, pipelining,
///   idle timeouts and graceful shutdown included.
final class UpgradeSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        case sniffing
        /// The head was an upgrade; bytes after it wait here for the WebSocket pipeline.
        case upgrading
        case done
    }

    private let configuration: WebSocketConfiguration
    private let http: HTTP1Channel
    private let logger: Logger
    private let promise: EventLoopPromise<WebSocketConnectionKind>
    private var state = State.sniffing
    private var buffered: ByteBuffer?
    private var timeout: Scheduled<Void>?

    init(configuration: WebSocketConfiguration, http: HTTP1Channel, logger: Logger, promise: EventLoopPromise<WebSocketConnectionKind>) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
        self.promise = promise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let selfBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // A connection that never completes a request head must not hold a slot forever (slowloris).
        timeout = context.eventLoop.scheduleTask(in: TimeAmount(configuration.handshakeTimeout)) {
            selfBound.value.giveUp(context: contextBound.value)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .done:
            context.fireChannelRead(data)
            return
        case .upgrading:
            // A client should wait for 101 before sending frames (§4.1), but keep what it sent, within reason.
            buffered.setOrWriteBuffer(&bytes)
            if (buffered?.readableBytes ?? 0) > configuration.maxRequestHeadSize { giveUp(context: context) }
            return
        case .sniffing:
            buffered.setOrWriteBuffer(&bytes)
        }
        guard let buffer = buffered else { return }
        switch RequestHeadParser.parse(buffer) {
        case .incomplete where buffer.readableBytes <= configuration.maxRequestHeadSize:
            return
        case .head(let head, let length) where isUpgrade(head):
            state = .upgrading
            timeout?.cancel()
            buffered?.moveReaderIndex(forwardBy: length)
            promise.succeed(.upgrade(WebSocketUpgradeCandidate(channel: context.channel, head: head)))
        default:
            // Not ours (or too big or malformed for us to judge): Hummingbird's decoder answers it.
            passToHTTP(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if state == .sniffing {
            state = .done
            timeout?.cancel()
            promise.succeed(.closed)
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Server shutdown: a connection that has not sent a request yet has nothing in flight, so close it now
        // rather than let it hold the shutdown until the handshake timeout.
        if event is ChannelShouldQuiesceEvent, state == .sniffing {
            giveUp(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        // Leaving the pipeline (after an accepted upgrade): bytes that came after the head go to the frame decoder.
        state = .done
        if let leftover = buffered, leftover.readableBytes > 0 {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(leftover))
            context.fireChannelReadComplete()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    /// Whether the request is a WebSocket handshake, valid or not: on a WebSocket path, it asks to upgrade in any of
    /// the three ways a client would. A broken one (say `Connection: Upgrade` and a key, but no `Upgrade` header) is
    /// then refused by `WebSocketHandshake` with a 4xx (§4.2.1), instead of reaching the router as a plain GET.
    private func isUpgrade(_ head: RequestHead) -> Bool {
        guard configuration.paths.contains(head.path) else { return false }
        return head.tokens("Upgrade").contains { $0.caseInsensitiveEquals("websocket") }
            || head.tokens("Connection").contains { $0.caseInsensitiveEquals("upgrade") }
            || !head.values("Sec-WebSocket-Key").isEmpty
    }

    private func passToHTTP(context: ChannelHandlerContext) {
        state = .done
        timeout?.cancel()
        let channel = context.channel
        do {
            try ReceiveBuffers.http(channel)
        } catch {
            logger.debug("Could not restore the read buffer defaults", metadata: ["error": "\(error)"])  // only a closed channel fails
        }
        // HTTP1Channel.setup adds its handlers synchronously, behind this one; then the bytes read so far are
        // replayed into them and this handler leaves.
        http.setup(channel: channel, logger: logger).map { WebSocketConnectionKind.http($0) }.cascade(to: promise)
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(bytes))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context).whenFailure { _ in channel.close(promise: nil) }
    }

    private func giveUp(context: ChannelHandlerContext) {
        guard state != .done else { return }
        let wasSniffing = state == .sniffing
        state = .done
        if wasSniffing { promise.succeed(.closed) }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension UpgradeSniffer: Sendable {}  // belongs to one event loop
