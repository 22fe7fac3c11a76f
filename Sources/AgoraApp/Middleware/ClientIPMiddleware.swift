import AgoraCore
import Foundation
import HTTPTypes
import Hummingbird

/// Behind a reverse proxy (`AGORA_TRUST_PROXY=true`), takes the client address from `X-Forwarded-For`.
///
/// Only the last entry is used: it is the one our proxy appended. Entries before it come from the client and could
/// be anything, so trusting them would let a client pick its own rate-limit bucket.
struct ClientIPMiddleware: RouterMiddleware {
    typealias Context = AgoraRequestContext
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let last = Self.client(forwardedFor: request.headers[values: Self.forwardedFor].last) else { return try await next(request, context) }
        var context = context
        context.clientIP = last
        return try await next(request, context)
    }

    /// The address our proxy appended to the last `X-Forwarded-For` line, if it looks like one.
    static func client(forwardedFor line: String?) -> String? {
        guard let last = line?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty, last.count <= 45 else { return nil }
        return last
    }
}
