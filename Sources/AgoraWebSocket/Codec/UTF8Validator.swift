public import NIOCore

/// Incremental UTF-8 validation (RFC 3629 §4), for text that arrives in pieces.
///
/// RFC 6455 §8.1 makes invalid UTF-8 in a text message fatal, and failing on the fragment that
/// contains the bad byte (rather than after the whole message is buffered) stops a peer from making
/// us hold megabytes of garbage. The validator accepts exactly the well-formed sequences of Unicode
/// Table 3-7, so it rejects overlong forms, surrogates (U+D800-U+DFFF), code points above U+10FFFF,
/// the bytes C0, C1 and F5-FF, and continuation bytes that do not continue anything.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current sequence.
    private var pending: UInt8 = 0
    /// Inclusive range the next continuation byte must fall in. Only the second byte of a sequence
    /// is ever narrower than 0x80...0xBF; that narrowing is what excludes overlongs, surrogates and
    /// code points past U+10FFFF without decoding anything.
    private var lowerBound: UInt8 = 0x80
    private var upperBound: UInt8 = 0xBF
    /// Set once invalid input is seen; no later bytes can make the text valid again.
    private var hasFailed = false

    /// Creates a validator expecting the start of a text.
    public init() {}

    /// True when not in the middle of a multi-byte sequence (and nothing invalid has been fed).
    public var isComplete: Bool {
        self.pending == 0 && !self.hasFailed
    }

    /// Forgets everything fed so far, ready for a new text.
    public mutating func reset() {
        self = UTF8Validator()
    }

    /// Feeds the readable bytes of `buffer`.
    ///
    /// - Returns: false as soon as the bytes fed so far cannot be the start of valid UTF-8.
    public mutating func feed(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in self.feed(bytes) }
    }

    /// Feeds `bytes`, which continue whatever was fed before.
    ///
    /// - Returns: false as soon as the bytes fed so far cannot be the start of valid UTF-8; every
    ///   later call then returns false too.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !self.hasFailed else { return false }
        // Work on locals so the loop does not write through `self` on every byte.
        var pending = self.pending
        var lowerBound = self.lowerBound
        var upperBound = self.upperBound
        var index = 0
        let count = bytes.count

        while index < count {
            if pending == 0 {
                // Chat text is mostly ASCII: skip eight bytes at a time while none has its high bit set.
                while index + 8 <= count, bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                }
                guard index < count else { break }
                let lead = bytes[index]
                index += 1
                lowerBound = 0x80
                upperBound = 0xBF
                switch lead {
                case 0x00...0x7F:
                    continue
                case 0xC2...0xDF:
                    pending = 1
                case 0xE0:
                    pending = 2
                    lowerBound = 0xA0  // E0 80-9F would be an overlong 2-byte form
                case 0xE1...0xEC, 0xEE...0xEF:
                    pending = 2
                case 0xED:
                    pending = 2
                    upperBound = 0x9F  // ED A0-BF would encode a surrogate
                case 0xF0:
                    pending = 3
                    lowerBound = 0x90  // F0 80-8F would be an overlong 3-byte form
                case 0xF1...0xF3:
                    pending = 3
                case 0xF4:
                    pending = 3
                    upperBound = 0x8F  // F4 90 and above would exceed U+10FFFF
                default:
                    // 80-BF continue nothing, C0-C1 only start overlongs, F5-FF start nothing.
                    self.hasFailed = true
                    return false
                }
            } else {
                let byte = bytes[index]
                index += 1
                guard byte >= lowerBound, byte <= upperBound else {
                    self.hasFailed = true
                    return false
                }
                pending -= 1
                lowerBound = 0x80
                upperBound = 0xBF
            }
        }
        self.pending = pending
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        return true
    }
}
