package import Foundation

/// The text form of pagination cursors: a small JSON value in unpadded base64url, so it is safe in a query string
/// and clients treat it as opaque.
package enum OpaqueCursor {
    /// Cursors longer than this are refused before decoding.
    package static let maxLength = 512

    package static func encode(_ value: some Encodable) -> String {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes a client's cursor.
    /// - Throws: 400 `invalid_cursor` for anything that is not one.
    package static func decode<T: Decodable>(_ text: String, as type: T.Type = T.self) throws(AgoraError) -> T {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard text.utf8.count <= maxLength, let data = Data(base64Encoded: base64), let value = try? JSONDecoder().decode(T.self, from: data) else {
            throw AgoraError(.badRequest, code: "invalid_cursor", "The cursor is not valid; start again without it")
        }
        return value
    }
}

/// A keyset position of lists ordered by (time DESC, id DESC): the time in microseconds, exactly as PostgreSQL
/// stores `timestamptz`, and the id that breaks ties.
package struct TimePosition: Codable, Sendable, Equatable {
    package var at: Int64
    package var id: UUID

    package init(_ date: Date, id: UUID) {
        self.at = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        self.id = id
    }

    package var date: Date { Date(timeIntervalSince1970: Double(at) / 1_000_000) }
}
