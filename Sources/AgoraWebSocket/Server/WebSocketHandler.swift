import Logging
import NIOCore

/// The connection state of one WebSocket: frames parsed from the received bytes, messages from frames, control frames
/// answered in the pipeline, the closing handshake, keep-alive pings, inbound rate limiting and a bounded outbound
/// queue.
///
/// The decisions live in `FrameParser`, `MessageAssembler`, `CloseStateMachine` and `TokenBucket`; this class carries
/// out what they return. It runs on the channel's event loop only. Messages go to the connection's
/// `WebSocketDelegate` when it has one, otherwise down the pipeline (to an `NIOAsyncChannel`).
///
/// An idle connection is mostly this object, so it holds nothing it does not need: received bytes are parsed straight
/// from the channel's read buffer and copied only when a frame is split across reads, the send queue exists only
/// while the socket is not keeping up, the settings every connection shares are one `WebSocketSettings`, and
/// permessage-deflate without context takeover uses its event loop's zlib state rather than its own.
final class WebSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = WebSocketMessage
    typealias OutboundIn = WebSocketOutbound
    typealias OutboundOut = ByteBuffer

    private let settings: WebSocketSettings
    private let logger: Logger
    private var parser: FrameParser
    /// The start of a frame that has not fully arrived, in a buffer of our own (so the channel can reuse its read buffer).
    private var partialFrame: ByteBuffer?
    private var assembler: MessageAssembler
    private var closing: CloseStateMachine
    private var rate: TokenBucket
    /// Frames waiting for the socket to become writable; nil while it keeps up, which is nearly always.
    private var queue: CircularBuffer<ByteBuffer>?
    private var queuedBytes = 0
    private var lastInbound = NIODeadline.now()
    /// The next keep-alive check (see `keepAliveDue`).
    private var keepAlive: NIOScheduledCallback?
    private var closeTimer: Scheduled<Void>?
    /// The payload of our unanswered ping.
    private var pingPayload: UInt64?
    /// Set while the handler is in the pipeline, for the keep-alive timer.
    private var context: ChannelHandlerContext?
    /// Masking keys for client frames (§5.3), from the CSPRNG in batches.
    private var maskingKeys = MaskingKeySource()
    private var delegate: (any WebSocketDelegate)?
    private var openConnections: OpenConnections?
    /// permessage-deflate, when negotiated; it owns no zlib state unless a direction keeps its context.
    private let deflate: DeflateSession?
    private var isRemoved = false

    /// - Parameters:
    ///   - openConnections: counts this connection until its handler leaves the pipeline.
    ///   - deflate: what the handshake agreed for permessage-deflate, if anything.
    ///   - eventLoop: the channel's event loop, whose shared zlib state a connection without context takeover uses.
    init(
        settings: WebSocketSettings, logger: Logger, openConnections: OpenConnections? = nil, deflate: PerMessageDeflateParameters? = nil,
        eventLoop: (any EventLoop)? = nil
    ) {
        let configuration = settings.configuration
        self.settings = settings
        self.logger = logger
        self.parser = FrameParser(maxFrameSize: configuration.maxFrameSize, requireMasked: !settings.isClient)
        self.assembler = MessageAssembler(maxMessageSize: configuration.maxMessageSize)
        self.closing = CloseStateMachine(isClient: settings.isClient)
        self.rate = TokenBucket(rate: configuration.messagesPerSecond, burst: configuration.messageBurst, now: .now)
        self.openConnections = openConnections
        if let deflate, let compression = configuration.compression, let eventLoop {
            self.deflate = settings.deflateCodecs.session(deflate, isClient: settings.isClient, configuration: compression, loop: eventLoop)
            self.parser.allowsCompression = true
        } else {
            self.deflate = nil
        }
    }

    /// From now on messages go to `delegate` instead of down the pipeline. Set before the first frame can arrive.
    func setDelegate(_ delegate: any WebSocketDelegate, peer: WebSocketPeer) {
        guard !isRemoved else { return delegate.closed(peer) }  // the channel closed while the delegate was being made
        self.delegate = delegate
    }

    /// permessage-deflate as agreed, nil when off.
    var negotiatedCompression: PerMessageDeflateParameters? { deflate?.parameters }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        openConnections?.opened()
        if let interval = settings.pingInterval { scheduleKeepAlive(at: lastInbound + interval, context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        isRemoved = true
        self.context = nil
        cancelTimers()
        partialFrame = nil
        queue = nil
        if let delegate {
            self.delegate = nil
            delegate.closed(WebSocketPeer(channel: context.channel))
        }
        openConnections?.closed()
        openConnections = nil
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
        if case .inputClosed? = event as? ChannelEvent {
            // The server allows half-closure (Hummingbird's default), so a peer's FIN arrives as this event rather than
            // closing the channel. No Close frame can follow it (RFC 6455 §7.1.5: closed abnormally, 1006): close our
            // side now instead of holding the socket, its session and its caps until the next missed pong.
            logger.debug("WebSocket peer closed TCP without a Close frame")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Once closed (handshake done or failed) nothing more is read; TCP is on its way down.
        guard closing.state != .closed else { return }
        lastInbound = .now()
        var bytes = unwrapInboundIn(data)
        if var partial = partialFrame {
            partialFrame = nil  // drop our reference first, so appending does not copy the storage
            partial.writeBuffer(&bytes)
            bytes = partial
        }
        do {
            while closing.state != .closed, let frame = try parser.next(&bytes) {
                receive(frame, context: context)
            }
        } catch {
            fail(error, context: context)
            return
        }
        if bytes.readableBytes > 0, closing.state != .closed {
            // Keep a copy, not a slice: a slice would pin the channel's whole read buffer and make it allocate another.
            var copy = context.channel.allocator.buffer(capacity: bytes.readableBytes)
            copy.writeBuffer(&bytes)
            partialFrame = copy
        }
    }

    private func receive(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        let event: MessageAssembler.Event?
        do {
            if let deflate {
                let allocator = context.channel.allocator
                event = try assembler.receive(frame) { payload, limit throws(WebSocketError) in
                    try deflate.decompress(payload, limit: limit, allocator: allocator)
                }
            } else {
                event = try assembler.receive(frame)
            }
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
            // The keep-alive check already scheduled for the pong deadline then finds nothing outstanding.
            if let expected = pingPayload, payload.readableBytes == 8, payload.getInteger(at: payload.readerIndex, as: UInt64.self) == expected {
                pingPayload = nil
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
        if let delegate {
            delegate.received(message, from: WebSocketPeer(channel: context.channel))
        } else {
            context.fireChannelRead(wrapInboundOut(message))
        }
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .text(let text):
            guard closing.isOpen else { return promise?.fail(ChannelError.outputClosed) ?? () }
            sendMessage(.text, payload: ByteBuffer(string: text), context: context)
            promise?.succeed()
        case .binary(let bytes):
            guard closing.isOpen else { return promise?.fail(ChannelError.outputClosed) ?? () }
            sendMessage(.binary, payload: bytes, context: context)
            promise?.succeed()
        case .prepared(let message):
            guard closing.isOpen else { return promise?.fail(ChannelError.outputClosed) ?? () }
            if settings.isClient {
                sendMessage(message.opcode, payload: message.payload, context: context)
            } else if let deflate {
                enqueue(deflate.frame(for: message, allocator: context.channel.allocator), context: context)
            } else {
                enqueue(message.plainFrame, context: context)
            }
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

    /// Sends a data message, compressed when permessage-deflate is on and the message is not too short for it.
    private func sendMessage(_ opcode: WebSocketOpcode, payload: ByteBuffer, context: ChannelHandlerContext) {
        if let deflate, let compressed = deflate.compress(payload, allocator: context.channel.allocator) {
            send(WebSocketFrame(rsv: PreparedMessage.rsv1, opcode: opcode, payload: compressed), context: context, flush: false)
        } else {
            send(WebSocketFrame(opcode: opcode, payload: payload), context: context, flush: false)
        }
    }

    private func send(_ frame: WebSocketFrame, context: ChannelHandlerContext, flush: Bool) {
        var buffer = context.channel.allocator.buffer(capacity: frame.payload.readableBytes + 14)
        FrameEncoder.encode(frame, maskingKey: settings.isClient ? maskingKeys.next() : nil, into: &buffer)
        enqueue(buffer, context: context)
        if flush { context.flush() }
    }

    /// Writes through while the socket keeps up; otherwise queues, and closes a peer that lets the queue pass its limit.
    private func enqueue(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        guard queue != nil || !context.channel.isWritable else {
            context.write(wrapOutboundOut(bytes), promise: nil)
            return
        }
        if queue == nil { queue = CircularBuffer(initialCapacity: 16) }
        queue?.append(bytes)
        queuedBytes += bytes.readableBytes
        if queuedBytes > settings.configuration.maxQueuedBytes {
            logger.debug("WebSocket peer too slow; closing", metadata: ["queued_bytes": "\(queuedBytes)"])
            queue = nil
            queuedBytes = 0
            fail(WebSocketError.policyViolation("send queue overflow: the client is not reading"), context: context)
        }
    }

    private func drain(context: ChannelHandlerContext) {
        while context.channel.isWritable, let next = queue?.popFirst() {
            queuedBytes -= next.readableBytes
            context.write(wrapOutboundOut(next), promise: nil)
        }
        if queue?.isEmpty == true { queue = nil }
        context.flush()
    }

    // MARK: Closing

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        let error = error as? WebSocketError ?? .protocolError("\(error)")
        logger.debug("Failing WebSocket connection", metadata: ["code": "\(error.closeCode)", "reason": "\(error.reason)"])
        partialFrame = nil
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
                WebSocketFrame(opcode: .close, payload: payload), maskingKey: settings.isClient ? maskingKeys.next() : nil, into: &buffer)
            // The Close goes after anything already queued, written directly so a full queue cannot hold it back.
            drainAll(context: context)
            let written = context.writeAndFlush(wrapOutboundOut(buffer))
            if closeTCP {
                written.whenComplete { _ in context.close(promise: nil) }
            }
            // Also when closing TCP right after the Close: a peer that stopped reading never lets that write
            // complete, and must not keep the connection (and what it still holds) alive.
            startCloseTimer(context: context)
        case .closeTCP:
            context.close(promise: nil)
        case .awaitTCPClose:
            startCloseTimer(context: context)
        }
    }

    private func drainAll(context: ChannelHandlerContext) {
        while let next = queue?.popFirst() { context.write(wrapOutboundOut(next), promise: nil) }
        queue = nil
        queuedBytes = 0
    }

    private func startCloseTimer(context: ChannelHandlerContext) {
        guard closeTimer == nil else { return }
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        closeTimer = context.eventLoop.scheduleTask(in: settings.closeTimeout) {
            contextBound.value.close(promise: nil)
        }
    }

    // MARK: Keep-alive

    /// One timer per connection, always for the next moment something can be due: when the connection will have been
    /// silent for `pingInterval`, or when our ping's pong is due. A callback timer costs one slot in the event loop's
    /// queue, where a `RepeatedTask` (with its promises and closures) cost some 380 bytes on every idle connection.
    private func scheduleKeepAlive(at deadline: NIODeadline, context: ChannelHandlerContext) {
        do {
            keepAlive = try context.eventLoop.scheduleCallback(at: deadline, handler: KeepAliveTimer(handler: self))
        } catch {
            // Only an event loop that is shutting down refuses, and it takes the connection with it.
            logger.debug("Could not schedule the keep-alive check", metadata: ["error": "\(error)"])
        }
    }

    fileprivate func keepAliveDue() {
        keepAlive = nil
        guard let context, closing.isOpen, let interval = settings.pingInterval else { return }
        deflate?.releaseIdleCompressor(idle: interval)
        if pingPayload != nil {
            logger.debug("WebSocket peer missed its pong deadline; dropping it")
            context.close(promise: nil)
            return
        }
        let now = NIODeadline.now()
        guard now - lastInbound >= interval else { return scheduleKeepAlive(at: lastInbound + interval, context: context) }
        let token = UInt64.random(in: .min ... .max)
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeInteger(token)
        pingPayload = token
        send(WebSocketFrame(opcode: .ping, payload: payload), context: context, flush: true)
        scheduleKeepAlive(at: now + settings.pongTimeout, context: context)
    }

    private func cancelTimers() {
        keepAlive?.cancel()
        keepAlive = nil
        closeTimer?.cancel()
        closeTimer = nil
    }
}

/// Calls the handler back on its event loop.
///
/// `@unchecked Sendable`: the timer is scheduled on the handler's own event loop, which is the only thread that ever
/// calls it, so the handler (which belongs to that loop) is only touched there. Holding the handler itself (one word,
/// stored inline) rather than an `NIOLoopBound` keeps the timer free of allocations.
private struct KeepAliveTimer: NIOScheduledCallbackHandler, @unchecked Sendable {
    let handler: WebSocketHandler

    func handleScheduledCallback(eventLoop: some EventLoop) {
        handler.keepAliveDue()
    }
}

@available(*, unavailable)
extension WebSocketHandler: Sendable {}  // belongs to one event loop
