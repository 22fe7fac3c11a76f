package import AgoraCore
import Foundation

/// The `data` of a client's command: each command decodes its own typed payload from it with `AgoraJSON.decoder`,
/// so ids are `UUID`s, message ids `Int64`s and text `String`s straight from the frame, with no generic JSON tree
/// and no number through a `Double`.
package struct CommandData: Sendable {
    /// The whole client message (`{"type": ..., "id": ..., "data": {...}}`); its NULs were refused already.
    let message: Data

    init(message: Data) { self.message = message }

    /// For tests of command handlers: `data` as the command's `data`.
    package init(json data: String) {
        message = Data("{\"data\":\(data)}".utf8)
    }

    private struct Envelope<Payload: Decodable>: Decodable {
        var data: Payload?
    }

    /// `data` decoded as `Payload`; a missing `data` is decoded as `{}` (a payload with only optional fields).
    /// - Throws: `AgoraError(.validation)` naming the field that is missing or of the wrong type.
    package func decode<Payload: Decodable>(_ type: Payload.Type) throws(AgoraError) -> Payload {
        do {
            if let payload = try AgoraJSON.decoder.decode(Envelope<Payload>.self, from: message).data { return payload }
            return try AgoraJSON.decoder.decode(Payload.self, from: Data("{}".utf8))
        } catch {
            throw Self.refusal(error)
        }
    }

    /// A decoding failure as the 422 a client can act on: which field, and what is wrong with it.
    static func refusal(_ error: any Error) -> AgoraError {
        guard let error = error as? DecodingError else { return AgoraError(.validation, "data is not valid", fields: ["data": "is not valid"]) }
        let (path, problem): ([any CodingKey], String)
        switch error {
        case .keyNotFound(let key, let context): (path, problem) = (context.codingPath + [key], "is required")
        case .valueNotFound(_, let context): (path, problem) = (context.codingPath, "is required")
        case .typeMismatch(let type, let context): (path, problem) = (context.codingPath, Self.expected(type))
        case .dataCorrupted(let context): (path, problem) = (context.codingPath, "is not valid")
        @unknown default: (path, problem) = ([], "is not valid")
        }
        let field = path.drop { $0.stringValue == "data" }.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        let name = field.isEmpty ? "data" : field
        return AgoraError(.validation, "\(name) \(problem)", fields: [name: problem])
    }

    private static func expected(_ type: Any.Type) -> String {
        switch type {
        case is String.Type, is Substring.Type: "must be text"
        case is Int64.Type, is Int.Type, is Int32.Type: "must be a whole number"
        case is UUID.Type: "must be an id"
        case is Bool.Type: "must be true or false"
        default: "has the wrong type"
        }
    }
}

extension KeyedDecodingContainer {
    /// A whole number at `key`, if present and not null. Foundation's decoder refuses `1.5` or `1e30` for an `Int64`
    /// with an internal error that surfaces as "not valid JSON", without naming the field; this says which field and
    /// what it must be.
    package func decodeWholeNumberIfPresent(forKey key: Key) throws -> Int64? {
        do {
            return try decodeIfPresent(Int64.self, forKey: key)
        } catch let error as DecodingError {
            guard case .dataCorrupted = error else { throw error }
        } catch {}
        throw DecodingError.typeMismatch(Int64.self, .init(codingPath: codingPath + [key], debugDescription: "not a whole number"))
    }
}
