import NIOCore
import Synchronization

/// One event loop's zlib state, shared by every connection on that loop that compresses (or whose peer compresses)
/// without context takeover: such a message depends on nothing before it, so one compressor per window size and one
/// inflater serve them all, used one message at a time by the loop's own thread. This is why a connection without
/// context takeover owns no zlib memory at all.
///
/// `@unchecked Sendable`: created by `DeflateCodecs.Registry` for one event loop and used only on it.
final class DeflateCodecs: @unchecked Sendable {
    private let level: Int
    private let memoryLevel: Int
    /// Indexed by window bits (9...15), made on first use.
    private var deflaters: [Deflater?] = Array(repeating: nil, count: 16)
    private var sharedInflater: Inflater?

    init(level: Int, memoryLevel: Int) {
        self.level = level
        self.memoryLevel = memoryLevel
    }

    /// The loop's compressor for `windowBits`; left reset after every message.
    func deflater(windowBits: Int) -> Deflater {
        if let deflater = deflaters[windowBits] { return deflater }
        let deflater = Deflater(windowBits: windowBits, level: level, memLevel: memoryLevel)
        deflaters[windowBits] = deflater
        return deflater
    }

    /// The loop's inflater, with the largest window so it reads any peer's stream; left reset after every message.
    var inflater: Inflater {
        if let sharedInflater { return sharedInflater }
        let inflater = Inflater(windowBits: 15)
        sharedInflater = inflater
        return inflater
    }

    /// Hands out one `DeflateCodecs` per event loop, and the sessions of connections that keep no context.
    final class Registry: Sendable {
        private let level: Int
        private let memoryLevel: Int
        private let byLoop = Mutex<[ObjectIdentifier: DeflateCodecs]>([:])
        /// A session without context either way has no state of its own, so the connections of one loop with the same
        /// agreement share one: the connection then costs one reference, not an object.
        private let stateless = Mutex<[StatelessKey: DeflateSession]>([:])

        private struct StatelessKey: Hashable {
            var loop: ObjectIdentifier
            var isClient: Bool
            var serverWindowBits: Int
            var clientWindowBits: Int
            var threshold: Int
        }

        init(level: Int, memoryLevel: Int) {
            self.level = level
            self.memoryLevel = memoryLevel
        }

        func codecs(for loop: any EventLoop) -> DeflateCodecs {
            byLoop.withLock { byLoop in
                if let codecs = byLoop[ObjectIdentifier(loop)] { return codecs }
                let codecs = DeflateCodecs(level: level, memoryLevel: memoryLevel)
                byLoop[ObjectIdentifier(loop)] = codecs
                return codecs
            }
        }

        /// The session for a connection on `loop`: shared when neither side keeps context, its own otherwise.
        func session(
            _ parameters: PerMessageDeflateParameters, isClient: Bool, configuration: PerMessageDeflateConfiguration, loop: any EventLoop
        ) -> DeflateSession {
            let codecs = codecs(for: loop)
            guard parameters.serverNoContextTakeover, parameters.clientNoContextTakeover else {
                return DeflateSession(parameters, isClient: isClient, configuration: configuration, codecs: codecs)
            }
            let key = StatelessKey(
                loop: ObjectIdentifier(loop), isClient: isClient, serverWindowBits: parameters.serverMaxWindowBits,
                clientWindowBits: parameters.clientMaxWindowBits, threshold: configuration.threshold)
            return stateless.withLock { sessions in
                if let session = sessions[key] { return session }
                let session = DeflateSession(parameters, isClient: isClient, configuration: configuration, codecs: codecs)
                sessions[key] = session
                return session
            }
        }
    }
}

/// permessage-deflate on one connection: which window and context rules apply each way, and the zlib state the
/// connection owns, which is none unless a direction keeps its context. Without context either way a session has no
/// state at all and is shared by the connections of its event loop (`Registry.session`).
///
/// With context takeover on the sending side the compressor is made for the first compressed message and dropped
/// after a quiet `pingInterval` (`releaseIdleCompressor`): the peer's window then simply holds history we no longer
/// refer to, which RFC 7692 allows. An inflater for a peer that keeps its context cannot be dropped (the peer's next
/// message may refer to any earlier one), so the server asks for `client_no_context_takeover` by default.
///
/// Used only on its event loop (a shared one too: every connection sharing it lives on that loop).
final class DeflateSession {
    /// What the handshake agreed.
    let parameters: PerMessageDeflateParameters
    /// The window this side compresses with.
    let sendWindowBits: Int
    /// Whether this side forgets each message after sending it.
    let sendsWithoutContext: Bool
    /// Whether the peer forgets each message (then the loop's shared inflater serves).
    private let receivesWithoutContext: Bool
    private let receiveWindowBits: Int
    /// Messages shorter than this go uncompressed.
    let threshold: Int
    private let level: Int
    private let memoryLevel: Int
    private let codecs: DeflateCodecs
    private var ownDeflater: Deflater?
    private var ownInflater: Inflater?
    /// When `ownDeflater` last compressed.
    private var lastCompression = NIODeadline.distantPast

    /// - Parameter isClient: which side of `parameters` this connection is.
    init(_ parameters: PerMessageDeflateParameters, isClient: Bool, configuration: PerMessageDeflateConfiguration, codecs: DeflateCodecs) {
        self.parameters = parameters
        if isClient {
            sendWindowBits = max(parameters.clientMaxWindowBits, 9)
            sendsWithoutContext = parameters.clientNoContextTakeover
            receiveWindowBits = parameters.serverMaxWindowBits
            receivesWithoutContext = parameters.serverNoContextTakeover
        } else {
            sendWindowBits = parameters.serverMaxWindowBits
            sendsWithoutContext = parameters.serverNoContextTakeover
            receiveWindowBits = parameters.clientMaxWindowBits
            receivesWithoutContext = parameters.clientNoContextTakeover
        }
        threshold = configuration.threshold
        level = configuration.level
        memoryLevel = configuration.memoryLevel
        self.codecs = codecs
    }

    /// Compresses a message payload, or returns nil when it goes uncompressed (shorter than the threshold).
    func compress(_ payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard payload.readableBytes >= threshold else { return nil }
        if sendsWithoutContext {
            return codecs.deflater(windowBits: sendWindowBits).compress(payload, resetAfter: true, allocator: allocator)
        }
        let deflater = ownDeflater ?? Deflater(windowBits: sendWindowBits, level: level, memLevel: memoryLevel)
        ownDeflater = deflater
        lastCompression = .now()
        return deflater.compress(payload, resetAfter: false, allocator: allocator)
    }

    /// The frame for a message prepared for many connections: compressed once per window size when this side
    /// keeps no context, otherwise compressed for this connection alone.
    func frame(for message: PreparedMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard message.payload.readableBytes >= threshold else { return message.plainFrame }
        guard sendsWithoutContext else {
            let compressed = compress(message.payload, allocator: allocator) ?? message.payload
            return FrameEncoder.encoded(WebSocketFrame(rsv: PreparedMessage.rsv1, opcode: message.opcode, payload: compressed), allocator: allocator)
        }
        let codecs = codecs
        let bits = sendWindowBits
        return message.deflatedFrame(windowBits: bits) {
            codecs.deflater(windowBits: bits).compress(message.payload, resetAfter: true, allocator: allocator)
        }
    }

    /// Inflates a whole compressed message, refusing one that inflates past `limit`.
    func decompress(_ payload: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(WebSocketError) -> ByteBuffer {
        if receivesWithoutContext {
            return try codecs.inflater.decompress(payload, limit: limit, resetAfter: true, allocator: allocator)
        }
        let inflater = ownInflater ?? Inflater(windowBits: receiveWindowBits)
        ownInflater = inflater
        return try inflater.decompress(payload, limit: limit, resetAfter: false, allocator: allocator)
    }

    /// Drops a compressor that has not compressed for `idle` (the handler asks at its keep-alive checks).
    func releaseIdleCompressor(idle: TimeAmount, now: NIODeadline = .now()) {
        if ownDeflater != nil, now - lastCompression >= idle { ownDeflater = nil }
    }

    /// Whether this connection holds zlib state of its own (for tests and measurements).
    var ownsZlibState: (deflater: Bool, inflater: Bool) { (ownDeflater != nil, ownInflater != nil) }
}
