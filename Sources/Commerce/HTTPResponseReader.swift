/// Reads one HTTP/1.1 response (RFC 9112) from a byte stream: the status line, the header fields, and the body as
/// `Content-Length` or `Transfer-Encoding: chunked` frame it, or up to the end of the stream when neither does.
///
/// Interim `1xx` responses are skipped. The head may be at most `maxHeadBytes`, the body at most `maxBodyBytes`
/// (after chunked decoding); anything larger is `responseTooLarge`, found before the excess is buffered where the
/// framing says so up front.
struct HTTPResponseReader {
    /// Reads what is available into the buffer; 0 at the end of the stream.
    typealias Source = (UnsafeMutableRawBufferPointer) throws(HTTPClientError) -> Int

    private let source: Source
    let maxHeadBytes: Int
    let maxBodyBytes: Int
    private var buffer: [UInt8] = []
    /// Where the unread bytes of `buffer` start.
    private var start = 0
    private var ended = false

    init(maxHeadBytes: Int = 64 * 1024, maxBodyBytes: Int, source: @escaping Source) {
        self.maxHeadBytes = maxHeadBytes
        self.maxBodyBytes = maxBodyBytes
        self.source = source
    }

    /// Reads the response (to a GET or POST: one whose response has a body unless 204 or 304).
    mutating func readResponse() throws(HTTPClientError) -> HTTPSClient.Response {
        var (status, headers) = try readHead()
        // Interim responses (100 Continue, 103 Early Hints) precede the real one; 101 would switch protocols, which
        // we never asked for.
        while (100..<200).contains(status) {
            guard status != 101 else { throw Self.violation("the server switched protocols unasked") }
            (status, headers) = try readHead()
        }
        let response = HTTPSClient.Response(status: status, headers: headers, body: [])
        if status == 204 || status == 304 { return response }

        var body: [UInt8]
        let codings = response.headerValues("Transfer-Encoding").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
        if !codings.isEmpty {
            // RFC 9112 §6.3: chunked must be the last coding; otherwise the body runs to the end of the stream.
            guard codings.last == "chunked" else { return withBody(response, try readToEnd()) }
            guard codings.count == 1 else { throw Self.violation("unsupported transfer coding \(codings.joined(separator: ", "))") }
            body = try readChunked()
        } else if let length = try contentLength(response) {
            guard length <= maxBodyBytes else { throw Self.tooLarge(maxBodyBytes) }
            body = try readExactly(length)
        } else {
            body = try readToEnd()
        }
        return withBody(response, body)
    }

    private func withBody(_ response: HTTPSClient.Response, _ body: [UInt8]) -> HTTPSClient.Response {
        var response = response
        response.body = body
        return response
    }

    // MARK: Head

    private mutating func readHead() throws(HTTPClientError) -> (Int, [HTTPSClient.Header]) {
        var budget = maxHeadBytes
        let statusLine = try readLine(budget: &budget)
        // HTTP-version SP status-code SP [reason-phrase]
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]), (100...999).contains(status) else {
            throw Self.violation("not an HTTP/1.1 status line: \(statusLine.prefix(60))")
        }
        var headers: [HTTPSClient.Header] = []
        while true {
            let line = try readLine(budget: &budget)
            if line.isEmpty { return (status, headers) }
            guard line.first != " " && line.first != "\t" else { throw Self.violation("folded header line") }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { throw Self.violation("malformed header line") }
            let name = String(line[..<colon])
            guard !name.contains(where: { $0 == " " || $0 == "\t" }) else { throw Self.violation("malformed header name") }
            headers.append(HTTPSClient.Header(name, String(line[line.index(after: colon)...]).trimmingSpaces))
        }
    }

    /// `Content-Length` if there is one; several fields or a list must all agree (RFC 9110 §8.6).
    private func contentLength(_ response: HTTPSClient.Response) throws(HTTPClientError) -> Int? {
        let values = response.headerValues("Content-Length").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingSpaces }
        guard let first = values.first else { return nil }
        guard first.count <= 18, !first.isEmpty, first.allSatisfy(\.isASCIIDigit), let length = Int(first), values.allSatisfy({ $0 == first }) else {
            throw Self.violation("invalid Content-Length")
        }
        return length
    }

    // MARK: Body

    private mutating func readChunked() throws(HTTPClientError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            var budget = 4096
            let line = try readLine(budget: &budget)
            // chunk-size [; chunk-ext]
            let sizeText = (line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingSpaces
            guard !sizeText.isEmpty, sizeText.count <= 15, sizeText.allSatisfy(\.isASCIIHexDigit), let size = Int(sizeText, radix: 16) else {
                throw Self.violation("invalid chunk size")
            }
            if size == 0 { break }
            guard size <= maxBodyBytes - body.count else { throw Self.tooLarge(maxBodyBytes) }
            body += try readExactly(size)
            // The data's CRLF (or bare LF), and nothing else.
            var end = try readExactly(1)
            if end == [0x0D] { end = try readExactly(1) }
            guard end == [0x0A] else { throw Self.violation("chunk data longer than its size") }
        }
        // Trailer fields, up to the empty line; we read none of them.
        var budget = maxHeadBytes
        while try !readLine(budget: &budget).isEmpty {}
        return body
    }

    private mutating func readToEnd() throws(HTTPClientError) -> [UInt8] {
        while !ended {
            guard available <= maxBodyBytes else { throw Self.tooLarge(maxBodyBytes) }
            try fill()
        }
        guard available <= maxBodyBytes else { throw Self.tooLarge(maxBodyBytes) }
        return take(available)
    }

    private mutating func readExactly(_ count: Int) throws(HTTPClientError) -> [UInt8] {
        while available < count {
            guard !ended else { throw Self.violation("the connection closed before the response was complete") }
            try fill()
        }
        return take(count)
    }

    // MARK: Buffer

    private var available: Int { buffer.count - start }

    /// The next line without its CRLF (or bare LF), charging its length to `budget`.
    private mutating func readLine(budget: inout Int) throws(HTTPClientError) -> Substring {
        var scanned = 0  // unread bytes already searched for LF
        while true {
            if let newline = buffer[(start + scanned)...].firstIndex(of: 0x0A) {
                let length = newline + 1 - start
                guard length <= budget else { throw Self.tooLarge(maxHeadBytes, what: "header") }
                budget -= length
                var line = take(length)
                line.removeLast()
                if line.last == 0x0D { line.removeLast() }
                return Substring(String(decoding: line, as: UTF8.self))
            }
            guard available <= budget else { throw Self.tooLarge(maxHeadBytes, what: "header") }
            guard !ended else { throw Self.violation("the connection closed before the response was complete") }
            scanned = available
            try fill()
        }
    }

    private mutating func take(_ count: Int) -> [UInt8] {
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return bytes
    }

    /// Reads once more from the source.
    private mutating func fill() throws(HTTPClientError) {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let source = self.source
        let count = try chunk.withUnsafeMutableBytes { raw in Result { () throws(HTTPClientError) in try source(raw) } }.get()
        if count == 0 { ended = true } else { buffer += chunk[..<count] }
    }

    private static func violation(_ what: String) -> HTTPClientError { HTTPClientError(.protocolViolation, "invalid HTTP response: \(what)") }

    private static func tooLarge(_ limit: Int, what: String = "body") -> HTTPClientError {
        HTTPClientError(.responseTooLarge, "the response \(what) is larger than \(limit) bytes")
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isASCIIHexDigit: Bool { isASCIIDigit || ("a"..."f").contains(self) || ("A"..."F").contains(self) }
}
