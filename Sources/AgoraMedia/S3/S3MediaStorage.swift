import AgoraCrypto
package import AgoraNet
package import Foundation

/// Media in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Cloudflare R2, Garage…), shared by every instance.
///
/// Objects are named `<prefix><key>`. Requests are signed with AWS Signature V4 (`SigV4Signer`), bodies included
/// (`x-amz-content-sha256` is the body's hash, so a store that checks it refuses a body changed in flight). Calls go
/// over SwiftNIO (`HTTPSClient` with a pool of kept-alive connections), so waiting for the store holds no thread.
package final class S3MediaStorage: MediaStorage {
    /// Where the bucket is and how to reach it (`AGORA_MEDIA_S3_*`).
    package struct Settings: Sendable {
        /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`…: scheme, host and port, no path.
        package var endpoint: String
        /// The endpoint browsers reach the store at, for presigned URLs; nil when it is `endpoint`.
        package var publicEndpoint: String?
        package var bucket: String
        package var region: String
        package var credentials: SigV4Signer.Credentials
        /// `endpoint/bucket/key` (true: MinIO, moto, most self-hosted stores) or `bucket.endpoint/key` (false).
        package var pathStyle: Bool
        /// Put before every key, e.g. `media/`; empty for none.
        package var prefix: String
        /// PEM roots to trust instead of the system's.
        package var caFile: String?
        package var timeout: Duration
        /// How long a presigned URL stays valid, in seconds.
        package var presignSeconds: Int
        /// Files larger than this are not relayed by the server: `GET /media/:key` answers a redirect to a presigned
        /// URL instead. 0 relays every file (the store need not be reachable from browsers).
        package var redirectAbove: Int
        /// The largest file the store is asked to return through the server.
        package var maxObjectBytes: Int
        /// Make the bucket on the first upload that finds it missing (development, tests, a private MinIO).
        package var createBucket: Bool

        package init(
            endpoint: String, publicEndpoint: String? = nil, bucket: String, region: String = "us-east-1",
            credentials: SigV4Signer.Credentials, pathStyle: Bool = true, prefix: String = "", caFile: String? = nil,
            timeout: Duration = .seconds(30), presignSeconds: Int = 900, redirectAbove: Int = 0, maxObjectBytes: Int = 32 << 20,
            createBucket: Bool = false
        ) {
            self.endpoint = endpoint
            self.publicEndpoint = publicEndpoint
            self.bucket = bucket
            self.region = region
            self.credentials = credentials
            self.pathStyle = pathStyle
            self.prefix = prefix
            self.caFile = caFile
            self.timeout = timeout
            self.presignSeconds = presignSeconds
            self.redirectAbove = redirectAbove
            self.maxObjectBytes = maxObjectBytes
            self.createBucket = createBucket
        }

        /// What is wrong with these settings, if anything: one line per problem, naming the setting.
        package var problems: [String] {
            var problems: [String] = []
            // Bucket names: 3–63 lower-case letters, digits, dots and hyphens (AWS's rule; other stores accept these).
            let bucketOK = (3...63).contains(bucket.utf8.count) && bucket.utf8.allSatisfy { byte in
                (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2E || byte == 0x2D
            }
            if !bucketOK { problems.append("AGORA_MEDIA_S3_BUCKET must be 3-63 lower-case letters, digits, dots or hyphens") }
            if !pathStyle && bucket.contains(".") && endpoint.lowercased().hasPrefix("https:") {
                problems.append("AGORA_MEDIA_S3_BUCKET with dots needs AGORA_MEDIA_S3_PATH_STYLE=true over https (the certificate cannot cover it)")
            }
            if region.isEmpty || !region.utf8.allSatisfy({ SigV4Signer.encode(String(UnicodeScalar($0))).utf8.count == 1 }) {
                problems.append("AGORA_MEDIA_S3_REGION must be a region name like us-east-1")
            }
            if credentials.accessKeyID.isEmpty || credentials.secretAccessKey.isEmpty {
                problems.append("AGORA_MEDIA_S3_ACCESS_KEY_ID and AGORA_MEDIA_S3_SECRET_ACCESS_KEY are required with AGORA_MEDIA_STORE=s3")
            }
            if !prefix.utf8.allSatisfy({ SigV4Signer.encode(String(UnicodeScalar($0)), keepSlash: true).utf8.count == 1 }) || prefix.hasPrefix("/") {
                problems.append("AGORA_MEDIA_S3_PREFIX may hold letters, digits, - . _ ~ and / (not first)")
            }
            for (name, url) in [("AGORA_MEDIA_S3_ENDPOINT", endpoint)] + (publicEndpoint.map { [("AGORA_MEDIA_S3_PUBLIC_ENDPOINT", $0)] } ?? []) {
                guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), scheme == "https" || scheme == "http",
                    parts.host?.isEmpty == false, parts.path.isEmpty || parts.path == "/", parts.query == nil, parts.user == nil
                else {
                    problems.append("\(name) must be http(s)://host[:port] with no path, got '\(url.prefix(80))'")
                    continue
                }
            }
            return problems
        }
    }

    package let settings: Settings
    private let client: HTTPSClient
    private let signer: SigV4Signer
    /// The base every object path is appended to: `/bucket` path-style, empty otherwise.
    private let bucketPath: String

    /// - Throws: `HTTPClientError` when the endpoint or the CA file cannot be used.
    package init(settings: Settings) throws(HTTPClientError) {
        self.settings = settings
        self.signer = SigV4Signer(credentials: settings.credentials, region: settings.region)
        self.bucketPath = settings.pathStyle ? "/\(settings.bucket)" : ""
        client = try HTTPSClient(
            baseURL: Self.base(settings.endpoint, bucket: settings.bucket, pathStyle: settings.pathStyle), caFile: settings.caFile,
            connectTimeout: min(settings.timeout, .seconds(10)), timeout: settings.timeout, maxResponseBytes: settings.maxObjectBytes,
            keepAlive: true, maxConnections: 16
        )
    }

    /// `scheme://[bucket.]host[:port]`.
    static func base(_ endpoint: String, bucket: String, pathStyle: Bool) -> String {
        let trimmed = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        guard !pathStyle, let range = trimmed.range(of: "://") else { return trimmed }
        return trimmed.replacingCharacters(in: range, with: "://\(bucket).")
    }

    /// The object's path within the bucket's base, percent-encoded: `[/bucket]/<prefix><key>`.
    func objectPath(_ key: MediaKey) -> String {
        bucketPath + "/" + SigV4Signer.encode(settings.prefix + key.rawValue, keepSlash: true)
    }

    package func put(_ bytes: [UInt8], key: MediaKey, contentType: String) async throws {
        guard contentType == key.format.contentType else {
            throw MediaStorageError(operation: "put as \(contentType) (the key says \(key.format.contentType))", path: key.rawValue)
        }
        let headers = [("Content-Type", contentType), ("Cache-Control", "public, max-age=31536000, immutable")]
        var response = try await send(.put, key, headers: headers, body: bytes)
        if response.status == 404, settings.createBucket, Self.errorCode(response.body) == "NoSuchBucket" {
            try await createBucketIfMissing()
            response = try await send(.put, key, headers: headers, body: bytes)
        }
        guard response.status == 200 else { throw failure("PUT", key, response) }
    }

    package func get(_ key: MediaKey) async throws -> StoredMedia? {
        let response = try await send(.get, key)
        switch response.status {
        case 200: return StoredMedia(bytes: response.body, contentType: key.format.contentType)
        case 404: return nil
        default: throw failure("GET", key, response)
        }
    }

    package func get(_ key: MediaKey, range: ByteRange) async throws -> MediaPart? {
        let response = try await send(.get, key, headers: [("Range", range.header)])
        switch response.status {
        case 206:
            // `Content-Range: bytes first-last/total`.
            guard let header = response.header("Content-Range"), let (offsets, total) = Self.contentRange(header),
                offsets.count == response.body.count
            else { throw failure("GET (range)", key, response, note: "no usable Content-Range") }
            return MediaPart(bytes: response.body, offsets: offsets, totalSize: total, contentType: key.format.contentType)
        case 200:
            // A store that ignores Range sends the whole object.
            return MediaPart(of: response.body, range: range, contentType: key.format.contentType)
        case 416:
            let total = response.header("Content-Range").flatMap { header -> Int? in
                guard header.hasPrefix("bytes */") else { return nil }
                return Int(header.dropFirst(8))
            }
            return MediaPart(bytes: [], offsets: nil, totalSize: total, contentType: key.format.contentType)
        case 404: return nil
        default: throw failure("GET (range)", key, response)
        }
    }

    package func delete(_ key: MediaKey) async throws {
        let response = try await send(.delete, key)
        guard response.status == 204 || response.status == 200 || response.status == 404 else { throw failure("DELETE", key, response) }
    }

    package func directURL(for key: MediaKey) -> String? {
        directURL(for: key, at: Date())
    }

    /// The presigned GET of `key` as signed at `date`, for browsers at `publicEndpoint`.
    package func directURL(for key: MediaKey, at date: Date) -> String? {
        let base = Self.base(settings.publicEndpoint ?? settings.endpoint, bucket: settings.bucket, pathStyle: settings.pathStyle)
        guard let parts = URLComponents(string: base), let scheme = parts.scheme?.lowercased(), let host = parts.host else { return nil }
        let hostField = parts.port.map { $0 == (scheme == "https" ? 443 : 80) ? host : "\(host):\($0)" } ?? host
        let path = objectPath(key)
        let query = signer.presignedQuery(method: "GET", path: path, host: hostField, expires: settings.presignSeconds, date: date)
        return "\(scheme)://\(hostField)\(path)?\(query)"
    }

    /// Creates the bucket if it does not exist (development and tests; production buckets are made by whoever owns
    /// the account, with their own policies).
    package func createBucketIfMissing() async throws {
        let path = bucketPath.isEmpty ? "/" : bucketPath
        var body: [UInt8] = []
        if settings.region != "us-east-1" {
            body = Array(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(settings.region)</LocationConstraint></CreateBucketConfiguration>"
                    .utf8)
        }
        let response = try await send(.put, path: path, headers: [], body: body)
        // 409 BucketAlreadyOwnedByYou: made before, by us.
        guard response.status == 200 || (response.status == 409 && Self.errorCode(response.body) == "BucketAlreadyOwnedByYou") else {
            throw MediaStorageError(operation: "create bucket: the store answered \(response.status) \(Self.errorCode(response.body) ?? "")", path: settings.bucket)
        }
    }

    // MARK: Requests

    private func send(_ method: HTTPSClient.Method, _ key: MediaKey, headers: [(String, String)] = [], body: [UInt8] = []) async throws
        -> HTTPSClient.Response
    {
        try await send(method, path: objectPath(key), headers: headers, body: body)
    }

    private func send(_ method: HTTPSClient.Method, path: String, headers: [(String, String)], body: [UInt8]) async throws -> HTTPSClient.Response {
        let payloadHash = SHA256.hexDigest(body)
        var signed = headers
        signed.append(("host", client.hostField))
        let added = signer.authorization(method: method.rawValue, path: path, headers: signed, payloadHash: payloadHash, date: Date())
        // Host is written by the client itself, with exactly the value signed here.
        let fields = (headers + added).map { HTTPSClient.Header($0.0, $0.1) }
        do {
            return try await client.send(method, path, headers: fields, body: body)
        } catch {
            throw MediaStorageError(operation: "\(method.rawValue) (\(error.message))", path: path)
        }
    }

    private func failure(_ operation: String, _ key: MediaKey, _ response: HTTPSClient.Response, note: String? = nil) -> MediaStorageError {
        let code = Self.errorCode(response.body).map { " \($0)" } ?? ""
        return MediaStorageError(operation: "\(operation): the store answered \(response.status)\(code)\(note.map { " (\($0))" } ?? "")", path: objectPath(key))
    }

    /// `<Code>…</Code>` of an S3 error document, for the logs (at most 64 characters of it).
    static func errorCode(_ body: [UInt8]) -> String? {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<end.lowerBound].prefix(64))
    }

    /// The offsets and total of `bytes first-last/total`.
    static func contentRange(_ header: String) -> (Range<Int>, Int)? {
        guard header.hasPrefix("bytes ") else { return nil }
        let spec = header.dropFirst(6)
        guard let slash = spec.firstIndex(of: "/"), let dash = spec[..<slash].firstIndex(of: "-"),
            let first = Int(spec[..<dash]), let last = Int(spec[spec.index(after: dash)..<slash]), let total = Int(spec[spec.index(after: slash)...]),
            first >= 0, first <= last, last < total
        else { return nil }
        return (first..<(last + 1), total)
    }
}
