public import NIOCore

/// Turns frames into messages (RFC 6455 §5.4 fragmentation), validating across fragments.
///
/// Feed it every frame `FrameParser` returns, in order. Control frames come straight back as events,
/// even between the fragments of a message (§5.4 allows that, so a ping is answered without waiting
/// for a large upload to finish). Text is checked as UTF-8 fragment by fragment and size is checked as
/// each fragment arrives, so a bad or oversized message fails on the fragment that makes it so, not
/// after we have buffered all of it.
///
/// A compressed message (RSV1 on its first frame, RFC 7692 §6) is collected compressed, within the same limit, and
/// inflated at its last fragment by the caller's inflater, which refuses output past the limit; its text is checked
/// as UTF-8 once inflated.
public struct MessageAssembler: Sendable {
    /// What a completed message or a control frame turned into.
    public enum Event: Sendable, Equatable {
        /// A complete text message, already validated as UTF-8.
        case text(String)
        /// A complete binary message.
        case binary(ByteBuffer)
        /// A ping; the caller owes the peer a pong with the same payload (§5.5.2).
        case ping(ByteBuffer)
        /// A pong.
        case pong(ByteBuffer)
        /// A Close frame. `code` is nil when the frame had no payload, which RFC 6455 reports as 1005
        /// (§7.1.5); our reply should then carry no status code either.
        case close(code: UInt16?, reason: String)
    }

    /// The kind of data message whose fragments are being collected.
    private enum Kind {
        case text
        case binary
    }

    /// The largest message accepted, summed over its fragments.
    private let maxMessageSize: Int
    /// The message in progress, or nil between messages.
    private var kind: Kind?
    /// The payloads of the fragments received so far.
    private var fragments: ByteBuffer?
    /// UTF-8 state across the fragments of a text message.
    private var validator = UTF8Validator()
    /// Whether the message in progress is compressed.
    private var compressed = false

    /// Creates an assembler with no message in progress.
    ///
    /// - Parameter maxMessageSize: the largest message accepted, in bytes summed over its fragments.
    public init(maxMessageSize: Int) {
        precondition(maxMessageSize >= 0, "maxMessageSize must not be negative")
        self.maxMessageSize = maxMessageSize
    }

    /// Feeds one frame.
    ///
    /// - Parameter frame: the next frame from `FrameParser`, which has already enforced the per-frame rules.
    /// - Returns: an event when a message or control frame is complete, nil for a non-final fragment.
    /// - Throws: `WebSocketError` with 1002 for a fragmentation or Close-frame violation, 1007 for invalid
    ///   UTF-8 in text or a close reason, and 1009 for a message over `maxMessageSize`.
    public mutating func receive(_ frame: WebSocketFrame) throws(WebSocketError) -> Event? {
        try receive(frame) { _, _ throws(WebSocketError) in throw .protocolError("compressed message without permessage-deflate") }
    }

    /// Feeds one frame on a connection that negotiated permessage-deflate.
    ///
    /// - Parameters:
    ///   - frame: the next frame from `FrameParser`.
    ///   - inflate: inflates a whole compressed message, refusing output over the given limit (1009) and invalid
    ///     DEFLATE (1007).
    public mutating func receive(
        _ frame: WebSocketFrame, inflate: (ByteBuffer, Int) throws(WebSocketError) -> ByteBuffer
    ) throws(WebSocketError) -> Event? {
        switch frame.opcode {
        case .ping:
            return .ping(frame.payload)
        case .pong:
            return .pong(frame.payload)
        case .close:
            return try Self.closeEvent(payload: frame.payload)
        case .text, .binary:
            // §5.4: fragments of different messages MUST NOT be interleaved.
            guard self.kind == nil else {
                throw WebSocketError.protocolError("new data message before the previous one finished")
            }
            self.kind = frame.opcode == .text ? .text : .binary
            self.compressed = frame.rsv & 0b100 != 0
            self.validator.reset()
            return try self.append(frame.payload, fin: frame.fin, inflate: inflate)
        case .continuation:
            guard self.kind != nil else {
                throw WebSocketError.protocolError("continuation frame without a message in progress")
            }
            return try self.append(frame.payload, fin: frame.fin, inflate: inflate)
        }
    }

    /// Adds one data fragment to the message in progress and, at FIN, completes it.
    private mutating func append(
        _ payload: ByteBuffer, fin: Bool, inflate: (ByteBuffer, Int) throws(WebSocketError) -> ByteBuffer
    ) throws(WebSocketError) -> Event? {
        let size = (self.fragments?.readableBytes ?? 0) + payload.readableBytes
        guard size <= self.maxMessageSize else {
            throw WebSocketError.messageTooBig("message exceeds \(self.maxMessageSize) bytes")
        }
        if self.kind == .text, !self.compressed {
            guard self.validator.feed(payload) else {
                throw WebSocketError.invalidPayload("text message is not valid UTF-8")
            }
            // §8.1: text that stops mid-character is invalid, even though every byte so far was fine.
            guard !fin || self.validator.isComplete else {
                throw WebSocketError.invalidPayload("text message ends inside a UTF-8 sequence")
            }
        }

        // An unfragmented message, by far the common case, is handed on without copying.
        var message = payload
        if var collected = self.fragments {
            // Drop our reference first so appending does not copy the storage.
            self.fragments = nil
            collected.writeImmutableBuffer(payload)
            message = collected
        }
        guard fin else {
            self.fragments = message
            return nil
        }
        let kind = self.kind
        self.kind = nil
        if self.compressed {
            self.compressed = false
            message = try inflate(message, self.maxMessageSize)
            if kind == .text {
                guard self.validator.feed(message), self.validator.isComplete else {
                    throw WebSocketError.invalidPayload("text message is not valid UTF-8")
                }
            }
        }
        return kind == .text ? .text(String(buffer: message)) : .binary(message)
    }

    // MARK: Close frames

    /// Decodes a Close frame's payload (RFC 6455 §5.5.1): optionally a 2-byte status code, then a
    /// UTF-8 reason.
    ///
    /// - Throws: 1002 for a 1-byte payload or a code that must not be sent (§7.4), 1007 for a reason
    ///   that is not UTF-8 (§8.1).
    private static func closeEvent(payload: ByteBuffer) throws(WebSocketError) -> Event {
        var payload = payload
        // A status code is optional, but when present it is the first two bytes, so one byte is
        // neither form.
        guard let code = payload.readInteger(as: UInt16.self) else {
            guard payload.readableBytes == 0 else {
                throw WebSocketError.protocolError("close frame payload of 1 byte")
            }
            return .close(code: nil, reason: "")
        }
        // Codes such as 1005 and 1006 exist only for reporting locally; a peer sending them is broken.
        guard WebSocketCloseCode.isValidOnWire(code) else {
            throw WebSocketError.protocolError("close code \(code) is not allowed on the wire")
        }
        var validator = UTF8Validator()
        guard validator.feed(payload), validator.isComplete else {
            throw WebSocketError.invalidPayload("close reason is not valid UTF-8")
        }
        return .close(code: code, reason: String(buffer: payload))
    }
}
