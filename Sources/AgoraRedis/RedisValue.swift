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

/// An error from the Redis layer. `description` is for logs only.
package struct RedisError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case invalidConfiguration, connectionFailed, connectionClosed, server, poolTimeout, poolClosed, unexpectedReply
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The URL or settings cannot be used.
        package static let invalidConfiguration = Code(.invalidConfiguration)
        /// A connection could not be opened or authenticated.
        package static let connectionFailed = Code(.connectionFailed)
        /// The connection broke during a command; it is discarded and replaced.
        package static let connectionClosed = Code(.connectionClosed)
        /// Redis answered with an error reply (`ERR`, `WRONGTYPE`, `NOSCRIPT`, ...).
        package static let server = Code(.server)
        /// No connection became free within the checkout timeout.
        package static let poolTimeout = Code(.poolTimeout)
        /// The client is shut down.
        package static let poolClosed = Code(.poolClosed)
        /// A reply had a shape the caller did not expect.
        package static let unexpectedReply = Code(.unexpectedReply)

        package var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    package var code: Code
    /// Redis's error text (`WRONGTYPE Operation against a key ...`) or ours.
    package var message: String

    /// Makes an error.
    package init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The error prefix of a server error (`ERR`, `WRONGTYPE`, `NOSCRIPT`).
    package var prefix: String? {
        code == .server ? message.split(separator: " ", maxSplits: 1).first.map(String.init) : nil
    }

    package var description: String { "RedisError.\(code): \(message)" }
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
