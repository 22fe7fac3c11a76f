import Hummingbird

/// Hummingbird's `FileMiddleware`, asked only for paths that can be files of `Public/`.
///
/// `FileMiddleware` looks every GET and HEAD up on disk (a `stat` through NIO's thread pool) before the router sees
/// it, so `GET /health` and every API read paid a file-system lookup and two thread hops for a file that cannot
/// exist. The server's own prefixes skip it; everything else (the shell, `app/`, icons, unknown paths) is looked up
/// as before, so a file added to `Public/` is served without a restart.
struct StaticFilesMiddleware<Context: RequestContext>: RouterMiddleware {
    let files: FileMiddleware<Context, LocalFileSystem>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard StaticFiles.mayBeAFile(request.uri.path) else { return try await next(request, context) }
        return try await files.handle(request, context: context, next: next)
    }
}

/// Which paths `StaticFilesMiddleware` looks up (outside the generic middleware, so the set is built once).
enum StaticFiles {
    /// The first path segments the server's routes own; `Public/` has no file or folder of these names.
    static let serverPrefixes: Set<Substring> = ["api", "health", "metrics", "media", "ws"]

    static func mayBeAFile(_ path: String) -> Bool {
        guard let first = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: true).first else { return true }
        return !serverPrefixes.contains(first)
    }
}
