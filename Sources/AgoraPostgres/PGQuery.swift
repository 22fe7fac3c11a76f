/// A SQL statement with its parameters kept apart from the text.
///
/// Written with string interpolation: every interpolated value becomes a `$n` placeholder and a bind,
/// so SQL is never assembled from values.
/// ```swift
/// let rows = try await db.query("SELECT title FROM products WHERE id = \(id) AND price < \(max)", logger: logger)
/// ```
/// Queries compose: `\(fragment: other)` or `append(_:)` splice another query in and renumber its placeholders,
/// so optional filters can be added one by one without ever concatenating values into the text.
package struct PGQuery: Sendable, ExpressibleByStringInterpolation {
    /// The statement text with `$1…$n` placeholders.
    package private(set) var sql: String
    /// One bind per placeholder, in order.
    package private(set) var binds: [PGBind]
    /// The UTF-8 offset in `sql` of each placeholder written by interpolation, so the query can be spliced into
    /// another and renumbered without parsing SQL. Nil when the text came with hand-numbered placeholders.
    private var placeholders: [Int]?

    /// A statement with explicit binds; `sql` must use `$1…$n` for them. Such a query cannot be spliced into another.
    package init(sql: String, binds: [PGBind] = []) {
        self.sql = sql
        self.binds = binds
        self.placeholders = binds.isEmpty ? [] : nil
    }

    package init(stringLiteral value: String) {
        self.init(sql: value)
    }

    package init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
        self.placeholders = stringInterpolation.placeholders
    }

    /// Appends `other`, renumbering its placeholders after this query's.
    package mutating func append(_ other: PGQuery) {
        guard let theirs = other.placeholders else {
            preconditionFailure("a PGQuery built with hand-numbered placeholders cannot be spliced into another")
        }
        var text = other.sql.utf8[...]
        var consumed = 0
        for (index, offset) in theirs.enumerated() {
            let start = text.index(text.startIndex, offsetBy: offset - consumed)
            sql += String(Substring(text[text.startIndex..<start]))
            // Skip the old "$k" and write the new number.
            var end = text.index(after: start)
            while end < text.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[end]) { end = text.index(after: end) }
            consumed = offset + text.distance(from: start, to: end)
            text = text[end...]
            binds.append(other.binds[index])
            placeholders?.append(sql.utf8.count)
            sql += "$\(binds.count)"
        }
        sql += String(Substring(text))
    }

    /// `parts` one after another, with `separator` between them.
    package static func joined(_ parts: [PGQuery], separator: StaticString) -> PGQuery {
        var query = PGQuery(sql: "")
        for (index, part) in parts.enumerated() {
            if index > 0 { query.append(PGQuery(stringLiteral: separator.description)) }
            query.append(part)
        }
        return query
    }

    /// Independent writes made by one statement: each of `writes` becomes a data-modifying CTE of `last`, so all of
    /// them cost one execution instead of one each. They share one snapshot, so none may depend on what another
    /// writes; only `last`'s rows come back, and `last` must not begin with a `WITH` of its own.
    package static func combining(_ writes: [PGQuery], into last: PGQuery) -> PGQuery {
        guard !writes.isEmpty else { return last }
        var query = PGQuery(sql: "WITH ")
        for (index, write) in writes.enumerated() {
            query.append(PGQuery(sql: index == 0 ? "w0 AS (" : ", w\(index) AS ("))
            query.append(write)
            query.append(PGQuery(sql: ")"))
        }
        query.append(PGQuery(sql: "\n"))
        query.append(last)
        return query
    }

    /// Builds a query from literal SQL and bound values.
    package struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [PGBind] = []
        var placeholders: [Int] = []

        package init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        package mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        private mutating func bind(_ bind: PGBind) {
            binds.append(bind)
            placeholders.append(sql.utf8.count)
            sql += "$\(binds.count)"
        }

        /// Binds `value` as the next parameter.
        package mutating func appendInterpolation(_ value: some PGEncodable) {
            bind(value.pgBind)
        }

        /// Splices in SQL text known at compile time, such as a shared column list. A `StaticString` cannot be built
        /// from runtime values, so this cannot carry input into the statement.
        package mutating func appendInterpolation(literal: StaticString) {
            sql += literal.description
        }

        /// Binds `value`, or NULL.
        package mutating func appendInterpolation(_ value: (some PGEncodable)?) {
            bind(value?.pgBind ?? .null)
        }

        /// Splices in another query (a filter, an ORDER BY), renumbering its placeholders.
        package mutating func appendInterpolation(fragment: PGQuery) {
            var query = PGQuery(sql: sql, binds: [])
            query.sql = sql
            query.binds = binds
            query.placeholders = placeholders
            query.append(fragment)
            sql = query.sql
            binds = query.binds
            placeholders = query.placeholders ?? []
        }
    }
}
