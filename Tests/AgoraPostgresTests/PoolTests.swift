import AgoraPool
import AgoraPostgres
import AgoraTestSupport
import Foundation
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct PoolTests {
    @Test func uniqueViolationCarriesSQLStateAndConstraint() async throws {
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            try await db.execute("CREATE TABLE accounts (email text CONSTRAINT accounts_email_key UNIQUE)", logger: log)
            try await db.execute("INSERT INTO accounts VALUES (\("a@example.com"))", logger: log)
            let error = try await #require(throws: PGError.self) {
                try await db.execute("INSERT INTO accounts VALUES (\("a@example.com"))", logger: log)
            }
            #expect(error.code == .server)
            #expect(error.sqlState == "23505")
            #expect(error.isUniqueViolation)
            #expect(error.constraint == "accounts_email_key")
            #expect(error.message.contains("duplicate key"))
            // The connection that saw the error is still good for the next statement.
            #expect(try await db.query("SELECT count(*) AS n FROM accounts", logger: log)[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test func transactionCommitsOnReturnAndRollsBackOnThrow() async throws {
        struct Boom: Error {}
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            try await db.execute("CREATE TABLE stock (sku text PRIMARY KEY, qty int NOT NULL CHECK (qty >= 0))", logger: log)
            try await db.withTransaction(logger: log) { tx in
                try await tx.execute("INSERT INTO stock VALUES ('a', 5)")
                try await tx.execute("INSERT INTO stock VALUES ('b', 1)")
            }
            await #expect(throws: Boom.self) {
                try await db.withTransaction(logger: log) { tx in
                    try await tx.execute("UPDATE stock SET qty = qty - 1 WHERE sku = 'a'")
                    throw Boom()
                }
            }
            // A failing statement inside the transaction also rolls back what came before it.
            await #expect(throws: PGError.self) {
                try await db.withTransaction(logger: log) { tx in
                    try await tx.execute("UPDATE stock SET qty = qty - 1 WHERE sku = 'a'")
                    try await tx.execute("UPDATE stock SET qty = qty - 2 WHERE sku = 'b'")  // violates the CHECK
                }
            }
            let rows = try await db.query("SELECT sku, qty FROM stock ORDER BY sku", logger: log)
            #expect(try rows.map { try $0.decode("qty", as: Int.self) } == [5, 1])
        }
    }

    @Test func exhaustedPoolMakesCallersWaitThenTimesOutClearly() async throws {
        try await TestDatabase.withSchema(poolSize: 1, checkoutTimeout: .milliseconds(300)) { db, _ in
            let log = TestServices.logger
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Exhaust it: the one connection, pipelined as deep as sharing allows.
                let depth = db.configuration.pipelineDepth
                try await db.execute("SELECT 1", logger: log)  // open the connection first, so the sleepers share it
                for _ in 0..<depth {
                    group.addTask { try await db.execute("SELECT pg_sleep(5)", logger: log) }
                }
                // Wait until the sleepers fill the only connection (opening it can take a while on a loaded machine).
                try await waitUntil { db.statistics.inFlight == db.configuration.pipelineDepth }
                let started = ContinuousClock.now
                let error = try await #require(throws: PGError.self) { try await db.execute("SELECT 1", logger: log) }
                let waited = ContinuousClock.now - started
                #expect(error.code == .poolTimeout)
                #expect(waited >= .milliseconds(250))
                // Well before the sleepers end: it gave up at its own deadline. (The margin is wide because a loaded
                // CI machine once fired a 300 ms deadline 1.7 s late.)
                #expect(waited < .seconds(4))
                try await group.waitForAll()
            }
            #expect(db.statistics.waiting == 0)
            #expect(db.statistics.leased == 0)
        }
    }

    @Test func aPatientWaiterGetsTheConnectionOnceItIsReturned() async throws {
        // The patience (5 s) is far above the hold (0.2 s), so a loaded machine cannot turn this into a timeout.
        try await TestDatabase.withSchema(poolSize: 1, checkoutTimeout: .seconds(5)) { db, _ in
            let log = TestServices.logger
            try await db.execute("SELECT 1", logger: log)
            async let long: Void = withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<db.configuration.pipelineDepth {
                    group.addTask { try await db.execute("SELECT pg_sleep(0.2)", logger: log) }
                }
                try await group.waitForAll()
            }
            try await waitUntil { db.statistics.inFlight == db.configuration.pipelineDepth }
            let started = ContinuousClock.now
            let row = try await db.query("SELECT 42 AS answer", logger: log)
            let waited = ContinuousClock.now - started
            try await long
            #expect(try row[0].decode("answer", as: Int.self) == 42)
            #expect(waited >= .milliseconds(50))  // it did wait for the sleeper
            #expect(db.statistics.waiting == 0)
            #expect(db.statistics.leased == 0)
        }
    }

    /// Polls `condition` every 5 ms for up to 10 s.
    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("condition not reached within 10 s"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func twoHundredConcurrentQueriesOnAPoolOfEight() async throws {
        try await TestDatabase.withSchema(poolSize: 8) { db, _ in
            let log = TestServices.logger
            let sums = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<200 {
                    group.addTask { try await db.query("SELECT \(i)::int + 1 AS v, pg_sleep(0.005)", logger: log)[0].decode("v") }
                }
                return try await group.reduce(0, +)
            }
            #expect(sums == (1...200).reduce(0, +))
            let stats = db.statistics
            #expect(stats.open <= 8)
            #expect(stats.leased == 0)
            #expect(stats.waiting == 0)
        }
    }

    @Test func killedBackendIsReplacedTransparentlyOnNextCheckout() async throws {
        try await TestDatabase.withSchema(poolSize: 1) { db, configuration in
            let log = TestServices.logger
            let before: Int = try await db.query("SELECT pg_backend_pid() AS pid", logger: log)[0].decode("pid")
            // Kill the pooled (idle) backend from another connection.
            let killer = PGPool(configuration: configuration, logger: log)
            let killed: Bool = try await killer.query("SELECT pg_terminate_backend(\(Int32(before))) AS ok", logger: log)[0].decode("ok")
            await killer.close()
            #expect(killed)
            try await Task.sleep(for: .milliseconds(100))  // let the FATAL message and EOF reach our socket
            let after: Int = try await db.query("SELECT pg_backend_pid() AS pid", logger: log)[0].decode("pid")
            #expect(after != before)
            #expect(db.statistics.opened == 2)
        }
    }

    @Test func badURLsAreRefusedWithoutEchoingThePassword() throws {
        #expect(throws: PGError.self) { try PGConfiguration(url: "mysql://u:p@h/db") }
        let sslError = try #require(throws: PGError.self) { try PGConfiguration(url: "postgres://u:secret@h/db?sslmode=sometimes") }
        #expect(!sslError.description.contains("secret"))
        let parsed = try PGConfiguration(url: "postgres://agora:p%40ss@db.internal:6543/shop?sslmode=require")
        #expect(parsed["host"] == "db.internal")
        #expect(parsed["port"] == "6543")
        #expect(parsed["password"] == "p@ss")
        #expect(parsed["dbname"] == "shop")
        #expect(parsed["sslmode"] == "require")
        #expect(!parsed.redacted.contains("p@ss"))
        let socket = try PGConfiguration(url: "postgres://agora@/shop?host=/var/run/postgresql")
        #expect(socket["host"] == "/var/run/postgresql")
    }

    @Test func unreachableServerIsAConnectionError() async throws {
        let pool = PGPool(configuration: try PGConfiguration(url: "postgres://nobody@127.0.0.1:1/none"), logger: TestServices.logger)
        let error = try await #require(throws: PGError.self) { try await pool.query("SELECT 1", logger: TestServices.logger) }
        #expect(error.code == .connectionFailed)
        #expect(pool.statistics.open == 0)  // the failed slot was given back
        await pool.close()
    }
}
