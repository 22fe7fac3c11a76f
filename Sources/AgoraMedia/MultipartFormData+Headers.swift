import AgoraCore

extension MultipartFormData {
    /// The boundary of a `multipart/form-data` content type, or nil if it is another type or names no valid boundary.
    ///
    /// Type and parameter names are case-insensitive, the boundary may be quoted, and it must be 1–70 characters of
    /// the RFC 2046 §5.1.1 set.
    /// - Parameter contentType: the request's `Content-Type` header.
    package static func boundary(fromContentType contentType: String) -> String? {
        guard let header = HeaderValue(contentType), header.value.lowercased() == "multipart/form-data" else { return nil }
        guard let boundary = header.parameters["boundary"], isValidBoundary(boundary) else { return nil }
        return boundary
    }

    /// RFC 2046 `boundary := 0*69<bchars> bcharsnospace`, and at least one character.
    static func isValidBoundary(_ boundary: String) -> Bool {
        let bytes = Array(boundary.utf8)
        guard (1...70).contains(bytes.count), bytes.last != 32 else { return false }
        return bytes.allSatisfy { c in
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            default: Array("'()+_,-./:=? ".utf8).contains(c)
            }
        }
    }
}

/// The headers of one part that a form needs: its field name, file name and declared type.
struct PartHeaders {
    var name: String
    var filename: String?
    var contentType: String?

    /// Parses a part's header lines, each ending in CRLF.
    init(lines bytes: UnsafeBufferPointer<UInt8>) throws(AgoraError) {
        // Browsers send file names as raw UTF-8 (RFC 7578 §5.1.3), so the headers are decoded as UTF-8, strictly.
        guard let text = String(validating: bytes, as: UTF8.self) else { throw MultipartFormData.invalid("a part's headers are not UTF-8") }
        var disposition: HeaderValue?
        var contentType: String?
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            // Folded continuation lines are obsolete (RFC 9112 §5.2) and RFC 7578 never needs them.
            if line.first == " " || line.first == "\t" { throw MultipartFormData.invalid("folded header lines are not allowed") }
            if line.contains("\r") || line.contains("\n") { throw MultipartFormData.invalid("a header line has a bare CR or LF") }
            guard let colon = line.firstIndex(of: ":") else { throw MultipartFormData.invalid("a header line has no colon") }
            let name = line[..<colon]
            guard !name.isEmpty, name.utf8.allSatisfy(HeaderValue.isTokenByte) else {
                throw MultipartFormData.invalid("a header name is not a token")
            }
            let value = String(line[line.index(after: colon)...]).trimmingSpaces()
            switch name.lowercased() {
            case "content-disposition":
                guard disposition == nil else { throw MultipartFormData.invalid("a part has two Content-Disposition headers") }
                guard let parsed = HeaderValue(value) else { throw MultipartFormData.invalid("a Content-Disposition header is malformed") }
                disposition = parsed
            case "content-type":
                contentType = value
            default:
                break  // Content-Transfer-Encoding and the like: RFC 7578 §4.7 retires them, so they change nothing
            }
        }
        guard let disposition else { throw MultipartFormData.invalid("a part has no Content-Disposition header") }
        guard disposition.value.lowercased() == "form-data" else { throw MultipartFormData.invalid("a part's Content-Disposition is not form-data") }
        guard let name = disposition.parameters["name"] else { throw MultipartFormData.invalid("a part has no field name") }
        self.name = name
        self.contentType = contentType
        // RFC 7578 §4.2 says senders should not use `filename*`, but when one does, its UTF-8 is the better name.
        let filename = disposition.parameters["filename*"].flatMap(HeaderValue.decodeExtended) ?? disposition.parameters["filename"]
        self.filename = filename.map(Self.lastPathComponent)
    }

    /// The part of a file name after its last `/` or `\`: old browsers send `C:\Users\…\photo.jpg`.
    static func lastPathComponent(_ filename: String) -> String {
        guard let cut = filename.lastIndex(where: { $0 == "/" || $0 == "\\" }) else { return filename }
        return String(filename[filename.index(after: cut)...])
    }
}
