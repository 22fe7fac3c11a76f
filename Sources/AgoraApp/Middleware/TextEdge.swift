import Foundation
import AgoraCore
import Hummingbird

/// `TextPolicy` for what arrives in the URI: a NUL in the path (`%00`) is a 400 before routing, and a NUL in a query
/// parameter's name or value is a 422 naming the parameter, so no handler passes one on to PostgreSQL.
/// (JSON bodies get the same rule from `AgoraJSONDecoder`.)
struct TextEdgeMiddleware: RouterMiddleware {
    typealias Context = AgoraRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Only a URI holding "%00" can decode to a NUL, so every other request pays one substring search.
        let raw = request.uri.description
        if raw.contains("%00") {
            let path = raw.split(separator: "?", maxSplits: 1).first ?? ""
            if path.contains("%00") {
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
        return try await next(request, context)
    }
}
