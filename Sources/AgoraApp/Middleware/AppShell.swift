import HTTPTypes
import Hummingbird

/// Serves the PWA's shell (`/index.html`) for the app's own addresses (`/p/<id>`, `/chat`, `/orders/<id>`, the
/// links in mails such as `/verify-email?token=…`), so they load directly and on reload; the client-side router then
/// draws the screen. Anything else (API, media, files, unknown paths) goes on unchanged, so a typo is still a 404.
struct AppShellMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head, AppShell.isAppPath(request.uri.path) else {
            return try await next(request, context)
        }
        var head = request.head
        head.path = "/index.html"
        return try await next(Request(head: head, body: request.body), context)
    }
}

/// The addresses the PWA's client-side router owns (outside the generic middleware, so the set is built once).
enum AppShell {
    /// First path segments the client router owns.
    static let sections: Set<Substring> = [
        "explore", "p", "u", "cart", "orders", "chat", "notifications", "sell", "admin", "account", "login", "signup",
        "verify-email", "reset-password", "forgot-password",
    ]

    static func isAppPath(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let first = segments.first, sections.contains(first), segments.count <= 4 else { return false }
        // Deeper segments are ids and names, never files.
        return segments.dropFirst().allSatisfy { !$0.contains(".") }
    }
}
