import AgoraCore
import Foundation

/// The rules for account fields, shared by registration, profile edits and password changes.
package enum AccountValidation {
    /// Usernames that would be confusing or collide with paths.
    static let reservedUsernames: Set<String> = [
        "admin", "administrator", "agora", "api", "help", "login", "logout", "me", "moderator", "null", "register",
        "root", "settings", "signup", "staff", "support", "system", "undefined", "users", "www",
    ]
    package static let passwordMinLength = 10
    /// bcrypt reads at most 72 bytes; longer passwords would silently share a hash with their first 72 bytes.
    package static let passwordMaxBytes = 72

    /// A normalized email (domain lower-cased) or the reason it is not one.
    ///
    /// Deliberately practical rather than all of RFC 5322: dot-atom local parts and DNS host names, which is what
    /// mail providers hand out; quoted local parts and address literals are refused.
    package static func email(_ raw: String) -> Result<String, Problem> {
        let email = raw.trimmingCharacters(in: .whitespaces)
        guard !email.isEmpty else { return .failure("is required") }
        guard email.utf8.count <= 254 else { return .failure("must be at most 254 characters") }
        guard let at = email.lastIndex(of: "@") else { return .failure("must be an email address") }
        let local = email[..<at]
        let domain = email[email.index(after: at)...].lowercased()
        let localAllowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-")
        guard (1...64).contains(local.utf8.count), local.allSatisfy(localAllowed.contains), !local.hasPrefix("."),
            !local.hasSuffix("."), !local.contains("..")
        else { return .failure("must be an email address") }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        let labelAllowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        guard labels.count >= 2,
            labels.allSatisfy({ (1...63).contains($0.count) && $0.allSatisfy(labelAllowed.contains) && $0.first != "-" && $0.last != "-" }),
            let tld = labels.last, tld.count >= 2, tld.contains(where: \.isLetter)
        else { return .failure("must be an email address with a valid domain") }
        return .success(local + "@" + domain)
    }

    /// A normalized (lower-case) username or the reason it is not one: 3–30 letters, digits or underscores,
    /// starting with a letter.
    package static func username(_ raw: String) -> Result<String, Problem> {
        let username = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard !username.isEmpty else { return .failure("is required") }
        guard (3...30).contains(username.count) else { return .failure("must be 3 to 30 characters") }
        guard let first = username.unicodeScalars.first, ("a"..."z").contains(first),
            username.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else { return .failure("may contain only letters, digits and underscores, and must start with a letter") }
        guard !reservedUsernames.contains(username) else { return .failure("is reserved") }
        return .success(username)
    }

    /// Why `password` may not be used, or nil; `email` and `username` are what it must not equal.
    package static func passwordProblem(_ password: String, email: String?, username: String?) -> Problem? {
        guard password.count >= passwordMinLength else { return "must be at least \(passwordMinLength) characters" }
        guard password.utf8.count <= passwordMaxBytes else { return "must be at most \(passwordMaxBytes) bytes" }
        // bcrypt takes a C string: a NUL would end the password early.
        guard !password.unicodeScalars.contains("\0") else { return "must not contain a NUL character" }
        let lowered = password.lowercased()
        if let email, lowered == email.lowercased() { return "must not be your email address" }
        if let username, lowered == username.lowercased() { return "must not be your username" }
        return nil
    }

    /// A trimmed single-line name of `range` characters, or the reason it is not one (`TextPolicy.singleLine`).
    package static func line(_ raw: String, _ range: ClosedRange<Int>) -> Result<String, Problem> {
        TextPolicy.singleLine(raw, range).mapError { Problem($0.description) }
    }

    /// A trimmed multi-line text of at most `max` characters (`TextPolicy.multiLine`).
    package static func text(_ raw: String, max: Int) -> Result<String, Problem> {
        TextPolicy.multiLine(raw, max: max).mapError { Problem($0.description) }
    }

    /// An avatar reference: an `https` URL, or a path on this server under `/media/` (uploads).
    package static func avatarURL(_ raw: String) -> Result<String, Problem> {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard text.utf8.count <= 2048 else { return .failure("must be at most 2048 characters") }
        if text.hasPrefix("/media/"), !text.contains(".."), URL(string: text) != nil { return .success(text) }
        guard let url = URL(string: text), url.scheme?.lowercased() == "https", let host = url.host, !host.isEmpty,
            url.user == nil
        else { return .failure("must be an https URL or a /media/ path") }
        return .success(text)
    }

    /// A validation message, e.g. "must be at least 10 characters".
    package struct Problem: Error, Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
        package var description: String
        package init(stringLiteral value: String) { description = value }
        package init(_ value: String) { description = value }
    }
}

extension Result where Failure == AccountValidation.Problem {
    /// The value, or nil after recording the problem under `field`.
    func value(_ field: String, into errors: inout FieldErrors) -> Success? {
        switch self {
        case .success(let value): return value
        case .failure(let problem):
            errors.add(field, problem.description)
            return nil
        }
    }
}
