import AgoraCrypto
package import Foundation

// A mail as bytes on the wire: RFC 5322 headers, MIME (RFC 2045) text/plain in quoted-printable, so the message
// is 7-bit clean and every line is under 78 characters whatever the text holds; RFC 2047 encoded words for
// non-ASCII subjects and names.
extension Mail {
    /// The message with CRLF line endings, ready for SMTP DATA (before dot-stuffing).
    /// - Parameters:
    ///   - date: the `Date` header.
    ///   - messageID: the `Message-ID` without angle brackets; a random one at the sender's domain by default.
    package func rfc5322(date: Date = .now, messageID: String? = nil) -> [UInt8] {
        let id = messageID ?? "\(SecureRandom.token(byteCount: 18))@\(from.domain)"
        var headers = [
            "Date: \(Self.rfc5322Date(date))",
            "From: \(Self.header(address: from))",
            "To: \(Self.header(address: to))",
            "Subject: \(Self.encodedWords(subject))",
            "Message-ID: <\(id)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        ]
        headers.append("")
        var bytes = Array(headers.joined(separator: "\r\n").utf8)
        bytes += [0x0D, 0x0A]
        bytes += Self.quotedPrintable(text)
        return bytes
    }

    /// `Name <address>` with the name quoted or encoded as needed.
    static func header(address: MailAddress) -> String {
        guard let name = address.displayName else { return address.address }
        let plain = name.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" }
        return (plain ? "\"\(name)\"" : encodedWords(name)) + " <\(address.address)>"
    }

    /// `text` as is when it is printable ASCII, else RFC 2047 `=?utf-8?b?…?=` words of at most 75 characters
    /// that never split a character, folded onto continuation lines.
    static func encodedWords(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }), !text.contains("=?") {
            return text
        }
        // 75 - len("=?utf-8?b?" + "?=") = 63 base64 characters = 45 bytes of text.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45, !chunk.isEmpty {
                words.append("=?utf-8?b?\(Base64.encode(chunk))?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?b?\(Base64.encode(chunk))?=") }
        return words.joined(separator: "\r\n ")
    }

    /// RFC 2045 §6.7 quoted-printable of `text` with CRLF line breaks; output lines are at most 76 characters.
    static func quotedPrintable(_ text: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            var lineLength = 0
            let bytes = Array(line.utf8)
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                // Trailing whitespace must be encoded (transports may strip it); so must `=` and non-printables.
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !isLast)
                let piece: [UInt8] = literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                // Leave room for the soft break `=` so no line exceeds 76.
                if lineLength + piece.count > 75 {
                    out += [UInt8(ascii: "="), 0x0D, 0x0A]
                    lineLength = 0
                }
                out += piece
                lineLength += piece.count
            }
            out += [0x0D, 0x0A]
        }
        return out
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
