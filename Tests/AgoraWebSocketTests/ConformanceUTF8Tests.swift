import AgoraTestSupport
import AgoraWebSocket
import Testing

/// Autobahn|Testsuite group 6: text must be valid UTF-8 (§5.6, §8.1), however it is fragmented, and invalid text fails
/// the connection with 1007 as soon as the bad bytes arrive.
@Suite(.timeLimit(.minutes(1)))
struct ConformanceUTF8Tests {
    static let valid = [
        "", "Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "中文 and 日本語", "𝄞 clef", "👍🏽 with a modifier",
        // The first and last code point of each sequence length, around the surrogates, and noncharacters, which
        // are still valid UTF-8.
        "\u{0}", "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFD}", "\u{FFFE}", "\u{FFFF}",
        "\u{10000}", "\u{10FFFF}",
    ]

    static let invalid = [
        ConformanceSample("overlong / in 2 bytes", [0xC0, 0xAF]),
        ConformanceSample("overlong / in 3 bytes", [0xE0, 0x80, 0xAF]),
        ConformanceSample("overlong / in 4 bytes", [0xF0, 0x80, 0x80, 0xAF]),
        ConformanceSample("overlong NUL", [0xC0, 0x80]),
        ConformanceSample("largest overlong in 2 bytes", [0xC1, 0xBF]),
        ConformanceSample("largest overlong in 3 bytes", [0xE0, 0x9F, 0xBF]),
        ConformanceSample("largest overlong in 4 bytes", [0xF0, 0x8F, 0xBF, 0xBF]),
        ConformanceSample("surrogate U+D800", [0xED, 0xA0, 0x80]),
        ConformanceSample("surrogate U+DFFF", [0xED, 0xBF, 0xBF]),
        ConformanceSample("surrogate pair (CESU-8)", [0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80]),
        ConformanceSample("U+110000", [0xF4, 0x90, 0x80, 0x80]),
        ConformanceSample("U+1FFFFF", [0xF7, 0xBF, 0xBF, 0xBF]),
        ConformanceSample("5-byte form", [0xF8, 0x88, 0x80, 0x80, 0x80]),
        ConformanceSample("6-byte form", [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80]),
        ConformanceSample("byte C0", [0xC0]),
        ConformanceSample("byte C1", [0xC1]),
        ConformanceSample("byte F5", [0xF5]),
        ConformanceSample("byte FE", [0xFE]),
        ConformanceSample("byte FF", [0xFF]),
        ConformanceSample("lone continuation 80", [0x80]),
        ConformanceSample("lone continuation BF", [0xBF]),
        ConformanceSample("continuations only", [0x80, 0xBF, 0x80]),
        ConformanceSample("lead byte then ASCII", [0xC2, 0x41]),
        ConformanceSample("3-byte lead then a bad second byte", [0xE2, 0x28, 0xA1]),
        ConformanceSample("truncated 3-byte sequence at the end", [0xE2, 0x82]),
        ConformanceSample("truncated 4-byte sequence at the end", [0xF0, 0x9D, 0x84]),
        // Autobahn 6.3.1: valid text with a surrogate in the middle.
        ConformanceSample("κόσμε, a surrogate, edited", Array("κόσμε".utf8) + [0xED, 0xA0, 0x80] + Array("edited".utf8)),
    ]

    @Test(arguments: valid)
    func validTextIsEchoed(text: String) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, text: text))
            try await socket.expectText(text)
        }
    }

    @Test func validTextIsEchoedHoweverItIsFragmented() async throws {
        let text = Self.valid.joined(separator: "|")
        let bytes = Array(text.utf8)
        try await Conformance.withConnection { socket in
            // One fragment per code point, then one per byte, so most fragments end inside a character.
            let scalars = text.unicodeScalars.map { Array(String($0).utf8) }
            try await socket.send(ConformanceFragmentationTests.fragments(Conformance.text, scalars))
            try await socket.expectText(text)
            try await socket.send(ConformanceFragmentationTests.fragments(Conformance.text, bytes.map { [$0] }))
            try await socket.expectText(text)
        }
    }

    @Test(arguments: 1...5)
    func aFourByteCharacterSplitAcrossFragmentsIsEchoed(splitAt: Int) async throws {
        let bytes = Array("a𝄞b".utf8)  // 61 F0 9D 84 9E 62: every split from 1 to 5 falls in or next to the clef
        try await Conformance.withConnection { socket in
            let parts = [Array(bytes[..<splitAt]), Array(bytes[splitAt...])]
            try await socket.send(ConformanceFragmentationTests.fragments(Conformance.text, parts))
            try await socket.expectText("a𝄞b")
        }
    }

    @Test(arguments: invalid)
    func invalidTextFailsTheConnectionWith1007(sample: ConformanceSample) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, sample.bytes))
            try await socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }

    @Test(arguments: invalid)
    func invalidTextInTheLastFragmentFailsTheConnectionWith1007(sample: ConformanceSample) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(ConformanceFragmentationTests.fragments(Conformance.text, [Array("valid start ".utf8), sample.bytes]))
            try await socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }
}
