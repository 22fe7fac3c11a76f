package import Foundation

/// Any JSON value: a client's request `id` (echoed as it came) and the fields of a topic update. Whole numbers are
/// `integer`, exact to 64 bits (ids, money in minor units and counts never pass through a `Double`); only a number
/// with a fraction or exponent outside `Int64` is a `number`. Client commands' `data` is not read through this: each
/// command decodes its own typed payload (`CommandData`).
package enum JSON: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The member `key` of an object; nil for anything else.
    package subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    package var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// A whole number that fits an `Int64`.
    package var int64: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    package var uuid: UUID? { string.flatMap(UUID.init(uuidString:)) }
}

/// Escapes `text` as a JSON string literal, quotes included.
func jsonString(_ text: String) -> String {
    var out = "\""
    out.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// The `id` a client gave a request, echoed in its `ack` or `error`: any JSON value, kept as it came (whole numbers
/// exactly).
package struct ClientRequestID: Sendable, Equatable, Codable {
    package let value: JSON

    package init(_ value: JSON) { self.value = value }

    package init(from decoder: any Decoder) throws { value = try JSON(from: decoder) }

    package func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
