package import AgoraCore
import HTTPTypes
package import Hummingbird
import NIOCore

/// `GET /media/:key`: serves stored images to browsers and CDNs.
package struct MediaRoutes: Sendable {
    let storage: any MediaStorage

    /// Makes the routes.
    /// - Parameter storage: where the images are.
    package init(storage: any MediaStorage) {
        self.storage = storage
    }

    /// Registers the routes on `router`.
    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/media/:key", use: show)
        // HEAD: the same status and headers, no body (CDNs and link checkers ask before they fetch).
        router.head("/media/:key") { request, context in
            let response = try await show(request, context: context)
            var headers = response.headers
            if case .some(let length) = response.body.contentLength { headers[.contentLength] = String(length) }
            return Response(status: response.status, headers: headers, body: .init())
        }
    }

    @Sendable func show(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        // An invalid key gets the same 404 as a missing one: the path is not a file we could ever have made.
        guard let key = context.parameters.get("key").flatMap(MediaKey.init(validating:)) else { throw Self.notFound }
        let etag = "\"\(key.rawValue)\""
        var headers: HTTPFields = [
            // A key is random and never reused, so its bytes never change: cache for a year and skip revalidation.
            .cacheControl: "public, max-age=31536000, immutable",
            .eTag: etag,
        ]
        let tags = request.headers[values: .ifNoneMatch]
        // A matching tag means the client holds these exact bytes, so answer without reading the file. `*` asks
        // whether the file exists at all, which only the storage knows.
        if Self.matches(tags, etag: etag) { return Response(status: .notModified, headers: headers) }
        guard let media = try await storage.get(key) else { throw Self.notFound }
        if tags.contains(where: { $0.trimmingSpaces() == "*" }) { return Response(status: .notModified, headers: headers) }
        headers[.contentType] = media.contentType
        // The type was sniffed at upload: browsers must not second-guess it into HTML or script.
        headers[.xContentTypeOptions] = "nosniff"
        // Belt and braces should a non-image ever be stored: opened directly, it may run nothing.
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: media.bytes)))
    }

    static var notFound: AgoraError { AgoraError(.notFound, code: "media_not_found", "No such image") }

    /// Whether an `If-None-Match` list names `etag`. RFC 9110 §13.1.2 compares weakly, so `W/"…"` matches too.
    static func matches(_ values: [String], etag: String) -> Bool {
        values.lazy.flatMap { $0.split(separator: ",") }.contains { tag in
            var tag = String(tag).trimmingSpaces()
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }
}
