import Hummingbird

/// `Public/`: the app shell for the PWA's own addresses (`AppShell`), then Hummingbird's `FileMiddleware`, asked
/// only for paths that can be files of `Public/`.
///
/// `FileMiddleware` looks every GET and HEAD up on disk before the router sees it, so `GET /health` and every API
/// read paid a file-system lookup and two thread hops for a file that cannot exist. The server's own prefixes skip
/// it; everything else (the shell, `app/`, icons, unknown paths) is looked up as before, so a file added to
/// `Public/` is served without a restart. (Formerly two middlewares, `AppShellMiddleware` then this one; one layer
/// less per request.)
struct StaticFilesMiddleware<Context: RequestContext, Provider: FileProvider>: RouterMiddleware
where Provider.FileAttributes: FileMiddlewareFileAttributes {
    let files: FileMiddleware<Context, Provider>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        if request.method == .get || request.method == .head, AppShell.isAppPath(request.uri.path) {
            var head = request.head
            head.path = "/index.html"
            request = Request(head: head, body: request.body)
        }
        guard StaticFiles.mayBeAFile(request.uri.path) else { return try await next(request, context) }
        return try await files.handle(request, context: context, next: next)
    }
}

/// Which paths `StaticFilesMiddleware` looks up (outside the generic middleware, so the set is built once).
enum StaticFiles {
    /// The first path segments the server's routes own; `Public/` has no file or folder of these names.
    static let serverPrefixes: Set<Substring> = ["api", "health", "metrics", "media", "ws", "p", "s", "sitemaps", "sitemap.xml", "robots.txt"]

    static func mayBeAFile(_ path: String) -> Bool {
        var segments = PathSegments(path)
        guard let first = segments.next() else { return true }
        return !serverPrefixes.contains(first)
    }
}
