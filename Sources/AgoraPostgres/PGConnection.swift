internal import CLibPQ
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

/// One libpq connection, used synchronously.
///
/// libpq connections are not thread-safe, and every call here blocks: `PGPool` leases a connection to one
/// task at a time and runs these calls on its own thread pool, never on an event loop. That lease is the
/// invariant behind `@unchecked Sendable`.
public final class PGConnection: @unchecked Sendable {
    let handle: OpaquePointer  // PGconn*; internal for the LISTEN loop (PGConnection+Notifications)
    /// The backend process id, for diagnostics and `pg_terminate_backend` in tests.
    public let backendPID: Int32
    /// Set when a call saw the connection break; the pool then discards it.
    public private(set) var isBroken = false
    /// Statements prepared on this connection, by SQL text and parameter types: each is parsed (and analysed) by
    /// the server once, then executed by name. Bounded; past the bound, new statements go unprepared.
    private var prepared: [String: String] = [:]
    private var preparedCount = 0
    /// The most statements this connection keeps prepared (`PGConfiguration.preparedStatements`).
    private let maxPrepared: Int

    /// Opens a connection. Blocks.
    /// - Throws: `PGError.connectionFailed` with libpq's message (which never contains the password).
    public init(configuration: PGConfiguration) throws(PGError) {
        var parameters = configuration.parameters
        // Server options: NOTICEs (e.g. "relation already exists, skipping") are not errors and libpq would print
        // them to stderr; keep warnings and up.
        var options = ["-c client_min_messages=warning"]
        // libpq `options`: backslash-escape spaces and backslashes in a value, as libpq documents.
        func escaped(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: " ", with: "\\ ")
        }
        if let schema = configuration.searchPath {
            // Then public, where database-wide extensions (pg_trgm) live, as on a default search path.
            options.append("-c search_path=\(escaped(schema)),public")
        }
        for (name, value) in configuration.serverSettings.sorted(by: { $0.key < $1.key }) {
            options.append("-c \(escaped(name))=\(escaped(value))")
        }
        parameters.append(("options", options.joined(separator: " ")))
        let keys = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keyPointers = keys.map { UnsafePointer($0) } + [nil]
        let valuePointers = values.map { UnsafePointer($0) } + [nil]
        guard let handle = PQconnectdbParams(keyPointers, valuePointers, 0) else {
            throw PGError(.connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(handle)
            throw PGError(.connectionFailed, message: message)
        }
        self.handle = handle
        self.backendPID = PQbackendPID(handle)
        self.maxPrepared = configuration.preparedStatements
    }

    deinit { PQfinish(handle) }

    /// Runs one parameterized statement (extended protocol, binary results). Blocks.
    public func execute(_ query: PGQuery) throws(PGError) -> PGResultSet {
        let binds = query.binds
        // libpq would cut a text value at its first NUL and store the prefix; refuse instead of losing data silently.
        for (index, bind) in binds.enumerated() where !bind.binary && bind.bytes?.contains(0) == true {
            throw PGError(.invalidValue, message: "text parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot store")
        }
        let types = binds.map { Oid($0.oid) }
        let formats = binds.map { Int32($0.binary ? 1 : 0) }
        let lengths = binds.map { Int32($0.bytes?.count ?? 0) }
        // libpq reads text-format parameters as NUL-terminated strings (their lengths are ignored), so each value is
        // copied into a buffer with a terminator; NULLs stay nil pointers.
        let buffers: [UnsafeMutablePointer<CChar>?] = binds.map { bind in
            guard let bytes = bind.bytes else { return nil }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            bytes.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { buffer.initialize(from: $0.baseAddress!, count: bytes.count) }
            }
            buffer[bytes.count] = 0
            return buffer
        }
        defer { buffers.forEach { $0?.deallocate() } }
        let values = buffers.map { UnsafePointer($0) }
        let key = types.isEmpty ? query.sql : query.sql + "\u{0}" + types.map(String.init).joined(separator: ",")
        var name = prepared[key]
        if name == nil, prepared.count < maxPrepared {
            // Prepared once per connection. A statement that cannot be prepared (a syntax error, an aborted
            // transaction) fails here exactly as it would have failed to run, and is not remembered.
            let candidate = "agora_\(preparedCount)"
            preparedCount += 1
            _ = try consume(PGResult(PQprepare(handle, candidate, query.sql, Int32(binds.count), types)))
            prepared[key] = candidate
            name = candidate
        }
        guard let name else {
            return try consume(PGResult(PQexecParams(handle, query.sql, Int32(binds.count), types, values, lengths, formats, 1)))
        }
        do {
            return try consume(PGResult(PQexecPrepared(handle, name, Int32(binds.count), values, lengths, formats, 1)))
        } catch let error where error.sqlState == "26000" || error.sqlState == "0A000" {
            // The server no longer has it (DISCARD ALL) or its result shape changed under it (DDL): forget it, so the
            // next call prepares it afresh.
            prepared[key] = nil
            throw error
        }
    }

    /// Runs a script of one or more statements with the simple protocol (no parameters). Blocks.
    ///
    /// For migrations and fixed statements only: nothing from a request may reach this.
    public func executeScript(_ sql: String) throws(PGError) {
        _ = try consume(PGResult(PQexec(handle, sql)))
    }

    /// Whether the connection still looks usable, checked without a round trip.
    ///
    /// A backend that was terminated (`pg_terminate_backend`, a server restart) has sent its FATAL message
    /// and closed the socket while the connection sat idle in the pool. Polling the socket for input catches
    /// that before a caller's statement fails on it.
    public func checkAlive() -> Bool {
        guard !isBroken, PQstatus(handle) == CONNECTION_OK else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return true }  // nothing to read: idle and healthy
        // An idle connection has nothing to say unless it is closing (or sent a notice). Read it and look.
        if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK {
            isBroken = true
            return false
        }
        // Input was consumed but the socket may now be at EOF: look once more.
        descriptor.revents = 0
        if poll(&descriptor, 1, 0) > 0, PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK {
            isBroken = true
            return false
        }
        return true
    }

    /// True when the connection is inside a transaction block (or a failed one).
    public var inTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    private func consume(_ result: consuming PGResult) throws(PGError) -> PGResultSet {
        guard let raw = result.raw else {
            markBrokenIfClosed()
            throw PGError(isBroken ? .connectionClosed : .server, message: lastError)
        }
        switch PQresultStatus(raw) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PGResultSet(rows: [], affectedRows: Int(String(cString: PQcmdTuples(raw))) ?? 0)
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            return readRows(raw)
        default:
            markBrokenIfClosed()
            throw serverError(raw)
        }
    }

    private func readRows(_ raw: OpaquePointer) -> PGResultSet {
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
                    let pointer = UnsafeRawPointer(PQgetvalue(raw, r, c)!)
                    values.append(Array(UnsafeRawBufferPointer(start: pointer, count: length)))
                }
            }
            rows.append(PGRow(columns: columns, values: values))
        }
        return PGResultSet(rows: rows, affectedRows: rowCount)
    }

    private func serverError(_ raw: OpaquePointer) -> PGError {
        func field(_ code: Character) -> String? {
            PQresultErrorField(raw, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        let message = field("M") ?? String(cString: PQresultErrorMessage(raw)).trimmingCharacters(in: .whitespacesAndNewlines)
        if isBroken { return PGError(.connectionClosed, message: message, sqlState: field("C")) }
        return PGError(.server, message: message, sqlState: field("C"), constraint: field("n"), detail: field("D"), column: field("c"))
    }

    func markBroken() { isBroken = true }

    private func markBrokenIfClosed() {
        if PQstatus(handle) != CONNECTION_OK { isBroken = true }
    }

    private var lastError: String {
        String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Owns one `PGresult*` and clears it exactly once.
struct PGResult: ~Copyable {
    let raw: OpaquePointer?
    init(_ raw: OpaquePointer?) { self.raw = raw }
    deinit { if let raw { PQclear(raw) } }
}
