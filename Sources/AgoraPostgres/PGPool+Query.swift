package import Logging
import Synchronization

extension PGPool {
    /// Runs one statement and returns its rows.
    package func query(_ query: PGQuery, logger: Logger) async throws -> [PGRow] {
        try await execute(query, logger: logger).rows
    }

    /// Runs one statement and returns its rows and affected-row count.
    @discardableResult
    package func execute(_ query: PGQuery, logger: Logger) async throws -> PGResultSet {
        try await runShared([query], logger: logger).one()
    }

    /// Runs `queries` in one round trip as one atomic unit (an implicit transaction, READ COMMITTED): all of them
    /// commit together, or the first failure is thrown and none of them took effect.
    ///
    /// For work that needs no decision between its statements (a chat message and its events, a receipt). Later
    /// statements see what earlier ones wrote; to pass values between them, use CTEs or subqueries in SQL.
    /// - Returns: one result per statement, in order.
    package func executeAtomically(_ queries: [PGQuery], logger: Logger) async throws -> [PGResultSet] {
        guard !queries.isEmpty else { return [] }
        return try await runShared(queries, logger: logger)
    }

    /// Runs `body` in a transaction on a connection leased for its duration: committed if it returns, rolled back
    /// if it throws. `BEGIN` goes out with the first statement and `COMMIT` costs one round trip; statements of
    /// `tx.pipeline(_:)` go out together.
    package func withTransaction<R: Sendable>(
        isolation: PGIsolation = .readCommitted,
        logger: Logger,
        _ body: (PGTransaction) async throws -> R
    ) async throws -> R {
        let connection = try await leaseExclusive()
        defer { releaseExclusive(connection) }
        let transaction = PGTransaction(pool: self, connection: connection, isolation: isolation, logger: logger)
        let result: R
        do {
            result = try await body(transaction)
        } catch {
            // Skipped when the server says no transaction is open (a COMMIT sent by `commit(after:)` that failed
            // ended it already).
            if transaction.hasBegun, !transaction.isEnded, connection.inTransaction {
                do {
                    // Not cancellable: a cancelled task must still end its transaction before the lease ends.
                    _ = try await run(PGJob(.statements(["ROLLBACK"])), on: connection, cancellable: false)
                } catch let rollbackError {
                    // The connection is in an unknown state; the pool closes it on release (still in a transaction).
                    logger.warning("ROLLBACK failed", metadata: ["error": "\(rollbackError)"])
                }
            }
            throw error
        }
        if transaction.hasBegun, !transaction.isEnded {
            _ = try await run(PGJob(.statements(["COMMIT"])), on: connection, cancellable: false)
        }
        return result
    }
}

/// Transaction isolation levels.
package enum PGIsolation: Sendable {
    case readCommitted, repeatableRead, serializable

    var sql: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }
}

/// The statements of one transaction, all on the connection leased to it.
///
/// Valid only inside the `withTransaction` body that made it; its calls run one after another.
package final class PGTransaction: Sendable {
    let pool: PGPool
    let connection: PGPipelinedConnection
    let logger: Logger
    private let begin: PGQuery
    private let begun = Atomic<Bool>(false)

    init(pool: PGPool, connection: PGPipelinedConnection, isolation: PGIsolation, logger: Logger) {
        self.pool = pool
        self.connection = connection
        self.logger = logger
        self.begin = PGQuery(sql: "BEGIN ISOLATION LEVEL \(isolation.sql)")
    }

    private let ended = Atomic<Bool>(false)

    /// Whether BEGIN has been sent (it goes out with the first statement).
    var hasBegun: Bool { begun.load(ordering: .relaxed) }
    /// Whether `commit(after:)` committed it.
    var isEnded: Bool { ended.load(ordering: .relaxed) }

    /// Runs one statement in the transaction and returns its rows.
    package func query(_ query: PGQuery) async throws -> [PGRow] {
        try await execute(query).rows
    }

    /// Runs one statement in the transaction and returns its rows and affected-row count.
    @discardableResult
    package func execute(_ query: PGQuery) async throws -> PGResultSet {
        try await pipeline([query]).one()
    }

    /// Sends `queries` together and waits once for all their answers (one round trip). The first failure is thrown
    /// (the statements after it are skipped, and the transaction is then rolled back by `withTransaction`).
    /// - Returns: one result per statement, in order.
    package func pipeline(_ queries: [PGQuery]) async throws -> [PGResultSet] {
        guard !queries.isEmpty else { return [] }
        logger.trace("SQL", metadata: ["sql": "\(queries[0].sql)", "statements": "\(queries.count)"])
        let first = !begun.exchange(true, ordering: .relaxed)
        let results = try await pool.run(PGJob(.statements(first ? [begin] + queries : queries)), on: connection, cancellable: true)
        return first ? Array(results.dropFirst()) : results
    }

    /// Sends `queries` and `COMMIT` together: the transaction's last round trip. Nothing may run in it afterwards.
    /// If a statement fails, the COMMIT is skipped and `withTransaction` rolls back.
    /// - Returns: one result per statement of `queries`, in order.
    @discardableResult
    package func commit(after queries: [PGQuery]) async throws -> [PGResultSet] {
        let results = try await pipeline(queries + ["COMMIT"])
        ended.store(true, ordering: .relaxed)
        return Array(results.dropLast())
    }

    /// Runs a script of several statements with the simple protocol (no parameters): migrations only.
    func executeScript(_ sql: String) async throws {
        if !begun.exchange(true, ordering: .relaxed) {
            _ = try await pool.run(PGJob(.statements([begin])), on: connection, cancellable: true)
        }
        let job = PGJob(.script(sql))
        _ = try await pool.run(job, on: connection, cancellable: true)
    }
}
