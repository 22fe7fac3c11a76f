import Accounts
import AgoraCore
import Catalog
import Foundation
import HummingbirdCore

/// Agora's edge, as a route meets a request: the URI through Hummingbird's `URI` and the rule of
/// `TextEdge`, the body through `AgoraJSONDecoder.refuseNUL(in:)`, `JSONDecoder` into the real input types,
/// their checks and `TextPolicy`. The input types are the package-visible ones (Catalog, Accounts); Commerce's and
/// Chat's are private to their route files, and their strings still meet refuseNUL and TextPolicy here. Each function crashes (and so reports to libFuzzer) only on a broken invariant;
/// every `throw` on the way is an answer the client gets, which is fine.
enum EdgeCheck {
    // MARK: URI

    /// `TextEdge` searches the raw URI for "%00" only: that must be the only way a query parameter can
    /// decode to a NUL.
    static func uri(_ target: String) {
        let uri = URI(target)
        _ = uri.path
        let parameters = uri.queryParameters
        if !target.contains("%00") {
            for (name, value) in parameters {
                precondition(!TextPolicy.containsNUL(name) && !TextPolicy.containsNUL(value), "a query parameter decodes to NUL without %00 in \(target)")
            }
        }
    }

    // MARK: Body

    /// The body through every JSON input a route decodes.
    static func body(_ bytes: [UInt8]) {
        do {
            try AgoraJSONDecoder.refuseNUL(in: bytes)
        } catch {
            // Refused with a 422 that names the field: nothing further reaches a handler.
            precondition(!error.fields.isEmpty, "a NUL refusal names no field")
            return
        }
        let data = Data(bytes)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601

        if let value = try? decoder.decode(JSONValue.self, from: data) {
            // What refuseNUL let through must hold no NUL anywhere, keys included.
            var strings: [String] = []
            value.collectStrings(into: &strings)
            for string in strings {
                precondition(!TextPolicy.containsNUL(string), "refuseNUL let a NUL through")
                Self.text(string)
            }
        }
        if let product = try? decoder.decode(ProductInput.self, from: data) {
            _ = try? ProductValidation.check(product, creating: true)
            _ = try? ProductValidation.check(product, creating: false)
        }
        if let registration = try? decoder.decode(AccountsService.Registration.self, from: data) {
            Self.registration(registration)
        }
        _ = try? decoder.decode(CategoryInput.self, from: data)
        _ = try? decoder.decode(ProfileUpdate.self, from: data)
    }

    // MARK: Field rules

    /// Every accepted value is already in its normal form: checking it again gives it back unchanged.
    static func registration(_ input: AccountsService.Registration) {
        let email = input.email.flatMap { try? AccountValidation.email($0).get() }
        let username = input.username.flatMap { try? AccountValidation.username($0).get() }
        if let email { precondition((try? AccountValidation.email(email).get()) == email, "email normalisation is not idempotent") }
        if let username { precondition((try? AccountValidation.username(username).get()) == username, "username normalisation is not idempotent") }
        if let password = input.password, AccountValidation.passwordProblem(password, email: email, username: username) == nil {
            precondition(password.utf8.count <= AccountValidation.passwordMaxBytes && !password.utf8.contains(0), "an unusable password was accepted")
        }
    }

    /// `TextPolicy` on one string from a body: names, free text and avatar references.
    static func text(_ raw: String) {
        if case .success(let name) = TextPolicy.singleLine(raw, 1...120) {
            precondition(TextPolicy.nameProblem(name) == nil && (1...120).contains(name.count), "singleLine accepted a bad name")
            precondition((try? TextPolicy.singleLine(name, 1...120).get()) == name, "singleLine is not idempotent")
        }
        if case .success(let text) = TextPolicy.multiLine(raw, max: 5000) {
            precondition(text.count <= 5000, "multiLine accepted too long a text")
            precondition(
                !text.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" },
                "multiLine accepted a control character"
            )
            precondition((try? TextPolicy.multiLine(text, max: 5000).get()) == text, "multiLine is not idempotent")
        }
        _ = AccountValidation.avatarURL(raw)
        _ = AccountValidation.email(raw)
        _ = AccountValidation.username(raw)
    }
}

/// Any JSON value, decoded by the same `JSONDecoder` the routes use, so every string a handler could see is reachable.
enum JSONValue: Decodable {
    case string(String), number(Double), bool(Bool), null
    indirect case array([JSONValue])
    indirect case object([(key: String, value: JSONValue)])

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            self = .object(try object.allKeys.map { ($0.stringValue, try object.decode(JSONValue.self, forKey: $0)) })
        } else if var array = try? decoder.unkeyedContainer() {
            var values: [JSONValue] = []
            while !array.isAtEnd { values.append(try array.decode(JSONValue.self)) }
            self = .array(values)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let value = try? single.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? single.decode(Double.self) {
                self = .number(value)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    func collectStrings(into strings: inout [String]) {
        switch self {
        case .string(let text): strings.append(text)
        case .number, .bool, .null: break
        case .array(let values): for value in values { value.collectStrings(into: &strings) }
        case .object(let members):
            for (key, value) in members {
                strings.append(key)
                value.collectStrings(into: &strings)
            }
        }
    }
}
