internal import CLibPQ
internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// One libpq connection: opening it (which blocks), and the blocking calls of the LISTEN thread.
///
/// The pool's connections are driven without blocking by `PGPipelinedConnection`, which wraps one of these;
/// `PGListener` uses one on its own thread. Each is used by one thread at a time, the invariant behind
/// `@unchecked Sendable`.
package final class PGConnection: @unchecked Sendable {
    let handle: OpaquePointer  // PGconn*; internal for the LISTEN loop (PGConnection+Notifications)
    /// The backend process id, for diagnostics and `pg_terminate_backend` in tests.
    package let backendPID: Int32
    /// Set when a call saw the connection break; the pool then discards it.
    package private(set) var isBroken = false

    /// Opens a connection. Blocks.
    /// - Throws: `PGError.connectionFailed` with libpq's message (which never contains the password).
    package init(configuration: PGConfiguration) throws(PGError) {
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
    }

    deinit { PQfinish(handle) }

    /// Runs a script of one or more statements with the simple protocol (no parameters). Blocks.
    ///
    /// For migrations and fixed statements only: nothing from a request may reach this.
    package func executeScript(_ sql: String) throws(PGError) {
        _ = try consume(PGResult(PQexec(handle, sql)))
    }

    /// Whether the connection still looks usable, checked without a round trip.
    ///
    /// A backend that was terminated (`pg_terminate_backend`, a server restart) has sent its FATAL message
    /// and closed the socket while the connection sat idle in the pool. Polling the socket for input catches
    /// that before a caller's statement fails on it.
    package func checkAlive() -> Bool {
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
    package var inTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    private func consume(_ result: consuming PGResult) throws(PGError) -> PGResultSet {
        guard let raw = result.raw else {
            markBrokenIfClosed()
            throw PGError(isBroken ? .connectionClosed : .server, message: lastError)
        }
        switch PQresultStatus(raw) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            return PGResultReader.resultSet(raw)
        default:
            markBrokenIfClosed()
            throw PGResultReader.serverError(raw, connectionBroken: isBroken)
        }
    }

    func markBroken() { isBroken = true }

    private func markBrokenIfClosed() {
        if PQstatus(handle) != CONNECTION_OK { isBroken = true }
    }

    var lastError: String {
        String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Owns one `PGresult*` and clears it exactly once.
struct PGResult: ~Copyable {
    let raw: OpaquePointer?
    init(_ raw: OpaquePointer?) { self.raw = raw }
    deinit { if let raw { PQclear(raw) } }
}
