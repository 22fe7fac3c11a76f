/// A header value with parameters, such as `form-data; name="photo"; filename="a.jpg"` or
/// `multipart/form-data; boundary=xyz` (RFC 9110 §5.6.6 parameters, RFC 6266 for `filename*`).
struct HeaderValue {
    /// The part before the first `;`, trimmed; compare it case-insensitively.
    var value: String
    /// Parameters by lowercased name; the first of a repeated name wins.
    var parameters: [String: String]

    /// Parses `text`, or returns nil for a malformed parameter list (a missing `=`, an unterminated quote).
    init?(_ text: String) {
        let b = Array(text.utf8)
        var i = 0
        func skipSpace() { while i < b.count, b[i] == 32 || b[i] == 9 { i += 1 } }

        let valueEnd = b.firstIndex(of: UInt8(ascii: ";")) ?? b.count
        value = String(decoding: b[0..<valueEnd], as: UTF8.self).trimmingSpaces()
        parameters = [:]
        i = valueEnd
        while i < b.count {
            guard b[i] == UInt8(ascii: ";") else { return nil }
            i += 1
            skipSpace()
            if i == b.count { break }  // a trailing `;` is harmless
            let nameStart = i
            while i < b.count, Self.isTokenByte(b[i]) { i += 1 }
            guard i > nameStart else { return nil }
            let name = String(decoding: b[nameStart..<i], as: UTF8.self).lowercased()
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "=") else { return nil }
            i += 1
            skipSpace()
            var raw: [UInt8] = []
            if i < b.count, b[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < b.count {
                    let c = b[i]
                    i += 1
                    if c == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    // Browsers send `\` in file names unescaped (WHATWG only percent-encodes `"`, CR and LF), so a
                    // backslash escapes only a quote or a backslash and is otherwise a plain character.
                    if c == UInt8(ascii: "\\"), i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "\\") {
                        raw.append(b[i])
                        i += 1
                    } else {
                        raw.append(c)
                    }
                }
                guard closed else { return nil }
            } else {
                let start = i
                while i < b.count, b[i] != UInt8(ascii: ";"), b[i] != 32, b[i] != 9 { i += 1 }
                guard i > start else { return nil }
                raw = Array(b[start..<i])
            }
            if parameters[name] == nil { parameters[name] = String(decoding: raw, as: UTF8.self) }
            skipSpace()
        }
    }

    /// An RFC 8187 extended value (`UTF-8''na%C3%AFve.jpg`) decoded, or nil if it is not UTF-8 or not well formed.
    static func decodeExtended(_ text: String) -> String? {
        let pieces = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0].lowercased() == "utf-8" else { return nil }
        var out: [UInt8] = []
        var bytes = pieces[2].utf8.makeIterator()
        while let c = bytes.next() {
            guard c == UInt8(ascii: "%") else {
                out.append(c)
                continue
            }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else { return nil }
            out.append(high << 4 | low)
        }
        return String(validating: out, as: UTF8.self)
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (header whitespace, RFC 9110 §5.6.3).
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
