import AgoraCore
import Hummingbird

/// Enforces `AGORA_MAX_BODY_SIZE`: a declared `Content-Length` over the limit is refused before the body is read,
/// and every body reader (`request.decode`, `collectBody(upTo: context.maxUploadSize)`) stops at the limit for
/// chunked bodies. Upload routes (`uploads`) get their own, larger limit. `EdgeMiddleware` applies it.
struct BodyLimit: Sendable {
    /// A larger limit for the requests `matches` selects.
    struct Upload: Sendable {
        var matches: @Sendable (Request) -> Bool
        var limit: Int
    }

    let limit: Int
    var uploads: [Upload] = []

    /// The request's limit, for `context.maxUploadSize`.
    /// - Throws: 413 when the declared length is over it.
    func check(_ request: Request) throws(AgoraError) -> Int {
        let limit = uploads.first { $0.matches(request) }?.limit ?? limit
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw AgoraError(.payloadTooLarge, "The request body is \(declared) bytes; the limit is \(limit) bytes")
        }
        return limit
    }
}
