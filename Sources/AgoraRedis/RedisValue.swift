/// A Redis reply (RESP2). Error replies are thrown as `RedisError`, never returned.
public enum RedisValue: Sendable, Equatable {
    case null
    case integer(Int)
    /// A bulk string: binary-safe bytes.
    case bulk([UInt8])
    /// A status reply such as `OK` or `PONG`.
    case status(String)
    case array([RedisValue])

    /// The value as text: bulk strings (valid UTF-8) and status replies.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self)
        case .status(let status): status
        default: nil
        }
    }

    /// The value as an integer: integer replies, and bulk strings that hold one (`GET` of a counter).
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulk: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RedisValue]? {
        if case .array(let values) = self { values } else { nil }
    }

    /// True for a nil reply.
    public var isNull: Bool { self == .null }
}

/// An error from the Redis layer. `description` is for logs only.
public struct RedisError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case invalidConfiguration, connectionFailed, connectionClosed, server, poolTimeout, poolClosed, unexpectedReply
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The URL or settings cannot be used.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A connection could not be opened or authenticated.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection broke during a command; it is discarded and replaced.
        public static let connectionClosed = Code(.connectionClosed)
        /// Redis answered with an error reply (`ERR`, `WRONGTYPE`, `NOSCRIPT`, ...).
        public static let server = Code(.server)
        /// No connection became free within the checkout timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// The client is shut down.
        public static let poolClosed = Code(.poolClosed)
        /// A reply had a shape the caller did not expect.
        public static let unexpectedReply = Code(.unexpectedReply)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// Redis's error text (`WRONGTYPE Operation against a key ...`) or ours.
    public var message: String

    /// Makes an error.
    public init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The error prefix of a server error (`ERR`, `WRONGTYPE`, `NOSCRIPT`).
    public var prefix: String? {
        code == .server ? message.split(separator: " ", maxSplits: 1).first.map(String.init) : nil
    }

    public var description: String { "RedisError.\(code): \(message)" }
}

/// A value that can be a command argument.
public protocol RedisArgument: Sendable {
    /// The argument's bytes.
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Int: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { self }
}
