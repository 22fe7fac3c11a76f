/// An error from the PostgreSQL layer.
///
/// `description` is generic, like postgres-nio's `PSQLError`: the server's message (which may quote the values of a
/// row, e.g. a unique violation's key) is only in `debugDescription`, for logs that ask for it with
/// `String(reflecting:)`. Neither ever reaches a client: the HTTP layer maps errors to its own messages.
package struct PGError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// What kind of failure this is.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case invalidConfiguration, connectionFailed, connectionClosed, server, poolTimeout, poolClosed
            case unexpectedNull, typeMismatch, missingColumn, invalidValue, migration
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configuration or URL cannot be used.
        package static let invalidConfiguration = Code(.invalidConfiguration)
        /// A connection could not be opened.
        package static let connectionFailed = Code(.connectionFailed)
        /// The connection broke during a call; it is discarded and replaced.
        package static let connectionClosed = Code(.connectionClosed)
        /// PostgreSQL answered with an error; see `sqlState`.
        package static let server = Code(.server)
        /// No connection became free within the checkout timeout.
        package static let poolTimeout = Code(.poolTimeout)
        /// The pool is shut down.
        package static let poolClosed = Code(.poolClosed)
        /// A NULL was decoded into a non-optional.
        package static let unexpectedNull = Code(.unexpectedNull)
        /// A column's PostgreSQL type cannot be decoded as the requested Swift type.
        package static let typeMismatch = Code(.typeMismatch)
        /// The row has no column of that name.
        package static let missingColumn = Code(.missingColumn)
        /// The bytes of a value are not what its type promises.
        package static let invalidValue = Code(.invalidValue)
        /// A migration cannot be applied, or an applied one has changed.
        package static let migration = Code(.migration)

        package var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    package var code: Code
    /// The server's message, or ours.
    package var message: String
    /// SQLSTATE of a server error, e.g. `23505` for a unique violation.
    package var sqlState: String?
    /// The constraint a server error names, if any.
    package var constraint: String?
    /// The server's DETAIL line, if any.
    package var detail: String?
    /// The column a decoding error is about.
    package var column: String?

    /// Makes an error.
    package init(_ code: Code, message: String, sqlState: String? = nil, constraint: String? = nil, detail: String? = nil, column: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.constraint = constraint
        self.detail = detail
        self.column = column
    }

    /// SQLSTATE 23505.
    package var isUniqueViolation: Bool { sqlState == "23505" }
    /// SQLSTATE 23503.
    package var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// SQLSTATE 40001 or 40P01: the transaction may succeed if retried.
    package var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// The code, SQLSTATE, constraint and column; our own message too, except for the server's errors.
    package var description: String {
        var parts = [code == .server ? "PGError.\(code)" : "PGError.\(code): \(message)"]
        if let sqlState { parts.append("sqlstate=\(sqlState)") }
        if let constraint { parts.append("constraint=\(constraint)") }
        if let column { parts.append("column=\(column)") }
        return parts.joined(separator: " ")
    }

    /// Everything, the server's message and DETAIL line included: for logs, never for clients.
    package var debugDescription: String {
        var parts = ["PGError.\(code): \(message)"]
        if let sqlState { parts.append("sqlstate=\(sqlState)") }
        if let constraint { parts.append("constraint=\(constraint)") }
        if let column { parts.append("column=\(column)") }
        if let detail { parts.append("detail=\(detail)") }
        return parts.joined(separator: " ")
    }
}
