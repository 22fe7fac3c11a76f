import AgoraCrypto
package import Logging

/// One numbered schema change.
package struct PGMigration: Sendable, Equatable {
    /// Order of application; unique.
    package let version: Int
    /// A short name, from the file name.
    package let name: String
    /// The SQL script.
    package let sql: String
    /// SHA-256 of the script, hex; recorded when applied, checked on every later start.
    package var checksum: String { SHA256.hexDigest(Array(sql.utf8)) }

    /// Makes a migration.
    package init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Parses `0001_create_accounts.sql` into version 1, name `create_accounts`; nil for other file names.
    package init?(fileName: String, sql: String) {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else { return nil }
        self.init(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql)
    }
}

/// Applies migrations in order, each in its own transaction, recorded in `schema_migrations`.
///
/// Every step takes a transaction-scoped advisory lock keyed on the current schema, so several instances
/// starting at once apply each migration exactly once, and a lock can never outlive its transaction.
package struct PGMigrator: Sendable {
    let pool: PGPool

    /// Makes a migrator over `pool`.
    package init(pool: PGPool) { self.pool = pool }

    /// Applies what is pending and returns the versions applied by this call.
    ///
    /// - Throws: `PGError.migration` if an applied migration's file has changed or two files share a version;
    ///   a server error from a failing script (that migration is rolled back, earlier ones stay).
    @discardableResult
    package func migrate(_ migrations: [PGMigration], logger: Logger) async throws -> [Int] {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.version == b.version {
            throw PGError(.migration, message: "migrations \(a.name) and \(b.name) share version \(a.version)")
        }
        let applied = try await pool.withTransaction(logger: logger) { tx in
            try await Self.lock(tx)
            try await tx.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            return try await Self.applied(tx)
        }
        try Self.verify(sorted, against: applied, logger: logger)

        var appliedNow: [Int] = []
        for migration in sorted where applied[migration.version] == nil {
            let didApply = try await pool.withTransaction(logger: logger) { tx in
                try await Self.lock(tx)
                // Another instance may have applied it while we waited for the lock.
                if let checksum = try await Self.applied(tx)[migration.version] {
                    try Self.verify([migration], against: [migration.version: checksum], logger: logger)
                    return false
                }
                try await tx.executeScript(migration.sql)
                try await tx.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))"
                )
                return true
            }
            if didApply {
                logger.info("Applied migration", metadata: ["migration": "\(migration.version)_\(migration.name)"])
                appliedNow.append(migration.version)
            }
        }
        return appliedNow
    }

    private static func lock(_ tx: PGTransaction) async throws {
        try await tx.execute("SELECT pg_advisory_xact_lock(hashtext(coalesce(current_schema(), '') || ':agora:migrations'))")
    }

    private static func applied(_ tx: PGTransaction) async throws -> [Int: String] {
        var applied: [Int: String] = [:]
        for row in try await tx.query("SELECT version, checksum FROM schema_migrations") {
            applied[try row.decode("version")] = try row.decode("checksum")
        }
        return applied
    }

    private static func verify(_ migrations: [PGMigration], against applied: [Int: String], logger: Logger) throws {
        for migration in migrations {
            if let checksum = applied[migration.version], checksum != migration.checksum {
                throw PGError(
                    .migration,
                    message: """
                        migration \(migration.version)_\(migration.name) was changed after it was applied \
                        (recorded checksum \(checksum.prefix(12))…, file \(migration.checksum.prefix(12))…); \
                        add a new migration instead of editing an applied one
                        """
                )
            }
        }
        let known = Set(migrations.map(\.version))
        for version in applied.keys.sorted() where !known.contains(version) && migrations.count > 1 {
            logger.warning("Database has migration \(version) that this build does not know; is a newer version running?")
        }
    }
}
