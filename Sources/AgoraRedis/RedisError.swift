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
