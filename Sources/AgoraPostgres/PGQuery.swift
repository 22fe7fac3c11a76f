/// A SQL statement with its parameters kept apart from the text.
///
/// Written with string interpolation: every interpolated value becomes a `$n` placeholder and a bind,
/// so SQL is never assembled from values.
/// ```swift
/// let rows = try await db.query("SELECT title FROM products WHERE id = \(id) AND price < \(max)", logger: logger)
/// ```
public struct PGQuery: Sendable, ExpressibleByStringInterpolation {
    /// The statement text with `$1…$n` placeholders.
    public private(set) var sql: String
    /// One bind per placeholder, in order.
    public private(set) var binds: [PGBind]

    /// A statement with explicit binds; `sql` must use `$1…$n` for them.
    public init(sql: String, binds: [PGBind] = []) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(sql: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(sql: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    /// Builds a query from literal SQL and bound values.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [PGBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds `value` as the next parameter.
        public mutating func appendInterpolation(_ value: some PGEncodable) {
            binds.append(value.pgBind)
            sql += "$\(binds.count)"
        }

        /// Splices in SQL text known at compile time, such as a shared column list. A `StaticString` cannot be built
        /// from runtime values, so this cannot carry input into the statement.
        public mutating func appendInterpolation(literal: StaticString) {
            sql += literal.description
        }

        /// Binds `value`, or NULL.
        public mutating func appendInterpolation(_ value: (some PGEncodable)?) {
            binds.append(value?.pgBind ?? .null)
            sql += "$\(binds.count)"
        }
    }
}
