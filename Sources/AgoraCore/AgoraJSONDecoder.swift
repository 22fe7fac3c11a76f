import Foundation
package import Hummingbird
import NIOCore

/// The request decoder of every route: JSON, ISO 8601 dates, and `TextPolicy` applied before any handler sees a
/// value, so a NUL in any string of any body is one 422 naming the field instead of a failure deep in PostgreSQL.
package struct AgoraJSONDecoder: RequestDecoder, Sendable {
    package init() {}

    package func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let bytes = buffer.readableBytesView
        try Self.refuseNUL(in: bytes)
        return try AgoraJSON.decoder.decode(T.self, from: Data(bytes))
    }

    /// Throws a 422 naming the field if the JSON text `bytes` has a string (value or key) holding U+0000.
    ///
    /// The common case costs one pass looking for backslashes: a NUL can only be written `\u0000` in valid JSON (a
    /// raw one makes the JSON invalid, which the decoder refuses with a 400). Only when one is found is the document
    /// parsed a second time to name where it is.
    package static func refuseNUL(in bytes: some Collection<UInt8>) throws(AgoraError) {
        guard hasEscapedNUL(bytes) else { return }
        let field = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])).flatMap { path(toNULIn: $0) }
        throw AgoraError(.validation, code: "invalid_text", "Text must not contain NUL characters", fields: [field ?? "body": TextPolicy.nulProblem])
    }

    /// Whether `bytes` holds the escape `\u0000` (and not an escaped backslash followed by "u0000").
    static func hasEscapedNUL(_ bytes: some Collection<UInt8>) -> Bool {
        let backslash = UInt8(ascii: "\\"), zero = UInt8(ascii: "0")
        var index = bytes.startIndex
        while let found = bytes[index...].firstIndex(of: backslash) {
            let escaped = bytes.index(after: found)
            guard escaped != bytes.endIndex else { return false }
            if bytes[escaped] == UInt8(ascii: "u") {
                let digits = bytes[bytes.index(after: escaped)...].prefix(4)
                if digits.count == 4, digits.allSatisfy({ $0 == zero }) { return true }
            }
            index = bytes.index(after: escaped)
        }
        return false
    }

    /// The path (`items[2].name`) of the first string or key in `value` holding U+0000.
    static func path(toNULIn value: Any, at prefix: String = "") -> String? {
        switch value {
        case let text as String:
            return TextPolicy.containsNUL(text) ? (prefix.isEmpty ? "body" : prefix) : nil
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                let clean = key.replacingOccurrences(of: "\u{0}", with: "")
                let path = prefix.isEmpty ? clean : prefix + "." + clean
                if TextPolicy.containsNUL(key) { return path.isEmpty ? "body" : path }
                if let object = object[key], let found = Self.path(toNULIn: object, at: path) { return found }
            }
            return nil
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = path(toNULIn: element, at: "\(prefix.isEmpty ? "body" : prefix)[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }
}
