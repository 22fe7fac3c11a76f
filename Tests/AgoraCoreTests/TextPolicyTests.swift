import AgoraCore
import Testing

/// The documented maxima (JSON Schema `maxLength` in Public/openapi.json) count Unicode scalars of the text as sent,
/// so the server refuses exactly the texts the document says are too long.
struct TextPolicyTests {
    /// "é" written as e + a combining accent: one character, two scalars.
    static let decomposed = "e\u{301}"

    @Test func lengthCountsScalarsNotCharacters() {
        #expect(TextPolicy.length(Self.decomposed) == 2)
        #expect(TextPolicy.length("é") == 1)
        #expect(TextPolicy.length("👩‍👩‍👧") == 5)
        #expect(TextPolicy.length(" a ") == 3)
    }

    @Test func aTitleWithinTheCharactersButOverTheScalarsIsRefused() {
        let sixty = String(repeating: Self.decomposed, count: 60)  // 60 characters, 120 scalars
        #expect(sixty.count == 60)
        guard case .failure = TextPolicy.singleLine(sixty, 1...100) else { Issue.record("120 scalars passed a 100 limit"); return }
        guard case .success(let text) = TextPolicy.singleLine(String(repeating: "é", count: 100), 1...100) else {
            Issue.record("100 precomposed characters refused")
            return
        }
        #expect(text.count == 100)
    }

    @Test func surroundingWhitespaceCountsAgainstTheMaximumButIsTrimmedFromTheResult() {
        let padded = "  " + String(repeating: "a", count: 99) + "  "
        guard case .failure = TextPolicy.multiLine(padded, max: 100) else { Issue.record("103 scalars passed a 100 limit"); return }
        guard case .success(let text) = TextPolicy.multiLine(" " + String(repeating: "a", count: 98) + " ", max: 100) else {
            Issue.record("100 scalars refused")
            return
        }
        #expect(text.count == 98)
        // The minimum is of what is left once trimmed: blanks are not a title.
        guard case .failure = TextPolicy.singleLine("     ", 1...100) else { Issue.record("a blank title passed"); return }
    }
}
