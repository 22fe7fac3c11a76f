/// One entry of a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1): a name and its parameters, in order.
public struct WebSocketExtension: Sendable, Equatable {
    /// `permessage-deflate`, say; compared case-insensitively by the caller.
    public var name: String
    /// Parameters in order; `value` is nil for a bare parameter, and unquoted when it was a quoted-string.
    public var parameters: [(name: String, value: String?)]

    public init(name: String, parameters: [(name: String, value: String?)]) {
        self.name = name
        self.parameters = parameters
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.name == rhs.name && lhs.parameters.elementsEqual(rhs.parameters) { $0.name == $1.name && $0.value == $1.value }
    }

    /// Parses every value of the header, in order (several header fields read as one comma-separated list).
    ///
    /// - Returns: nil when any part breaks the grammar of §9.1: names and values are tokens (RFC 7230 §3.2.6), a
    ///   value may be a quoted-string whose unescaped content is itself a token.
    public static func parse(_ values: [String]) -> [WebSocketExtension]? {
        var extensions: [WebSocketExtension] = []
        for value in values {
            guard let items = split(value, on: ",") else { return nil }
            for item in items {
                let trimmed = trim(item)
                if trimmed.isEmpty { continue }  // `1#element` allows empty list elements
                guard let pieces = split(trimmed, on: ";") else { return nil }
                let name = trim(pieces[0])
                guard isToken(name) else { return nil }
                var parameters: [(String, String?)] = []
                for piece in pieces.dropFirst() {
                    let parameter = trim(piece)
                    guard let equals = parameter.firstIndex(of: "=") else {
                        guard isToken(parameter) else { return nil }
                        parameters.append((parameter, nil))
                        continue
                    }
                    let key = trim(Substring(parameter[..<equals]))
                    var raw = trim(Substring(parameter[parameter.index(after: equals)...]))
                    if raw.hasPrefix("\"") {
                        guard let unquoted = unquote(raw) else { return nil }
                        raw = unquoted
                    }
                    guard isToken(key), isToken(raw) else { return nil }
                    parameters.append((key, raw))
                }
                extensions.append(WebSocketExtension(name: name, parameters: parameters))
            }
        }
        return extensions
    }

    /// The entry as it goes in a header: `name; a; b=1`.
    public var headerValue: String {
        ([name] + parameters.map { parameter in parameter.value.map { "\(parameter.name)=\($0)" } ?? parameter.name }).joined(separator: "; ")
    }

    /// Splits on `separator` outside quoted-strings; nil for an unterminated quote.
    private static func split(_ text: some StringProtocol, on separator: Character) -> [Substring]? {
        let text = Substring(text)
        var parts: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        var quoted = false
        while index < text.endIndex {
            let character = text[index]
            if quoted {
                if character == "\\" {
                    index = text.index(after: index)
                    guard index < text.endIndex else { return nil }
                } else if character == "\"" {
                    quoted = false
                }
            } else if character == "\"" {
                quoted = true
            } else if character == separator {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        guard !quoted else { return nil }
        parts.append(text[start...])
        return parts
    }

    /// The content of a quoted-string (`"…"` with `\` escapes), or nil when `text` is not exactly one.
    private static func unquote(_ text: String) -> String? {
        var result = ""
        var iterator = text.dropFirst().makeIterator()
        while let character = iterator.next() {
            switch character {
            case "\\":
                guard let escaped = iterator.next() else { return nil }
                result.append(escaped)
            case "\"":
                return iterator.next() == nil ? result : nil
            default:
                result.append(character)
            }
        }
        return nil
    }

    private static func trim(_ text: some StringProtocol) -> String {
        String(text).trimmingASCIIWhitespace()
    }

    /// RFC 7230 §3.2.6: 1*tchar.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }
}
