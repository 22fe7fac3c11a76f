import Logging
import NIOCore

/// The connection state of one WebSocket: messages from frames, control frames answered in the pipeline, the closing
/// handshake, keep-alive pings, inbound rate limiting and a bounded outbound queue.
///
/// The decisions live in `MessageAssembler`, `CloseStateMachine` and `TokenBucket`; this class carries out what
/// they return. It runs on the channel's event loop only.
final class WebSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketMessage
    typealias OutboundIn = WebSocketOutbound
    typealias OutboundOut = ByteBuffer

    private let configuration: WebSocketConfiguration
    private let isClient: Bool
    private let logger: Logger
    private var assembler: MessageAssembler
    private var closing: CloseStateMachine
    private var rate: TokenBucket
    private var queue = CircularBuffer<ByteBuffer>()
    private var queuedBytes = 0
    private var lastInbound = NIODeadline.now()
    private var pingTimer: RepeatedTask?
    private var pongDeadline: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var pingPayload: ByteBuffer?
    /// Masking keys for client frames (§5.3), from the CSPRNG in batches.
    private var maskingKeys = MaskingKeySource()

    init(configuration: WebSocketConfiguration, isClient: Bool, logger: Logger) {
        self.configuration = configuration
        self.isClient = isClient
        self.logger = logger
        self.assembler = MessageAssembler(maxMessageSize: configuration.maxMessageSize)
        self.closing = CloseStateMachine(isClient: isClient)
        self.rate = TokenBucket(rate: configuration.messagesPerSecond, burst: configuration.messageBurst, now: .now)
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        guard let interval = configuration.pingInterval else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        pingTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: TimeAmount(interval), delay: TimeAmount(interval)) { _ in
            loopBound.value.pingIfIdle(context: contextBound.value)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Server shutdown: tell the peer we are going away (1001) rather than dropping it.
            perform(closing.close(code: WebSocketCloseCode.goingAway, reason: "server shutting down"), context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastInbound = .now()
        let frame = unwrapInboundIn(data)
        let event: MessageAssembler.Event?
        do {
            event = try assembler.receive(frame)
        } catch {
            fail(error, context: context)
            return
        }
        switch event {
        case nil:
            break
        case .text(let text):
            deliver(.text(text), context: context)
        case .binary(let bytes):
            deliver(.binary(bytes), context: context)
        case .ping(let payload):
            guard closing.isOpen else { return }
            guard rate.take(now: .now) else {
                fail(WebSocketError.policyViolation("message rate limit exceeded"), context: context)
                return
            }
            send(WebSocketFrame(opcode: .pong, payload: payload), context: context, flush: true)
        case .pong(let payload):
            // Unsolicited pongs are ignored (§5.5.3); only the answer to our own ping clears the deadline.
            if let expected = pingPayload, expected == payload {
                pingPayload = nil
                pongDeadline?.cancel()
                pongDeadline = nil
            }
        case .close(let code, _):
            perform(closing.receivedClose(code: code), context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? WebSocketError {
            fail(error, context: context)
        } else {
            logger.debug("WebSocket channel error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    private func deliver(_ message: WebSocketMessage, context: ChannelHandlerContext) {
        // After our Close, data is discarded (§1.4).
        guard closing.isOpen else { return }
        guard rate.take(now: .now) else {
            fail(WebSocketError.policyViolation("message rate limit exceeded"), context: context)
            return
        }
        context.fireChannelRead(wrapInboundOut(message))
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .text(let text):
            guard closing.isOpen else { return promise?.fail(ChannelError.outputClosed) ?? () }
            send(WebSocketFrame(opcode: .text, payload: ByteBuffer(string: text)), context: context, flush: false)
            promise?.succeed()
        case .binary(let bytes):
            guard closing.isOpen else { return promise?.fail(ChannelError.outputClosed) ?? () }
            send(WebSocketFrame(opcode: .binary, payload: bytes), context: context, flush: false)
            promise?.succeed()
        case .encodedFrame(let bytes):
            guard closing.isOpen else { return promise?.fail(ChannelError.outputClosed) ?? () }
            enqueue(bytes, context: context)
            promise?.succeed()
        case .close(let code, let reason):
            perform(closing.close(code: code, reason: reason), context: context)
            promise?.succeed()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain(context: context) }
        context.fireChannelWritabilityChanged()
    }

    private func send(_ frame: WebSocketFrame, context: ChannelHandlerContext, flush: Bool) {
        var buffer = context.channel.allocator.buffer(capacity: frame.payload.readableBytes + 14)
        FrameEncoder.encode(frame, maskingKey: isClient ? maskingKeys.next() : nil, into: &buffer)
        enqueue(buffer, context: context)
        if flush { context.flush() }
    }

    /// Writes through while the socket keeps up; otherwise queues, and closes a peer that lets the queue pass its limit.
    private func enqueue(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        if queue.isEmpty, context.channel.isWritable {
            context.write(wrapOutboundOut(bytes), promise: nil)
            return
        }
        queue.append(bytes)
        queuedBytes += bytes.readableBytes
        if queuedBytes > configuration.maxQueuedBytes {
            logger.debug("WebSocket peer too slow; closing", metadata: ["queued_bytes": "\(queuedBytes)"])
            queue.removeAll()
            queuedBytes = 0
            fail(WebSocketError.policyViolation("send queue overflow: the client is not reading"), context: context)
        }
    }

    private func drain(context: ChannelHandlerContext) {
        while context.channel.isWritable, let next = queue.popFirst() {
            queuedBytes -= next.readableBytes
            context.write(wrapOutboundOut(next), promise: nil)
        }
        context.flush()
    }

    // MARK: Closing

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        let error = error as? WebSocketError ?? .protocolError("\(error)")
        logger.debug("Failing WebSocket connection", metadata: ["code": "\(error.closeCode)", "reason": "\(error.reason)"])
        perform(closing.fail(code: error.closeCode, reason: error.reason), context: context)
    }

    private func perform(_ action: CloseStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .sendClose(let code, let reason, let closeTCP):
            let payload = code.map { FrameEncoder.closePayload(code: $0, reason: reason) } ?? ByteBuffer()
            var buffer = context.channel.allocator.buffer(capacity: payload.readableBytes + 14)
            FrameEncoder.encode(
                WebSocketFrame(opcode: .close, payload: payload), maskingKey: isClient ? maskingKeys.next() : nil, into: &buffer)
            // The Close goes after anything already queued, written directly so a full queue cannot hold it back.
            drainAll(context: context)
            let written = context.writeAndFlush(wrapOutboundOut(buffer))
            if closeTCP {
                written.whenComplete { _ in context.close(promise: nil) }
            } else {
                startCloseTimer(context: context)
            }
        case .closeTCP:
            context.close(promise: nil)
        case .awaitTCPClose:
            startCloseTimer(context: context)
        }
    }

    private func drainAll(context: ChannelHandlerContext) {
        while let next = queue.popFirst() { context.write(wrapOutboundOut(next), promise: nil) }
        queuedBytes = 0
    }

    private func startCloseTimer(context: ChannelHandlerContext) {
        guard closeTimer == nil else { return }
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        closeTimer = context.eventLoop.scheduleTask(in: TimeAmount(configuration.closeTimeout)) {
            contextBound.value.close(promise: nil)
        }
    }

    // MARK: Keep-alive

    private func pingIfIdle(context: ChannelHandlerContext) {
        guard closing.isOpen, pingPayload == nil, let interval = configuration.pingInterval else { return }
        guard NIODeadline.now() - lastInbound >= TimeAmount(interval) else { return }
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeInteger(UInt64.random(in: .min ... .max))
        pingPayload = payload
        send(WebSocketFrame(opcode: .ping, payload: payload), context: context, flush: true)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        pongDeadline = context.eventLoop.scheduleTask(in: TimeAmount(configuration.pongTimeout)) {
            loopBound.value.logger.debug("WebSocket peer missed its pong deadline; dropping it")
            contextBound.value.close(promise: nil)
        }
    }

    private func cancelTimers() {
        pingTimer?.cancel()
        pingTimer = nil
        pongDeadline?.cancel()
        pongDeadline = nil
        closeTimer?.cancel()
        closeTimer = nil
    }
}

@available(*, unavailable)
extension WebSocketHandler: Sendable {}  // belongs to one event loop

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
