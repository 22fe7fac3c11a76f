import Foundation
public import NIOPosix

/// A minimal HTTP/1.1 client for calls to payment providers' APIs: one request per connection
/// (`Connection: close`), over TLS for `https://` base URLs — the peer's certificate checked against the system's
/// roots or `caFile`, and against the host name — and in the clear only for `http://` ones (tests, a local proxy).
///
/// Responses may be framed by `Content-Length`, `Transfer-Encoding: chunked` or the end of the connection, and may
/// be at most `maxResponseBytes` long. Connecting (with the TLS handshake) is bounded by `connectTimeout`, the rest of
/// the exchange (sending the request and reading the whole response) by `timeout`.
///
/// The socket work blocks, so `send` runs it on a thread pool, never on Swift's cooperative pool.
public struct HTTPSClient: Sendable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
    }

    /// A header field.
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A response: status, header fields in the order received, and the body with any chunked framing removed.
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var headers: [Header]
        public var body: [UInt8]

        public init(status: Int, headers: [Header], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// The first field called `name` (case-insensitive).
        public func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }

        /// Every field called `name` (case-insensitive), in order.
        public func headerValues(_ name: String) -> [String] {
            headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        }
    }

    /// Whether the connection is TLS (`https`) or plain (`http`).
    public let usesTLS: Bool
    public let host: String
    public let port: Int
    /// The base URL's path without a trailing `/`; request paths are appended to it.
    public let basePath: String
    /// PEM roots to trust instead of the system's.
    public var caFile: String?
    public var connectTimeout: Duration
    public var timeout: Duration
    public var maxResponseBytes: Int
    let threadPool: NIOThreadPool

    /// - Parameters:
    ///   - baseURL: `https://host[:port][/path]` (or `http://…`); no user, query or fragment.
    ///   - caFile: PEM file of trusted roots; nil for the system's trust store.
    ///   - connectTimeout: bounds the TCP connect (to every address the name resolves to) and the TLS handshake.
    ///   - timeout: bounds sending the request and reading the whole response.
    ///   - maxResponseBytes: the largest response body accepted (the head may add up to 64 KiB).
    /// - Throws: `HTTPClientError` `.invalidRequest` for a URL it cannot use.
    public init(
        baseURL: String, caFile: String? = nil, connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30),
        maxResponseBytes: Int = 1 << 20, threadPool: NIOThreadPool = .singleton
    ) throws(HTTPClientError) {
        guard let url = URLComponents(string: baseURL), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            var host = url.host, !host.isEmpty
        else { throw HTTPClientError(.invalidRequest, "not an http(s) URL: \(baseURL)") }
        guard url.user == nil, url.password == nil, url.query == nil, url.fragment == nil else {
            throw HTTPClientError(.invalidRequest, "the base URL may not have a user, query or fragment")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let path = url.percentEncodedPath
        guard path.utf8.allSatisfy(Self.isTargetByte) else { throw HTTPClientError(.invalidRequest, "the base URL's path has characters to encode") }
        self.usesTLS = scheme == "https"
        self.host = host
        self.port = url.port ?? (scheme == "https" ? 443 : 80)
        self.basePath = path.hasSuffix("/") ? String(path.dropLast()) : path
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.threadPool = threadPool
    }

    /// Sends a request on the thread pool and returns the response, whatever its status.
    /// - Parameters:
    ///   - path: starts with `/`, already percent-encoded (query included), appended to the base path.
    ///   - headers: any but `Host`, `Connection`, `Content-Length` and `Transfer-Encoding`, which the client writes
    ///     itself (passing one is `.invalidRequest`); `User-Agent: Agora` unless one is given.
    public func send(_ method: Method, _ path: String, headers: [Header] = [], body: [UInt8] = []) async throws(HTTPClientError) -> Response {
        let client = self
        let result: Result<Response, HTTPClientError>
        do {
            result = try await threadPool.runIfActive { () -> Result<Response, HTTPClientError> in
                Result { () throws(HTTPClientError) in try client.sendBlocking(method, path, headers: headers, body: body) }
            }
        } catch is CancellationError {
            // Cancelled while waiting for a thread; once running, a request is not interrupted (its timeouts bound it).
            throw HTTPClientError(.cancelled, "the request was cancelled before it was sent")
        } catch {
            throw HTTPClientError(.shuttingDown, "the HTTP client's thread pool is shutting down")
        }
        return try result.get()
    }

    /// Sends a request on this thread, blocking it until the response is read or a timeout passes: for callers
    /// already on a thread pool, never from Swift's cooperative pool or an event loop.
    public func sendBlocking(_ method: Method, _ path: String, headers: [Header] = [], body: [UInt8] = []) throws(HTTPClientError) -> Response {
        let request = try head(method, path, headers: headers, bodyCount: body.count) + body
        return try withSIGPIPEBlocked { () throws(HTTPClientError) -> Response in
            // The connection (and its TLS close_notify in deinit) lives inside, where SIGPIPE is blocked.
            let connection = try HTTPClientConnection(host: host, port: port, timeout: connectTimeout)
            if usesTLS { try connection.startTLS(caFile: caFile) }
            connection.setDeadline(.now + timeout)
            try connection.write(request)
            var reader = HTTPResponseReader(maxBodyBytes: maxResponseBytes) { (buffer) throws(HTTPClientError) -> Int in
                try connection.read(into: buffer)
            }
            return try reader.readResponse()
        }
    }

    /// The request line and header fields, up to and including the empty line.
    func head(_ method: Method, _ path: String, headers: [Header], bodyCount: Int) throws(HTTPClientError) -> [UInt8] {
        guard path.hasPrefix("/"), path.utf8.allSatisfy(Self.isTargetByte) else {
            throw HTTPClientError(.invalidRequest, "the request path must start with / and be percent-encoded")
        }
        let hostField = host.contains(":") ? "[\(host)]" : host
        let defaultPort = usesTLS ? 443 : 80
        var text = "\(method.rawValue) \(basePath)\(path) HTTP/1.1\r\n"
        text += "Host: \(hostField)\(port == defaultPort ? "" : ":\(port)")\r\n"
        text += "Connection: close\r\n"
        if method == .post || bodyCount > 0 { text += "Content-Length: \(bodyCount)\r\n" }
        let reserved: Set<String> = ["host", "connection", "content-length", "transfer-encoding"]
        for header in headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy(Self.isTokenByte), !reserved.contains(header.name.lowercased()) else {
                throw HTTPClientError(.invalidRequest, "unusable header name \(header.name.prefix(40))")
            }
            // No line breaks or other controls (header injection); the value itself is never put in the error.
            guard header.value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw HTTPClientError(.invalidRequest, "the value of header \(header.name) has control characters")
            }
            text += "\(header.name): \(header.value)\r\n"
        }
        if !headers.contains(where: { $0.name.lowercased() == "user-agent" }) { text += "User-Agent: Agora\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Visible ASCII: what a request target may hold once percent-encoded.
    static func isTargetByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    /// RFC 9110 §5.6.2 token characters.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
