/// An error from the PostgreSQL layer.
///
/// `description` is for logs and never reaches a client: the HTTP layer maps errors to its own messages.
public struct PGError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case invalidConfiguration, connectionFailed, connectionClosed, server, poolTimeout, poolClosed
            case unexpectedNull, typeMismatch, missingColumn, invalidValue, migration
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configuration or URL cannot be used.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A connection could not be opened.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection broke during a call; it is discarded and replaced.
        public static let connectionClosed = Code(.connectionClosed)
        /// PostgreSQL answered with an error; see `sqlState`.
        public static let server = Code(.server)
        /// No connection became free within the checkout timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// The pool is shut down.
        public static let poolClosed = Code(.poolClosed)
        /// A NULL was decoded into a non-optional.
        public static let unexpectedNull = Code(.unexpectedNull)
        /// A column's PostgreSQL type cannot be decoded as the requested Swift type.
        public static let typeMismatch = Code(.typeMismatch)
        /// The row has no column of that name.
        public static let missingColumn = Code(.missingColumn)
        /// The bytes of a value are not what its type promises.
        public static let invalidValue = Code(.invalidValue)
        /// A migration cannot be applied, or an applied one has changed.
        public static let migration = Code(.migration)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The server's message, or ours.
    public var message: String
    /// SQLSTATE of a server error, e.g. `23505` for a unique violation.
    public var sqlState: String?
    /// The constraint a server error names, if any.
    public var constraint: String?
    /// The server's DETAIL line, if any.
    public var detail: String?
    /// The column a decoding error is about.
    public var column: String?

    /// Makes an error.
    public init(_ code: Code, message: String, sqlState: String? = nil, constraint: String? = nil, detail: String? = nil, column: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.constraint = constraint
        self.detail = detail
        self.column = column
    }

    /// SQLSTATE 23505.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// SQLSTATE 23503.
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// SQLSTATE 40001 or 40P01: the transaction may succeed if retried.
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    public var description: String {
        var parts = ["PGError.\(code): \(message)"]
        if let sqlState { parts.append("sqlstate=\(sqlState)") }
        if let constraint { parts.append("constraint=\(constraint)") }
        if let column { parts.append("column=\(column)") }
        return parts.joined(separator: " ")
    }
}
