/// The PWA's shell (`/index.html`) is served for the app's own addresses (`/chat`, `/orders/<id>`, the
/// links in mails such as `/verify-email?token=…`), so they load directly and on reload; the client-side router then
/// draws the screen. Anything else (API, media, files, unknown paths) goes on unchanged, so a typo is still a 404.
/// Products and shops (`/p/<slug>`, `/s/<username>`) are not here: `SharePages` renders them into the shell.
/// `StaticFilesMiddleware` does the rewrite.
enum AppShell {
    /// First path segments the client router owns.
    static let sections: Set<Substring> = [
        "explore", "u", "cart", "orders", "chat", "notifications", "sell", "admin", "account", "login", "signup",
        "verify-email", "reset-password", "forgot-password",
    ]

    static func isAppPath(_ path: String) -> Bool {
        var segments = PathSegments(path)
        guard let first = segments.next(), sections.contains(first) else { return false }
        // At most four segments; deeper segments are ids and names, never files.
        var count = 1
        while let segment = segments.next() {
            count += 1
            if count > 4 || segment.utf8.contains(UInt8(ascii: ".")) { return false }
        }
        return true
    }
}

/// The non-empty `/`-separated segments of a path, one at a time (what `split(separator: "/")` returns, without
/// building the array on every request).
struct PathSegments: IteratorProtocol {
    private let path: Substring
    private var position: Substring.Index

    init(_ path: String) {
        self.path = path[...]
        self.position = path.startIndex
    }

    mutating func next() -> Substring? {
        var start = position
        while start < path.endIndex, path[start] == "/" { start = path.index(after: start) }
        guard start < path.endIndex else {
            position = start
            return nil
        }
        let end = path[start...].firstIndex(of: "/") ?? path.endIndex
        position = end
        return path[start..<end]
    }
}
