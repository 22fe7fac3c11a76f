package import AgoraPostgres
import Foundation

/// The SQL migrations shipped in this module's `Migrations/` resource folder.
package enum Migrations {
    /// Every `NNNN_name.sql` file, parsed; a file with a bad name stops start-up rather than being skipped.
    package static func all() throws -> [PGMigration] {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw PGError(.migration, message: "the Migrations resource folder is missing from the AgoraApp bundle")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        return try files.map { file in
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            guard let migration = PGMigration(fileName: file, sql: sql) else {
                throw PGError(.migration, message: "migration file '\(file)' must be named NNNN_name.sql")
            }
            return migration
        }
    }
}
