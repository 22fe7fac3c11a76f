import AgoraCore
import Hummingbird
import Logging

/// The outer edge of every request, in one layer: request id, access log and metrics, security headers, CORS, error
/// rendering, the URI's text policy and the body limit, in that order from the outside in.
///
/// These were six middlewares. Each layer of Hummingbird's chain is an existential call, a closure and a copy of
/// the request context, on every request; doing the same work in one function was a tenth of `GET /health`'s CPU.
/// What each step does is unchanged and lives with its concern (`RequestIDs`, `AccessLog`, `SecurityHeaders`,
/// `ErrorRenderer`, `TextEdge`, `BodyLimit`).
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = AgoraRequestContext
    let accessLog: AccessLog
    let errors: ErrorRenderer
    let bodyLimit: BodyLimit
    /// Cross-origin web clients (`AGORA_CORS_ORIGINS`); nil when none is listed.
    var cors: CORSPolicy? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers[.requestID], RequestIDs.isAcceptable(incoming) {
            context.logger[metadataKey: "hb.request.id"] = .string(incoming)
        }
        let started = ContinuousClock.now
        var response: Response
        do {
            try TextEdge.check(request)
            if let preflight = try cors?.preflight(request) {
                response = preflight
            } else {
                var inner = context
                inner.maxUploadSize = try bodyLimit.check(request)
                response = try await next(request, inner)
            }
        } catch {
            // Rendering can only fail to encode; that error goes on to Hummingbird as it did from ErrorMiddleware,
            // without the headers and log line below.
            response = try await errors.response(for: error, request: request, context: context)
        }
        SecurityHeaders.apply(to: &response.headers)
        if let cors, let origin = cors.listed(request), !response.headers.contains(.accessControlAllowOrigin) {
            cors.decorate(&response.headers, origin: origin)
        }
        accessLog.record(request, response, elapsed: ContinuousClock.now - started, context: context)
        response.headers[.requestID] = context.id
        return response
    }
}
