internal import CLibPQ
import Foundation

/// Turns a `PGresult*` into Swift values: rows for a successful statement, a `PGError` for a failed one.
enum PGResultReader {
    /// The rows (copied out of libpq's buffer) and affected-row count of a successful result.
    static func resultSet(_ raw: OpaquePointer) -> PGResultSet {
        guard PQresultStatus(raw) == PGRES_TUPLES_OK || PQresultStatus(raw) == PGRES_SINGLE_TUPLE else {
            return PGResultSet(rows: [], affectedRows: Int(String(cString: PQcmdTuples(raw))) ?? 0)
        }
        let rowCount = Int(PQntuples(raw))
        let columnCount = Int(PQnfields(raw))
        let columns = PGColumns(
            names: (0..<columnCount).map { String(cString: PQfname(raw, Int32($0))) },
            types: (0..<columnCount).map { UInt32(PQftype(raw, Int32($0))) }
        )
        var rows: [PGRow] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<Int32(rowCount) {
            var values: [[UInt8]?] = []
            values.reserveCapacity(columnCount)
            for c in 0..<Int32(columnCount) {
                if PQgetisnull(raw, r, c) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(raw, r, c))
                    // A non-NULL value always has a (possibly empty) buffer; an empty array if libpq ever says otherwise.
                    if let pointer = PQgetvalue(raw, r, c) {
                        values.append(Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: length)))
                    } else {
                        values.append([])
                    }
                }
            }
            rows.append(PGRow(columns: columns, values: values))
        }
        return PGResultSet(rows: rows, affectedRows: rowCount)
    }

    /// The server's error in a failed result, with its SQLSTATE, constraint, detail and column.
    static func serverError(_ raw: OpaquePointer, connectionBroken: Bool) -> PGError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(raw, Int32(code)).map { String(cString: $0) }
        }
        let message = field(UInt8(ascii: "M"))
            ?? String(cString: PQresultErrorMessage(raw)).trimmingCharacters(in: .whitespacesAndNewlines)
        if connectionBroken { return PGError(.connectionClosed, message: message, sqlState: field(UInt8(ascii: "C"))) }
        return PGError(
            .server, message: message, sqlState: field(UInt8(ascii: "C")), constraint: field(UInt8(ascii: "n")),
            detail: field(UInt8(ascii: "D")), column: field(UInt8(ascii: "c"))
        )
    }
}
