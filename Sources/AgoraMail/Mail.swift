import Foundation

/// An email address with an optional display name, checked so that it cannot break out of a header or an SMTP
/// command (no CR, LF, `<`, `>`, spaces or non-ASCII in the address itself).
package struct MailAddress: Sendable, Equatable, CustomStringConvertible {
    /// `local@domain`.
    package var address: String
    /// Shown by mail clients, e.g. `Agora`.
    package var displayName: String?

    /// - Throws: `MailError.invalidAddress`.
    package init(_ address: String, displayName: String? = nil) throws(MailError) {
        let address = address.trimmingCharacters(in: .whitespaces)
        guard Self.isAcceptable(address) else { throw .invalidAddress(address) }
        if let displayName, displayName.contains(where: { $0.isNewline }) { throw .invalidAddress(displayName) }
        self.address = address
        self.displayName = displayName.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Parses `Name <local@domain>` or a bare `local@domain`.
    package init(parsing text: String) throws(MailError) {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix(">"), let open = text.lastIndex(of: "<") {
            var name = text[..<open].trimmingCharacters(in: .whitespaces)
            if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") { name = String(name.dropFirst().dropLast()) }
            try self.init(String(text[text.index(after: open)..<text.index(before: text.endIndex)]), displayName: name)
        } else {
            try self.init(text)
        }
    }

    /// The part after `@`, for Message-IDs.
    package var domain: String { address.split(separator: "@").last.map(String.init) ?? "localhost" }

    package var description: String { displayName.map { "\($0) <\(address)>" } ?? address }

    /// Printable ASCII without the characters SMTP and headers give a meaning to, one `@` with text on both sides.
    static func isAcceptable(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard (3...254).contains(bytes.count), bytes.filter({ $0 == UInt8(ascii: "@") }).count == 1,
            bytes.first != UInt8(ascii: "@"), bytes.last != UInt8(ascii: "@")
        else { return false }
        let forbidden: Set<UInt8> = [UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ","), UInt8(ascii: "\""), UInt8(ascii: "\\")]
        return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && !forbidden.contains($0) }
    }
}

/// One plain-text mail to one recipient.
package struct Mail: Sendable, Equatable {
    package var from: MailAddress
    package var to: MailAddress
    package var subject: String
    /// The body; any newline convention, any Unicode.
    package var text: String

    package init(from: MailAddress, to: MailAddress, subject: String, text: String) {
        self.from = from
        self.to = to
        self.subject = Self.oneLine(subject)
        self.text = text
    }

    /// A header value cannot hold a line break; folding each into a space keeps what was meant.
    package static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// What can go wrong building or sending a mail.
package enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidAddress(String)

    package var description: String {
        switch self {
        case .invalidAddress(let text): "not a usable email address: \(text.prefix(100))"
        }
    }
}
