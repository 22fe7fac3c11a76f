import AgoraWebSocket
import NIOCore
import Testing

/// UTF-8 validation in the style of Markus Kuhn's decoder stress test, plus randomised comparison
/// with the standard library's validating initialiser.
@Suite struct CodecUTF8ValidatorTests {
    /// Validates `bytes` in one call: true when they are a complete, valid UTF-8 text.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        var validator = UTF8Validator()
        let fed = bytes.withUnsafeBytes { validator.feed($0) }
        return fed && validator.isComplete
    }

    /// Validates `bytes` one byte per call.
    static func isValidByteAtATime(_ bytes: [UInt8]) -> Bool {
        var validator = UTF8Validator()
        for byte in bytes where ![byte].withUnsafeBytes({ validator.feed($0) }) {
            return false
        }
        return validator.isComplete
    }

    @Test(arguments: [
        "$", "\u{7F}", "\u{80}", "¢", "\u{7FF}", "\u{800}", "€", "\u{D7FF}", "\u{E000}", "\u{FFFD}", "\u{FFFF}",
        "\u{10000}", "𐍈", "\u{10FFFF}", "κόσμε", "ASCII long enough for the eight-byte fast path, twice over!",
    ])
    func validCharactersAreAccepted(text: String) {
        #expect(Self.isValid(Array(text.utf8)))
        #expect(Self.isValidByteAtATime(Array(text.utf8)))
    }

    @Test(
        arguments: [
            [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF], [0xF0, 0x80, 0x80, 0xAF], [0xF0, 0x8F, 0xBF, 0xBF],
            [0xF8, 0x80, 0x80, 0x80, 0xAF], [0xFC, 0x80, 0x80, 0x80, 0x80, 0xAF],
        ] as [[UInt8]])
    func overlongFormsAreRejected(bytes: [UInt8]) {
        #expect(!Self.isValid(bytes))
        #expect(!Self.isValidByteAtATime(bytes))
    }

    @Test(
        arguments: [
            [0xED, 0xA0, 0x80], [0xED, 0xAD, 0xBF], [0xED, 0xB0, 0x80], [0xED, 0xBF, 0xBF], [0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80],
        ] as [[UInt8]])
    func surrogatesAreRejected(bytes: [UInt8]) {
        #expect(!Self.isValid(bytes))
    }

    @Test(
        arguments: [[0xF4, 0x90, 0x80, 0x80], [0xF5], [0xF7, 0xBF, 0xBF, 0xBF], [0xFE], [0xFF], [0x80], [0xBF], [0x41, 0x80, 0x41]] as [[UInt8]])
    func impossibleBytesAndLoneContinuationsAreRejected(bytes: [UInt8]) {
        #expect(!Self.isValid(bytes))
        #expect(!Self.isValidByteAtATime(bytes))
    }

    @Test(arguments: [[0xC2], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0x41, 0xF4]] as [[UInt8]])
    func truncatedSequenceIsIncompleteButNotYetInvalid(bytes: [UInt8]) {
        var validator = UTF8Validator()
        #expect(bytes.withUnsafeBytes { validator.feed($0) })
        #expect(!validator.isComplete)
    }

    @Test func failureIsSticky() {
        var validator = UTF8Validator()
        let invalid = validator.feed(ByteBuffer(bytes: [0xC0]))
        let afterFailure = validator.feed(ByteBuffer(string: "fine"))
        #expect(!invalid && !afterFailure && !validator.isComplete)
        validator.reset()
        let afterReset = validator.feed(ByteBuffer(string: "fine"))
        #expect(afterReset && validator.isComplete)
    }

    @Test func sequenceBrokenByNewLeadByteIsRejected() {
        // E2 82 then a new lead byte: the second character cannot start before the first ends.
        #expect(!Self.isValid([0xE2, 0x82, 0xE2, 0x82, 0xAC]))
    }

    @Test func byteAtATimeMatchesWholeOnRandomValidText() {
        var random = CodecTestRandom(seed: 3629)
        for _ in 0..<500 {
            let scalars = (0..<Int.random(in: 0...40, using: &random)).map { _ in Self.randomScalar(using: &random) }
            let bytes = Array(String(String.UnicodeScalarView(scalars)).utf8)
            #expect(Self.isValid(bytes))
            #expect(Self.isValidByteAtATime(bytes))
        }
    }

    @Test func agreesWithTheStandardLibraryOnRandomBytes() {
        var random = CodecTestRandom(seed: 3629_6455)
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                // Pure noise is almost always invalid within a byte or two, so half the inputs start as
                // valid text and get one byte changed, which probes the edges of each sequence form.
                let scalars = (0..<Int.random(in: 1...8, using: &random)).map { _ in Self.randomScalar(using: &random) }
                bytes = Array(String(String.UnicodeScalarView(scalars)).utf8)
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            } else {
                bytes = (0..<Int.random(in: 0...6, using: &random)).map { _ in UInt8.random(in: 0x70...0xFF, using: &random) }
            }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(Self.isValid(bytes) == expected, "\(bytes)")
            #expect(Self.isValidByteAtATime(bytes) == expected, "\(bytes)")
        }
    }

    /// A scalar from each UTF-8 length class in turn, including the edges of each class.
    static func randomScalar(using random: inout CodecTestRandom) -> Unicode.Scalar {
        let ranges: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        let range = ranges[Int.random(in: 0..<ranges.count, using: &random)]
        let edges = [range.lowerBound, range.upperBound]
        let value = Bool.random(using: &random) ? UInt32.random(in: range, using: &random) : edges[Int.random(in: 0...1, using: &random)]
        return Unicode.Scalar(value)!
    }
}
