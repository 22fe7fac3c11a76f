/// One value of a result row, in PostgreSQL's binary format, with what it takes to decode it.
package struct PGCell: Sendable {
    /// The column's name.
    package let column: String
    /// The column's type OID.
    package let type: UInt32
    /// The value's bytes, or nil for NULL.
    package let bytes: [UInt8]?

    /// The bytes, or `unexpectedNull` naming the column.
    package func requireBytes() throws(PGError) -> [UInt8] {
        guard let bytes else {
            throw PGError(.unexpectedNull, message: "column '\(column)' is NULL; decode it as an Optional", column: column)
        }
        return bytes
    }

    /// A type mismatch naming the column, the PostgreSQL type and the Swift type.
    package func mismatch(_ swiftType: String) -> PGError {
        PGError(.typeMismatch, message: "column '\(column)' of type oid \(type) cannot be decoded as \(swiftType)", column: column)
    }

    /// A malformed value in this column.
    package func invalid(_ why: String) -> PGError {
        PGError(.invalidValue, message: "column '\(column)': \(why)", column: column)
    }
}

/// A row of a result. Column names are shared by every row of the result.
package struct PGRow: Sendable {
    let columns: PGColumns
    let values: [[UInt8]?]

    /// The number of columns.
    package var count: Int { values.count }

    /// The cell of the named column.
    /// - Throws: `missingColumn` when the result has no such column.
    package func cell(_ name: String) throws(PGError) -> PGCell {
        guard let index = columns.index[name] else {
            throw PGError(.missingColumn, message: "result has no column '\(name)'", column: name)
        }
        return cell(at: index)
    }

    /// The cell at a position (0-based).
    package func cell(at index: Int) -> PGCell {
        PGCell(column: columns.names[index], type: columns.types[index], bytes: values[index])
    }

    /// Decodes the named column.
    package func decode<T: PGDecodable>(_ name: String, as type: T.Type = T.self) throws(PGError) -> T {
        try T(pgCell: cell(name))
    }

    /// Decodes the column at a position (0-based).
    package func decode<T: PGDecodable>(column index: Int, as type: T.Type = T.self) throws(PGError) -> T {
        try T(pgCell: cell(at: index))
    }
}

/// Names and types of a result's columns.
final class PGColumns: Sendable {
    let names: [String]
    let types: [UInt32]
    let index: [String: Int]

    init(names: [String], types: [UInt32]) {
        self.names = names
        self.types = types
        // With duplicate names (`SELECT a.id, b.id`), the first wins, as in most drivers; use `AS` to tell them apart.
        self.index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// The rows of a statement and the number of rows it touched.
package struct PGResultSet: Sendable {
    /// The rows returned (empty for statements that return none).
    package let rows: [PGRow]
    /// Rows inserted, updated or deleted (from `PQcmdTuples`), or the number of rows returned by a SELECT.
    package let affectedRows: Int
}

extension Array {
    /// The first row of a result that must have one (`INSERT … RETURNING`, `count(*)`, a record just written), the
    /// first value decoded from it, or the result of the first statement of a pipeline. An empty result throws instead of trapping as `[0]` would: a trap takes down
    /// every socket of the process, while this is one 500 whose log line names the bug.
    package func one() throws(PGError) -> Element {
        guard let element = first else { throw PGError(.invalidValue, message: "Expected a row, the statement returned none") }
        return element
    }
}
