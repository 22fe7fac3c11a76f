import AgoraCore
import AgoraCrypto
import Foundation

/// The position after the last row of a page: that row's sort key and id, tied to the query it came from.
///
/// Keyset pagination ("rows after this key") rather than OFFSET: a page never repeats or skips a row because
/// others were inserted before it, and a deep page costs the same as the first.
struct ProductCursor: Codable, Equatable {
    /// The sort key: price or like count, the publish time in microseconds, or the relevance score.
    var key: Double?
    var integer: Int64?
    var id: UUID
    /// A hash of the query's fingerprint: a cursor only continues the search that made it.
    var query: String

    static func queryTag(_ query: ProductQuery) -> String {
        Hex.encode(SHA256.hash(Array(query.fingerprint.utf8)).prefix(8))
    }

    /// The opaque form clients pass back as `cursor`.
    var encoded: String { OpaqueCursor.encode(self) }

    /// Decodes a client's cursor for `query`.
    /// - Throws: 400 `invalid_cursor` for anything that is not a cursor of this very query.
    static func decode(_ raw: String, for query: ProductQuery) throws(AgoraError) -> ProductCursor {
        guard let cursor = try? OpaqueCursor.decode(raw, as: ProductCursor.self), cursor.query == queryTag(query) else {
            throw AgoraError(.badRequest, code: "invalid_cursor", "The cursor does not belong to this query; start again without it")
        }
        return cursor
    }
}
