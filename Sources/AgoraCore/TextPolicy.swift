import Foundation

/// What text Agora accepts from a client, decided once for every edge (JSON bodies, query parameters, WebSocket
/// commands) and every field rule.
///
/// - No text anywhere may hold NUL (U+0000): PostgreSQL's `text` cannot store it, so it is refused at the edge with
///   a 422 naming the field rather than failing deep in a query.
/// - Names and titles (one line: display names, product titles, category names) also refuse control characters,
///   bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069: they make "gpj.exe" read as "exe.jpg") and
///   invisible characters that let two names look the same (U+200B zero-width space, U+2060 word joiner, U+FEFF,
///   U+180E, U+00AD soft hyphen, U+034F, U+115F/U+1160/U+3164/U+FFA0 Hangul fillers). Zero-width joiner and
///   non-joiner (U+200C, U+200D) stay allowed: Persian, Indic scripts and emoji sequences need them.
/// - Free text (bios, descriptions, chat, reviews) may hold newlines and tabs but no other control character.
package enum TextPolicy {
    /// The message every edge uses for a NUL.
    package static let nulProblem = "must not contain NUL characters"

    /// Whether `text` holds U+0000.
    @inlinable
    package static func containsNUL(_ text: some StringProtocol) -> Bool {
        text.utf8.contains(0)
    }

    /// Whether `scalar` is a bidirectional override/isolate or an invisible character refused in names.
    package static func isDeceptive(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true  // bidi embeddings, overrides, isolates, marks
        case 0x200B, 0x2060...0x2064, 0xFEFF, 0x180E, 0x00AD, 0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0: true  // invisible
        default: false
        }
    }

    /// How long `raw` is against a documented maximum: its Unicode scalars, before trimming, which is what JSON
    /// Schema's `maxLength` counts in Public/openapi.json. Counting characters (grapheme clusters) after trimming
    /// accepted texts longer than the document allows (schemathesis found a chat message of more than 4,000 code points
    /// that had fewer characters).
    package static func length(_ raw: some StringProtocol) -> Int { raw.unicodeScalars.count }

    /// A trimmed one-line name or title of `range` characters, or the reason it is not one. The upper bound counts as
    /// `length` does.
    package static func singleLine(_ raw: String, _ range: ClosedRange<Int>) -> Result<String, Problem> {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count >= range.lowerBound, length(raw) <= range.upperBound else {
            return .failure(Problem(range.lowerBound > 0 && text.isEmpty ? "is required" : "must be \(range.lowerBound) to \(range.upperBound) characters"))
        }
        if let problem = nameProblem(text) { return .failure(problem) }
        return .success(text)
    }

    /// A trimmed multi-line text of at most `max` characters as `length` counts them (newlines and tabs allowed), or
    /// the reason it is not one.
    package static func multiLine(_ raw: String, max: Int) -> Result<String, Problem> {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard length(raw) <= max else { return .failure(Problem("must be at most \(max) characters")) }
        guard !text.unicodeScalars.contains(where: { isControl($0) && $0 != "\n" && $0 != "\t" }) else {
            return .failure(Problem("must not contain control characters"))
        }
        return .success(text)
    }

    /// A free-text field of a request (a reason, a message), trimmed: nil when empty unless `required`, else as
    /// `multiLine` allows it.
    /// - Throws: 422 naming `field`: `missing` (with "is required") when it is required and empty, or why the text is
    ///   not acceptable.
    package static func field(_ raw: String?, _ field: String, max: Int, required: Bool, missing: String) throws(AgoraError) -> String? {
        let trimmed = raw?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if trimmed.isEmpty {
            if required { throw AgoraError(.validation, missing, fields: [field: "is required (1 to \(max) characters)"]) }
            return nil
        }
        switch multiLine(trimmed, max: max) {
        case .success(let text): return text
        case .failure(let problem): throw AgoraError(.validation, "The \(field) is not acceptable", fields: [field: problem.description])
        }
    }

    /// Why `text` is not acceptable as a name or title, or nil.
    package static func nameProblem(_ text: some StringProtocol) -> Problem? {
        for scalar in text.unicodeScalars {
            if isControl(scalar) { return Problem("must not contain control characters") }
            if isDeceptive(scalar) { return Problem("must not contain invisible or text-direction characters") }
        }
        return nil
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.generalCategory == .control }

    /// Why a text was refused, phrased to follow the field's name ("title must …").
    package struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        package var description: String
        package init(_ description: String) { self.description = description }
    }
}
