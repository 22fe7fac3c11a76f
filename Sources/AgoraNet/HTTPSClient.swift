import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A small HTTP/1.1 client for calls to payment providers' APIs, on SwiftNIO (AsyncHTTPClient): a call holds no
/// thread while it waits for the network, so a slow provider delays only the requests that need it.
///
/// One request per connection (`Connection: close`) unless `keepAlive` is set (an object store, called all the time, keeps
/// a pool of open connections), over TLS for `https://` base URLs — the peer's certificate
/// checked against the system's roots or `caFile`, and against the host name — and in the clear only for `http://`
/// ones (tests, a local proxy). Redirects are not followed (the key would go with them) and bodies are not
/// decompressed. A response may be at most `maxResponseBytes` long. Connecting (TCP and the TLS handshake) is bounded
/// by `connectTimeout`, and the whole call by `connectTimeout + timeout`.
package final class HTTPSClient: Sendable {
    package enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
        case put = "PUT"
        case delete = "DELETE"
        case head = "HEAD"
    }

    /// A header field.
    package struct Header: Sendable, Equatable {
        package var name: String
        package var value: String
        package init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A response: status, header fields in the order received, and the body with any chunked framing removed.
    package struct Response: Sendable, Equatable {
        package var status: Int
        package var headers: [Header]
        package var body: [UInt8]

        package init(status: Int, headers: [Header], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// The first field called `name` (case-insensitive).
        package func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }

        /// Every field called `name` (case-insensitive), in order.
        package func headerValues(_ name: String) -> [String] {
            headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        }
    }

    /// Whether the connection is TLS (`https`) or plain (`http`).
    package let usesTLS: Bool
    package let host: String
    package let port: Int
    /// The base URL's path without a trailing `/`; request paths are appended to it.
    package let basePath: String
    /// PEM roots to trust instead of the system's.
    package let caFile: String?
    package let connectTimeout: Duration
    package let timeout: Duration
    package let maxResponseBytes: Int
    /// Whether connections are kept open for the next request.
    package let keepAlive: Bool
    /// `scheme://host:port`, what request paths are appended to (after `basePath`).
    private let origin: String
    private let client: HTTPClient

    /// - Parameters:
    ///   - baseURL: `https://host[:port][/path]` (or `http://…`); no user, query or fragment.
    ///   - caFile: PEM file of trusted roots; nil for the system's trust store.
    ///   - connectTimeout: bounds the TCP connect (to every address the name resolves to) and the TLS handshake.
    ///   - timeout: bounds sending the request and reading the whole response.
    ///   - maxResponseBytes: the largest response body accepted.
    ///   - keepAlive: keep connections open between requests (at most `maxConnections` to the host).
    ///   - maxConnections: with `keepAlive`, how many connections to the host the pool keeps.
    /// - Throws: `HTTPClientError` `.invalidRequest` for a URL it cannot use, `.tls` for a CA file it cannot read.
    package init(
        baseURL: String, caFile: String? = nil, connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30),
        maxResponseBytes: Int = 1 << 20, keepAlive: Bool = false, maxConnections: Int = 8
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
        self.keepAlive = keepAlive
        self.origin = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)"

        // Read now, so that a missing or broken CA file stops start-up rather than every payment.
        let tls: TLSConfiguration
        do {
            tls = try ClientTLS.configuration(caFile: caFile)
        } catch {
            throw HTTPClientError(.tls, error.message)
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(connectTimeout), read: TimeAmount(timeout)),
            decompression: .disabled
        )
        // HTTP/1.1 and one request per connection, as the fakes and proxies in front of the APIs expect; a refused
        // connection fails the call at once instead of being retried until the connect timeout.
        configuration.httpVersion = .http1Only
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, maxConnections)
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    deinit {
        // A call retains the client until it returns, so none is in flight here; the shutdown finishes on its own.
        _ = client.shutdown()
    }

    /// Sends a request and returns the response, whatever its status.
    ///
    /// Cancelling the calling task cancels the call; the provider may or may not have received it (idempotency keys
    /// make a retry safe).
    /// - Parameters:
    ///   - path: starts with `/`, already percent-encoded (query included), appended to the base path.
    ///   - headers: any but `Host`, `Connection`, `Content-Length` and `Transfer-Encoding`, which the client writes
    ///     itself (passing one is `.invalidRequest`); `User-Agent: Agora` unless one is given.
    package func send(_ method: Method, _ path: String, headers: [Header] = [], body: [UInt8] = []) async throws(HTTPClientError) -> Response {
        var request = HTTPClientRequest(url: try url(path))
        request.method = switch method {
        case .get: .GET
        case .post: .POST
        case .put: .PUT
        case .delete: .DELETE
        case .head: .HEAD
        }
        request.headers = try fields(headers)
        if method == .post || method == .put || !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, deadline: .now() + TimeAmount(connectTimeout + timeout))
            var bytes = try await response.body.collect(upTo: maxResponseBytes)
            return Response(
                status: Int(response.status.code), headers: response.headers.map { Header($0.name, $0.value) },
                body: bytes.readBytes(length: bytes.readableBytes) ?? [])
        } catch {
            throw classify(error)
        }
    }

    /// The `Host` field every request carries (requests sign it, e.g. AWS Signature V4): the host, and the port
    /// unless it is the scheme's default.
    package var hostField: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (usesTLS ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// The absolute URL of `path`.
    func url(_ path: String) throws(HTTPClientError) -> String {
        guard path.hasPrefix("/"), path.utf8.allSatisfy(Self.isTargetByte) else {
            throw HTTPClientError(.invalidRequest, "the request path must start with / and be percent-encoded")
        }
        return origin + basePath + path
    }

    /// The request's header fields: the caller's, checked, then `Connection: close` (unless `keepAlive`) and a default
    /// `User-Agent`.
    func fields(_ headers: [Header]) throws(HTTPClientError) -> HTTPHeaders {
        let reserved: Set<String> = ["host", "connection", "content-length", "transfer-encoding"]
        var fields = HTTPHeaders()
        for header in headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy(Self.isTokenByte), !reserved.contains(header.name.lowercased()) else {
                throw HTTPClientError(.invalidRequest, "unusable header name \(header.name.prefix(40))")
            }
            // No line breaks or other controls (header injection); the value itself is never put in the error.
            guard header.value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw HTTPClientError(.invalidRequest, "the value of header \(header.name) has control characters")
            }
            fields.add(name: header.name, value: header.value)
        }
        if !keepAlive { fields.add(name: "Connection", value: "close") }
        if !fields.contains(name: "User-Agent") { fields.add(name: "User-Agent", value: "Agora") }
        return fields
    }

    /// What went wrong, by kind, naming the host and the reason, never a header or a body.
    func classify(_ error: any Error) -> HTTPClientError {
        let target = "\(host):\(port)"
        switch error {
        case let error as AsyncHTTPClient.HTTPClientError:
            switch error {
            case .connectTimeout, .tlsHandshakeTimeout:
                return HTTPClientError(.timeout, "connecting to \(target) timed out")
            case .deadlineExceeded, .readTimeout, .writeTimeout, .getConnectionFromPoolTimeout:
                return HTTPClientError(.timeout, "\(target) did not answer in time")
            case .alreadyShutdown:
                return HTTPClientError(.shuttingDown, "the HTTP client is shut down")
            case .cancelled:
                return HTTPClientError(.cancelled, "the request to \(target) was cancelled")
            default:
                return HTTPClientError(.protocolViolation, "the exchange with \(target) failed: \(error)")
            }
        case is CancellationError:
            return HTTPClientError(.cancelled, "the request to \(target) was cancelled")
        case is NIOTooManyBytesError:
            return HTTPClientError(.responseTooLarge, "the response from \(target) is larger than \(maxResponseBytes) bytes")
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return HTTPClientError(.tls, "the TLS handshake with \(target) failed: \(error)")
        case let error as NIOConnectionError:
            let reason = error.connectionErrors.first.map { "\($0.error)" } ?? (error.dnsAError ?? error.dnsAAAAError).map { "cannot resolve: \($0)" } ?? "no address"
            return HTTPClientError(.connect, "cannot connect to \(target): \(reason)")
        case let error as ChannelError:
            if case .connectTimeout = error { return HTTPClientError(.timeout, "connecting to \(target) timed out") }
            return HTTPClientError(.protocolViolation, "the connection to \(target) failed: \(error)")
        case is IOError, is SocketAddressError:
            return HTTPClientError(.connect, "cannot connect to \(target): \(error)")
        default:
            return HTTPClientError(.protocolViolation, "the exchange with \(target) failed: \(error)")
        }
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
