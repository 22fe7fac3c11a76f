public import Logging

extension PGPool {
    /// Runs one statement on a pooled connection and returns its rows.
    public func query(_ query: PGQuery, logger: Logger) async throws -> [PGRow] {
        try await execute(query, logger: logger).rows
    }

    /// Runs one statement on a pooled connection and returns its rows and affected-row count.
    @discardableResult
    public func execute(_ query: PGQuery, logger: Logger) async throws -> PGResultSet {
        try await withConnection(logger: logger) { connection in
            try await self.execute(query, on: connection, logger: logger)
        }
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    ///
    /// - Parameter isolation: e.g. `"SERIALIZABLE"`; nil for the server default (READ COMMITTED).
    public func withTransaction<R: Sendable>(
        isolation: PGIsolation = .readCommitted,
        logger: Logger,
        _ body: (PGTransaction) async throws -> R
    ) async throws -> R {
        try await withConnection(logger: logger) { connection in
            try await run { try connection.executeScript("BEGIN ISOLATION LEVEL \(isolation.sql)") }
            let transaction = PGTransaction(pool: self, connection: connection, logger: logger)
            let result: R
            do {
                result = try await body(transaction)
            } catch {
                do {
                    try await run { try connection.executeScript("ROLLBACK") }
                } catch let rollbackError {
                    // The connection is in an unknown state; the pool discards it on release (inTransaction or broken).
                    logger.warning("ROLLBACK failed", metadata: ["error": "\(rollbackError)"])
                }
                throw error
            }
            try await run { try connection.executeScript("COMMIT") }
            return result
        }
    }

    func execute(_ query: PGQuery, on connection: PGConnection, logger: Logger) async throws -> PGResultSet {
        logger.trace("SQL", metadata: ["sql": "\(query.sql)", "binds": "\(query.binds.count)"])
        return try await run { try connection.execute(query) }
    }
}

/// Transaction isolation levels.
public enum PGIsolation: Sendable {
    case readCommitted, repeatableRead, serializable

    var sql: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }
}

/// The statements of one transaction, all on the same connection.
///
/// Valid only inside the `withTransaction` body that made it.
public struct PGTransaction: Sendable {
    let pool: PGPool
    let connection: PGConnection
    let logger: Logger

    /// Runs one statement in the transaction and returns its rows.
    public func query(_ query: PGQuery) async throws -> [PGRow] {
        try await pool.execute(query, on: connection, logger: logger).rows
    }

    /// Runs one statement in the transaction and returns its rows and affected-row count.
    @discardableResult
    public func execute(_ query: PGQuery) async throws -> PGResultSet {
        try await pool.execute(query, on: connection, logger: logger)
    }
}
