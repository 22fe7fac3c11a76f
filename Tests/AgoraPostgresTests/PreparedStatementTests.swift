import AgoraPostgres
import AgoraTestSupport
import Foundation
import Testing

/// Statements are prepared once per connection and run by name; the cache survives errors and schema changes.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct PreparedStatementTests {
    @Test func aStatementIsPreparedOnceAndReused() async throws {
        try await TestDatabase.withSchema(poolSize: 1) { db, _ in
            let log = TestServices.logger
            try await db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)", logger: log)
            for id in 1...5 { try await db.execute("INSERT INTO notes VALUES (\(id), \("note \(id)"))", logger: log) }
            for id in 1...5 {
                #expect(try await db.query("SELECT body FROM notes WHERE id = \(id)", logger: log)[0].decode("body", as: String.self) == "note \(id)")
            }
            let prepared = try await db.query("SELECT statement FROM pg_prepared_statements ORDER BY statement", logger: log)
                .map { try $0.decode("statement", as: String.self) }
            #expect(prepared.filter { $0.hasPrefix("INSERT INTO notes") }.count == 1)
            #expect(prepared.filter { $0.hasPrefix("SELECT body FROM notes") }.count == 1)

            // An error inside a transaction (the prepare of the next statement fails as the statement would) does
            // not poison the cache, and the statements run again afterwards.
            struct Boom: Error {}
            await #expect(throws: PGError.self) {
                try await db.withTransaction(logger: log) { tx in
                    try await tx.execute("INSERT INTO notes VALUES (\(1), \("again"))")  // duplicate key: aborts the transaction
                }
            }
            #expect(try await db.query("SELECT body FROM notes WHERE id = \(2)", logger: log)[0].decode("body", as: String.self) == "note 2")

            // A schema change that alters a cached statement's result: that call fails, the next one re-prepares.
            #expect(try await db.query("SELECT * FROM notes WHERE id = \(3)", logger: log)[0].decode("body", as: String.self) == "note 3")
            try await db.execute("ALTER TABLE notes ADD COLUMN extra int NOT NULL DEFAULT 7", logger: log)
            _ = try? await db.query("SELECT * FROM notes WHERE id = \(3)", logger: log)
            #expect(try await db.query("SELECT * FROM notes WHERE id = \(3)", logger: log)[0].decode("extra", as: Int.self) == 7)
        }
    }

    @Test func zeroTurnsPreparingOff() async throws {
        try await TestDatabase.withSchema(poolSize: 1) { _, configuration in
            var unprepared = configuration
            unprepared.preparedStatements = 0
            let pool = PGPool(configuration: unprepared, logger: TestServices.logger)
            let log = TestServices.logger
            for n in 1...3 {
                let value = try await pool.query("SELECT \(n)::int AS n", logger: log)[0].decode("n", as: Int.self)
                #expect(value == n)
            }
            let count = try await pool.query("SELECT count(*) AS n FROM pg_prepared_statements", logger: log)[0].decode("n", as: Int.self)
            #expect(count == 0)
            await pool.close()
        }
    }
}
