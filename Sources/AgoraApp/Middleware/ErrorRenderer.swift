import AgoraCore
import AgoraPostgres
import AgoraRedis
import Hummingbird
import Logging
import NIOHTTP1

/// Renders every failure as the one JSON error shape, so no handler, middleware or router error escapes raw.
///
/// Hummingbird's own errors (404 for unknown routes, 400 for undecodable JSON, 413) keep their status; a 404 for a
/// path that exists under other methods becomes 405 with `Allow`. Unavailable dependencies are 503; anything else
/// is a 500 whose details go to the log only. `EdgeMiddleware` calls it for whatever the rest of the chain throws.
struct ErrorRenderer: Sendable {
    typealias Context = AgoraRequestContext
    let routes: RouteMethods<Context>

    /// The error's response, logged as its kind deserves.
    func response(for error: any Error, request: Request, context: Context) async throws -> Response {
        let agoraError = await translate(error, request: request, context: context)
        return try agoraError.response(from: request, context: context)
    }

    private func translate(_ error: any Error, request: Request, context: Context) async -> AgoraError {
        switch error {
        case let error as AgoraError:
            if error.kind == .internalError {
                context.logger.error("Request failed", metadata: ["error": "\(String(reflecting: error))"])
            } else {
                context.logger.debug("Request refused", metadata: ["error": "\(String(reflecting: error))"])
            }
            return error
        case let error as any HTTPResponseError:
            if error.status == .notFound {
                let allowed = await routes.allowedMethods(for: request, context: context)
                if !allowed.isEmpty {
                    return AgoraError(
                        .methodNotAllowed, "\(request.method) is not supported on \(request.uri.path)",
                        allowedMethods: allowed.map(\.rawValue)
                    )
                }
                return AgoraError(.notFound, "Nothing at \(request.method) \(request.uri.path)")
            }
            let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            context.logger.debug("Request refused", metadata: ["status": "\(error.status.code)", "error": "\(message)"])
            return AgoraError(AgoraError.Kind(status: error.status), message)
        case let error as HTTPParserError:
            // A body that breaks HTTP/1.1 framing mid-way (a chunk size of "zz"): the client's fault, and the
            // connection closes after this answer.
            context.logger.debug("Malformed request body", metadata: ["error": "\(String(reflecting: error))"])
            return AgoraError(.badRequest, code: "malformed_request", "The request is not valid HTTP/1.1")
        case let error as PGError where error.sqlState == "22021":
            // A NUL (or other byte PostgreSQL's UTF-8 refuses) can only have come from a client: TextPolicy should
            // have refused it at the edge, so say which edge missed it, and answer as the edge would have.
            context.logger.warning("Invalid text reached PostgreSQL", metadata: ["path": "\(request.uri.path)"])
            return AgoraError(.validation, code: "invalid_text", "Text must not contain NUL characters")
        case let error as PGError where [.connectionFailed, .connectionClosed, .poolTimeout, .poolClosed].contains(error.code):
            context.logger.warning("PostgreSQL unavailable", metadata: ["error": "\(String(reflecting: error))"])
            return AgoraError(.unavailable, "The database is unavailable; try again shortly")
        case let error as RedisError where [.connectionFailed, .connectionClosed, .poolTimeout, .poolClosed].contains(error.code):
            context.logger.warning("Redis unavailable", metadata: ["error": "\(String(reflecting: error))"])
            return AgoraError(.unavailable, "The cache is unavailable; try again shortly")
        default:
            // The description stays in the log: it may hold SQL or a dependency's message.
            context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return AgoraError(.internalError, "An unexpected error occurred; quote the request id when reporting it")
        }
    }
}
