import AgoraPostgres
import AgoraTestSupport
import Foundation
import Testing

/// Pipeline mode: callers share a connection without waiting for each other's answers, each job is its own unit
/// (its own Sync), and a failure, a broken connection or a cancelled caller touches only what it must.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured), .schemaTestLimit)
struct PipelineTests {
    /// A pool of one connection that lets `depth` jobs share it.
    private func withPipeline<R>(depth: Int, _ body: (PGPool, PGConfiguration) async throws -> R) async throws -> R {
        try await TestDatabase.withSchema(poolSize: 1) { _, configuration in
            var shared = configuration
            shared.pipelineDepth = depth
            let pool = PGPool(configuration: shared, logger: TestServices.logger)
            do {
                let result = try await body(pool, configuration)
                await pool.close()
                return result
            } catch {
                await pool.close()
                throw error
            }
        }
    }

    @Test func manyCallersOnOneConnectionEachGetTheirOwnAnswer() async throws {
        try await withPipeline(depth: 64) { db, _ in
            let log = TestServices.logger
            let answers = try await withThrowingTaskGroup(of: (Int, Int, Int).self) { group in
                for i in 0..<500 {
                    group.addTask {
                        let row = try await db.query("SELECT \(i)::int * 2 AS v, pg_backend_pid() AS pid", logger: log).one()
                        return (i, try row.decode("v"), try row.decode("pid"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.count == 500)
            #expect(answers.allSatisfy { $0.1 == $0.0 * 2 })
            #expect(Set(answers.map(\.2)).count == 1, "all on the pool's one connection")
            #expect(db.statistics.opened == 1)
            #expect(db.statistics.inFlight == 0)
        }
    }

    @Test func anErrorInsideThePipelineTouchesOnlyItsOwnJob() async throws {
        try await withPipeline(depth: 8) { db, _ in
            let log = TestServices.logger
            try await db.execute("CREATE TABLE t (id int PRIMARY KEY)", logger: log)
            try await db.execute("SELECT 1", logger: log)
            // A sleeper first, so the jobs after it queue up in the same pipeline.
            async let sleeper = db.execute("SELECT pg_sleep(0.3)", logger: log)
            try await waitUntil { db.statistics.inFlight == 1 }
            async let before = db.execute("INSERT INTO t VALUES (1)", logger: log)
            async let failing = db.query("SELECT 1 / \(0)::int AS boom", logger: log)
            async let after = db.execute("INSERT INTO t VALUES (2)", logger: log)
            _ = try await sleeper
            #expect(try await before.affectedRows == 1)
            let failure: PGError?
            do {
                _ = try await failing
                failure = nil
            } catch let error as PGError {
                failure = error
            }
            #expect(failure?.sqlState == "22012")
            #expect(try await after.affectedRows == 1)
            #expect(try await db.query("SELECT count(*) AS n FROM t", logger: log).one().decode("n", as: Int.self) == 2)
        }
    }

    @Test func anAtomicBatchCommitsTogetherOrNotAtAll() async throws {
        try await withPipeline(depth: 4) { db, _ in
            let log = TestServices.logger
            try await db.execute("CREATE TABLE t (id int PRIMARY KEY, note text)", logger: log)
            let results = try await db.executeAtomically(
                ["INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'b')", "SELECT count(*) AS n FROM t"], logger: log
            )
            #expect(results.count == 3)
            #expect(try results[2].rows.one().decode("n", as: Int.self) == 2, "later statements see earlier ones")
            let error = await #expect(throws: PGError.self) {
                try await db.executeAtomically(["INSERT INTO t VALUES (3, 'c')", "INSERT INTO t VALUES (1, 'again')"], logger: log)
            }
            #expect(error?.isUniqueViolation == true)
            let ids = try await db.query("SELECT id FROM t ORDER BY id", logger: log).map { try $0.decode("id", as: Int.self) }
            #expect(ids == [1, 2], "the failed batch left nothing behind")
            // The connection is not left inside a transaction: the next statement commits on its own.
            try await db.execute("INSERT INTO t VALUES (4, 'd')", logger: log)
            #expect(try await db.query("SELECT count(*) AS n FROM t", logger: log).one().decode("n", as: Int.self) == 3)
        }
    }

    @Test func aBrokenConnectionFailsOnlyWhatWasInFlightAndIsReplaced() async throws {
        try await withPipeline(depth: 8) { db, configuration in
            let log = TestServices.logger
            let pid: Int = try await db.query("SELECT pg_backend_pid() AS pid", logger: log).one().decode("pid")
            let outcomes = try await withThrowingTaskGroup(of: PGError?.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        do {
                            _ = try await db.execute("SELECT pg_sleep(2)", logger: log)
                            return nil
                        } catch let error as PGError {
                            return error
                        }
                    }
                }
                try await waitUntil { db.statistics.inFlight == 4 }
                let killer = PGPool(configuration: configuration, logger: log)
                _ = try await killer.query("SELECT pg_terminate_backend(\(Int32(pid))) AS ok", logger: log)
                await killer.close()
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.count == 4)
            #expect(outcomes.allSatisfy { $0?.code == .connectionClosed })
            let after: Int = try await db.query("SELECT pg_backend_pid() AS pid", logger: log).one().decode("pid")
            #expect(after != pid)
            #expect(db.statistics.opened == 2)
            #expect(db.statistics.inFlight == 0)
        }
    }

    @Test func aCancelledCallerStopsWaitingAndThePipelineStaysAligned() async throws {
        try await withPipeline(depth: 4) { db, _ in
            let log = TestServices.logger
            try await db.execute("SELECT 1", logger: log)
            let slow = Task { try await db.query("SELECT pg_sleep(1) AS slept, 1 AS which", logger: log) }
            try await waitUntil { db.statistics.inFlight == 1 }
            let started = ContinuousClock.now
            slow.cancel()
            await #expect(throws: CancellationError.self) { try await slow.value }
            #expect(ContinuousClock.now - started < .milliseconds(500), "the cancelled caller did not wait for its answer")
            // The next caller on the same connection gets its own answer, not the abandoned one.
            #expect(try await db.query("SELECT 2 AS which", logger: log).one().decode("which", as: Int.self) == 2)
            #expect(db.statistics.inFlight == 0)
        }
    }

    @Test func aCancelledTransactionIsRolledBack() async throws {
        try await withPipeline(depth: 4) { db, _ in
            let log = TestServices.logger
            try await db.execute("CREATE TABLE t (id int PRIMARY KEY)", logger: log)
            let transaction = Task {
                try await db.withTransaction(logger: log) { tx in
                    try await tx.execute("INSERT INTO t VALUES (1)")
                    try await tx.execute("SELECT pg_sleep(1)")
                    try await tx.execute("INSERT INTO t VALUES (2)")
                }
            }
            try await waitUntil { db.statistics.leased == 1 }
            try await Task.sleep(for: .milliseconds(200))
            transaction.cancel()
            await #expect(throws: (any Error).self) { try await transaction.value }
            #expect(try await db.query("SELECT count(*) AS n FROM t", logger: log).one().decode("n", as: Int.self) == 0)
            #expect(db.statistics.leased == 0)
        }
    }

    @Test func aTransactionPipelinesItsStatementsAndRollsBackOnAFailure() async throws {
        try await withPipeline(depth: 4) { db, _ in
            let log = TestServices.logger
            try await db.execute("CREATE TABLE stock (sku text PRIMARY KEY, qty int NOT NULL CHECK (qty >= 0))", logger: log)
            let results = try await db.withTransaction(logger: log) { tx in
                try await tx.pipeline([
                    "INSERT INTO stock VALUES ('a', 2)", "INSERT INTO stock VALUES ('b', 1)",
                    "UPDATE stock SET qty = qty - 1 RETURNING sku",
                ])
            }
            #expect(results.map(\.affectedRows) == [1, 1, 2])
            await #expect(throws: PGError.self) {
                try await db.withTransaction(logger: log) { tx in
                    try await tx.pipeline([
                        "UPDATE stock SET qty = qty + 10 WHERE sku = 'a'", "UPDATE stock SET qty = qty - 5 WHERE sku = 'b'",
                        "UPDATE stock SET qty = qty + 10 WHERE sku = 'b'",
                    ])
                }
            }
            let qty = try await db.query("SELECT sku, qty FROM stock ORDER BY sku", logger: log).map { try $0.decode("qty", as: Int.self) }
            #expect(qty == [1, 0])
        }
    }

    @Test func aTransactionCanEndWithItsLastStatementsAndTheCommitInOneRoundTrip() async throws {
        try await withPipeline(depth: 4) { db, _ in
            let log = TestServices.logger
            try await db.execute("CREATE TABLE t (id int PRIMARY KEY)", logger: log)
            let results = try await db.withTransaction(logger: log) { tx in
                _ = try await tx.query("SELECT count(*) FROM t")
                return try await tx.commit(after: ["INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2) RETURNING id"])
            }
            #expect(results.map(\.affectedRows) == [1, 1])
            // A failing statement skips the COMMIT: everything is rolled back, and the connection is clean.
            await #expect(throws: PGError.self) {
                try await db.withTransaction(logger: log) { tx in
                    try await tx.execute("INSERT INTO t VALUES (3)")
                    try await tx.commit(after: ["INSERT INTO t VALUES (4)", "INSERT INTO t VALUES (1)"])
                }
            }
            let ids = try await db.query("SELECT id FROM t ORDER BY id", logger: log).map { try $0.decode("id", as: Int.self) }
            #expect(ids == [1, 2])
            #expect(db.statistics.leased == 0)
        }
    }

    /// Polls `condition` every 2 ms for up to 10 s.
    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("condition not reached within 10 s"); return }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
