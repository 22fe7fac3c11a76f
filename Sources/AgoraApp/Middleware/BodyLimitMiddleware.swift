import AgoraCore
import Hummingbird

/// Enforces `AGORA_MAX_BODY_SIZE`: a declared `Content-Length` over the limit is refused before the body is read,
/// and every body reader (`request.decode`, `collectBody(upTo: context.maxUploadSize)`) stops at the limit for
/// chunked bodies.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AgoraRequestContext
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxUploadSize = limit
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw AgoraError(.payloadTooLarge, "The request body is \(declared) bytes; the limit is \(limit) bytes")
        }
        return try await next(request, context)
    }
}
