package import AgoraCore
import HTTPTypes
package import Hummingbird
import NIOCore

/// `GET /media/:key`: serves stored images to browsers and CDNs, whole or a single byte range.
///
/// With `redirectAbove` set and a store that can presign (S3), a file larger than that is not relayed: the answer
/// is a redirect to a presigned URL of the store, so large files do not pass through the server.
package struct MediaRoutes: Sendable {
    let storage: any MediaStorage
    let redirectAbove: Int

    /// Makes the routes.
    /// - Parameters:
    ///   - storage: where the images are.
    ///   - redirectAbove: files larger than this many bytes are redirected to `storage.directURL(for:)` when it has
    ///     one; 0 relays every file.
    package init(storage: any MediaStorage, redirectAbove: Int = 0) {
        self.storage = storage
        self.redirectAbove = redirectAbove
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
        // `bytes=…` with one range is honoured; anything else (several ranges, other units) gets the whole file, as
        // RFC 9110 allows. An `If-Range` can only name this file's one tag: its bytes never change.
        let range = request.headers[.range].flatMap(ByteRange.init(header:))
        if let range {
            guard let part = try await storage.get(key, range: range) else { throw Self.notFound }
            if tags.contains(where: { $0.trimmingSpaces() == "*" }) { return Response(status: .notModified, headers: headers) }
            headers[.acceptRanges] = "bytes"
            guard let offsets = part.offsets else {
                headers[.contentRange] = "bytes */\(part.totalSize.map(String.init) ?? "*")"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            headers[.contentRange] = "bytes \(offsets.lowerBound)-\(offsets.upperBound - 1)/\(part.totalSize.map(String.init) ?? "*")"
            return file(part.bytes, contentType: part.contentType, status: .partialContent, headers: headers)
        }
        if redirectAbove > 0 {
            // One request to the store: the first `redirectAbove` bytes and the total. A small file is then already here.
            guard let part = try await storage.get(key, range: .from(0, through: redirectAbove - 1)) else { throw Self.notFound }
            if tags.contains(where: { $0.trimmingSpaces() == "*" }) { return Response(status: .notModified, headers: headers) }
            if let total = part.totalSize, total > redirectAbove, let url = storage.directURL(for: key) {
                // The presigned URL expires, so the redirect is cached briefly and by the browser alone.
                return Response(status: .found, headers: [.location: url, .cacheControl: "private, max-age=60"])
            }
            headers[.acceptRanges] = "bytes"
            return file(part.bytes, contentType: part.contentType, status: .ok, headers: headers)
        }
        guard let media = try await storage.get(key) else { throw Self.notFound }
        if tags.contains(where: { $0.trimmingSpaces() == "*" }) { return Response(status: .notModified, headers: headers) }
        headers[.acceptRanges] = "bytes"
        return file(media.bytes, contentType: media.contentType, status: .ok, headers: headers)
    }

    /// A response carrying (part of) a stored file.
    func file(_ bytes: [UInt8], contentType: String, status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = contentType
        // The type was sniffed at upload: browsers must not second-guess it into HTML or script.
        headers[.xContentTypeOptions] = "nosniff"
        // Belt and braces should a non-image ever be stored: opened directly, it may run nothing.
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
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
