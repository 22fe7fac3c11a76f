public import NIOCore

/// The request line and headers of an HTTP/1.1 request, read from raw bytes.
///
/// Only the first request on a connection is read this way, to decide whether it is a WebSocket upgrade. Every
/// other request is parsed by Hummingbird's own HTTP decoder, so this parser only has to be right about the
/// handshake, and strict enough never to mistake a malformed request for one.
public struct RequestHead: Sendable, Equatable {
    /// `GET`, `POST`, ...
    public var method: String
    /// The request target: path and query.
    public var target: String
    /// `HTTP/1.1`.
    public var version: String
    /// Header fields in order, names as sent.
    public var headers: [(name: String, value: String)]

    public static func == (lhs: RequestHead, rhs: RequestHead) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.version == rhs.version
            && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The path part of the target.
    public var path: String { String(target.prefix { $0 != "?" }) }

    /// The query string without `?`, if any.
    public var query: String? { target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } }

    /// All values of a header (case-insensitive name), in order.
    public func values(_ name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// The comma-separated tokens of every value of a header, trimmed (for `Connection`, `Sec-WebSocket-Protocol`).
    public func tokens(_ name: String) -> [String] {
        values(name).flatMap { $0.split(separator: ",") }.map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
    }

    /// Cookies from every `Cookie` header.
    public var cookies: [String: String] {
        var cookies: [String: String] = [:]
        for pair in values("Cookie").flatMap({ $0.split(separator: ";") }) {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let name = pair[..<equals].trimmingASCIIWhitespace()
            if cookies[name] == nil { cookies[name] = pair[pair.index(after: equals)...].trimmingASCIIWhitespace() }
        }
        return cookies
    }
}

/// Finds and parses a request head at the start of a byte buffer.
enum RequestHeadParser {
    enum Outcome: Equatable {
        /// More bytes are needed.
        case incomplete
        /// A head of `length` bytes (including the blank line).
        case head(RequestHead, length: Int)
        /// Not a well-formed HTTP/1.x request head.
        case malformed
    }

    /// Parses the head at the reader index of `buffer` without consuming it.
    static func parse(_ buffer: ByteBuffer) -> Outcome {
        buffer.withUnsafeReadableBytes { bytes in
            // The head ends at the first CRLF CRLF.
            var end = -1
            var index = 3
            while index < bytes.count {
                if bytes[index] == 0x0A, bytes[index - 1] == 0x0D, bytes[index - 2] == 0x0A, bytes[index - 3] == 0x0D {
                    end = index + 1
                    break
                }
                index += 1
            }
            guard end > 0 else { return .incomplete }
            guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[..<(end - 4)]), as: UTF8.self) else { return .malformed }
            var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
            guard let requestLine = lines.popFirst() else { return .malformed }
            let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, parts[2].hasPrefix("HTTP/") else { return .malformed }
            var headers: [(String, String)] = []
            for line in lines {
                // Obsolete line folding and names with spaces are refused (RFC 9112 §5.1-5.2).
                guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                    !line[..<colon].contains(where: { $0 == " " || $0 == "\t" }), line.first != " ", line.first != "\t"
                else { return .malformed }
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingASCIIWhitespace()))
            }
            return .head(RequestHead(method: String(parts[0]), target: String(parts[1]), version: String(parts[2]), headers: headers), length: end)
        }
    }
}

extension StringProtocol {
    func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        self.utf8.count == other.utf8.count && zip(self.utf8, other.utf8).allSatisfy { Self.lower($0) == Self.lower($1) }
    }

    func trimmingASCIIWhitespace() -> String {
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        return String(String.UnicodeScalarView(scalars))
    }

    private static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
}
