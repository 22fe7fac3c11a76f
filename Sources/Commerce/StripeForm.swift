/// A request body for Stripe's API: `application/x-www-form-urlencoded` with Stripe's bracket notation for nested
/// values (https://docs.stripe.com/api/request_body): an object's fields are `parent[field]`, a list's items are
/// `parent[0]`, `parent[1]`, …, so `line_items[0][price_data][currency]=eur`.
///
/// Fields keep the order they were added in. Names and values are percent-encoded byte by byte as UTF-8, keeping only
/// ASCII letters, digits and `-._~`, with a space as `+` — exactly what stripe-python sends (`urlencode`), brackets
/// included (`%5B`, `%5D`).
package struct StripeForm: Sendable, Equatable {
    /// A value in the form: text, a whole number, a nested object, or a list.
    package indirect enum Value: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case string(String)
        case integer(Int64)
        /// Fields in order; each becomes `parent[name]`.
        case object([Field])
        /// Items in order; each becomes `parent[index]`.
        case list([Value])

        package init(stringLiteral value: String) { self = .string(value) }
        package init(integerLiteral value: Int64) { self = .integer(value) }
    }

    /// A named value.
    package struct Field: Sendable, Equatable {
        package var name: String
        package var value: Value
        package init(_ name: String, _ value: Value) {
            self.name = name
            self.value = value
        }
    }

    /// The top-level fields, in order.
    package var fields: [Field]

    package init(_ fields: [Field] = []) {
        self.fields = fields
    }

    /// Appends a top-level field.
    package mutating func append(_ name: String, _ value: Value) {
        fields.append(Field(name, value))
    }

    /// Every leaf as a flat `(key, value)` pair with its bracketed key, in order, not yet percent-encoded. An empty
    /// object or list contributes nothing (Stripe reads an absent parameter as unset).
    package var pairs: [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        for field in fields { Self.flatten(field.value, key: field.name, into: &result) }
        return result
    }

    /// The encoded body: `key=value` pairs joined by `&`.
    package var encoded: String {
        pairs.map { Self.percentEncode($0.key) + "=" + Self.percentEncode($0.value) }.joined(separator: "&")
    }

    private static func flatten(_ value: Value, key: String, into result: inout [(key: String, value: String)]) {
        switch value {
        case .string(let text): result.append((key, text))
        case .integer(let number): result.append((key, String(number)))
        case .object(let fields):
            for field in fields { flatten(field.value, key: "\(key)[\(field.name)]", into: &result) }
        case .list(let items):
            for (index, item) in items.enumerated() { flatten(item, key: "\(key)[\(index)]", into: &result) }
        }
    }

    /// Percent-encodes `text` for a form body: UTF-8 bytes other than ASCII letters, digits and `-._~` become `%XX`
    /// (upper-case hex), a space becomes `+`.
    package static func percentEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            case UInt8(ascii: " "):
                bytes.append(UInt8(ascii: "+"))
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
