/// A Redis reply (RESP2). Error replies are thrown as `RedisError`, never returned.
package enum RedisValue: Sendable, Equatable {
    case null
    case integer(Int)
    /// A bulk string: binary-safe bytes.
    case bulk([UInt8])
    /// A status reply such as `OK` or `PONG`.
    case status(String)
    case array([RedisValue])

    /// The value as text: bulk strings (valid UTF-8) and status replies.
    package var string: String? {
        switch self {
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self)
        case .status(let status): status
        default: nil
        }
    }

    /// The value as an integer: integer replies, and bulk strings that hold one (`GET` of a counter).
    package var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulk: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array reply.
    package var array: [RedisValue]? {
        if case .array(let values) = self { values } else { nil }
    }

    /// True for a nil reply.
    package var isNull: Bool { self == .null }
}

/// A value that can be a command argument.
package protocol RedisArgument: Sendable {
    /// The argument's bytes.
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    package var redisBytes: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgument {
    package var redisBytes: [UInt8] { Array(utf8) }
}

extension Int: RedisArgument {
    package var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgument {
    package var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    package var redisBytes: [UInt8] { self }
}
