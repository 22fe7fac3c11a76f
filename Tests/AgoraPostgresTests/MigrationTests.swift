import AgoraPostgres
import AgoraTestSupport
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct MigrationTests {
    let migrations = [
        PGMigration(version: 1, name: "create_items", sql: "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);"),
        PGMigration(version: 2, name: "add_price", sql: "ALTER TABLE items ADD COLUMN price_minor bigint NOT NULL DEFAULT 0; CREATE INDEX items_price ON items (price_minor);"),
    ]

    @Test func runningTwiceIsANoOp() async throws {
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            #expect(try await PGMigrator(pool: db).migrate(migrations, logger: log) == [1, 2])
            #expect(try await PGMigrator(pool: db).migrate(migrations, logger: log) == [])
            let rows = try await db.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version", logger: log)
            #expect(try rows.map { try $0.decode("version", as: Int.self) } == [1, 2])
            #expect(try rows[1].decode("checksum", as: String.self) == migrations[1].checksum)
        }
    }

    @Test func concurrentRunnersApplyEachMigrationOnce() async throws {
        try await TestDatabase.withSchema(poolSize: 8) { db, configuration in
            let log = TestServices.logger
            // Separate pools, as separate instances would have.
            let pools = (0..<4).map { _ in PGPool(configuration: configuration, logger: log) }
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for pool in pools { group.addTask { try await PGMigrator(pool: pool).migrate(migrations, logger: log) } }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            for pool in pools { await pool.close() }
            #expect(applied.sorted() == [1, 2])  // each version applied by exactly one runner
            #expect(try await db.query("SELECT count(*) AS n FROM schema_migrations", logger: log)[0].decode("n", as: Int.self) == 2)
        }
    }

    @Test func aChangedAppliedMigrationStopsWithAClearMessage() async throws {
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            try await PGMigrator(pool: db).migrate(migrations, logger: log)
            var edited = migrations
            edited[0] = PGMigration(version: 1, name: "create_items", sql: "CREATE TABLE items (id bigserial PRIMARY KEY);")
            let error = try await #require(throws: PGError.self) { try await PGMigrator(pool: db).migrate(edited, logger: log) }
            #expect(error.code == .migration)
            #expect(error.message.contains("1_create_items was changed after it was applied"))
        }
    }

    @Test func aFailingMigrationRollsBackAndKeepsEarlierOnes() async throws {
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            let broken = migrations + [PGMigration(version: 3, name: "broken", sql: "CREATE TABLE half (x int); SELECT * FROM missing_table;")]
            await #expect(throws: PGError.self) { try await PGMigrator(pool: db).migrate(broken, logger: log) }
            let versions = try await db.query("SELECT version FROM schema_migrations ORDER BY version", logger: log)
            #expect(try versions.map { try $0.decode("version", as: Int.self) } == [1, 2])
            let half = try await db.query("SELECT to_regclass('half') IS NULL AS gone", logger: log)
            #expect(try half[0].decode("gone", as: Bool.self))
        }
    }

    @Test func fileNamesParse() {
        #expect(PGMigration(fileName: "0007_add_likes.sql", sql: "")?.version == 7)
        #expect(PGMigration(fileName: "0007_add_likes.sql", sql: "")?.name == "add_likes")
        #expect(PGMigration(fileName: "readme.md", sql: "") == nil)
        #expect(PGMigration(fileName: "x_add.sql", sql: "") == nil)
    }
}
