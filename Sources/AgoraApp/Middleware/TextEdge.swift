import AgoraCore
import Foundation
import Hummingbird

/// `TextPolicy` for what arrives in the URI: a NUL in the path (`%00`) is a 400 before routing, and a NUL in a query
/// parameter's name or value is a 422 naming the parameter, so no handler passes one on to PostgreSQL.
/// (JSON bodies get the same rule from `AgoraJSONDecoder`.) `EdgeMiddleware` applies it to every request.
enum TextEdge {
    static func check(_ request: Request) throws(AgoraError) {
        // Only a URI holding "%00" can decode to a NUL, so every other request pays one scan of its bytes.
        let raw = request.uri.description
        guard containsEscapedNUL(raw) else { return }
        let path = raw.split(separator: "?", maxSplits: 1).first ?? ""
        if containsEscapedNUL(path) {
            throw AgoraError(.badRequest, code: "invalid_path", "The path must not contain NUL characters")
        }
        var fields: [String: String] = [:]
        for (name, value) in request.uri.queryParameters where TextPolicy.containsNUL(name) || TextPolicy.containsNUL(value) {
            let field = String(name).replacingOccurrences(of: "\u{0}", with: "")
            fields[field.isEmpty ? "query" : field] = TextPolicy.nulProblem
        }
        if !fields.isEmpty {
            throw AgoraError(.validation, code: "invalid_text", "Query parameters must not contain NUL characters", fields: fields)
        }
    }

    /// Whether the bytes hold `%00`, compared byte for byte (Foundation's `contains` went through CFString).
    static func containsEscapedNUL(_ text: some StringProtocol) -> Bool {
        var matched = 0
        for byte in text.utf8 {
            switch (matched, byte) {
            case (_, UInt8(ascii: "%")): matched = 1
            case (1, UInt8(ascii: "0")): matched = 2
            case (2, UInt8(ascii: "0")): return true
            default: matched = 0
            }
        }
        return false
    }
}
