package import AgoraApp
import AgoraPostgres
import Foundation
package import Hummingbird
package import Logging

/// The real application on a scratch schema, for route tests.
package enum TestApp {
    /// An `AgoraConfig` for tests: the test database and Redis, a temporary data folder, fast and quiet.
    package static func config(_ overrides: [String: String] = [:]) throws -> AgoraConfig {
        var env = [
            "AGORA_DATABASE_URL": try TestServices.requireDatabaseURL(),
            "AGORA_REDIS_URL": try TestServices.requireRedisURL(),
            "AGORA_DATA_DIR": NSTemporaryDirectory() + TestServices.uniqueName("agora-data"),
            "AGORA_DB_POOL_SIZE": "4",
            "AGORA_REDIS_POOL_SIZE": "2",
            // bcrypt at cost 4 takes about a millisecond; the cost-12 figure is measured by the benchmark.
            "AGORA_BCRYPT_COST": "4",
            // Sessions and rate limits of one test are invisible to every other.
            "AGORA_REDIS_PREFIX": TestServices.uniqueName("agora-test") + ":",
            // HummingbirdTesting's live client opens its one connection when the application starts and never
            // reconnects; a test that first uses it more than 10 s later (a second instance starting on a loaded
            // machine) found it closed by the slowloris guard. The guard itself is tested with its own settings.
            "AGORA_HEAD_TIMEOUT_SECONDS": "600",
        ]
        env.merge(overrides) { _, new in new }
        return try AgoraConfig(environment: env)
    }

    /// Creates a schema, builds the application on it (migrations run at start, as in production), runs `body`,
    /// then drops the schema.
    package static func withApplication<R>(
        _ overrides: [String: String] = [:],
        logger: Logger = TestServices.logger,
        _ body: (any ApplicationProtocol, AgoraServices) async throws -> R
    ) async throws -> R {
        try await TestDatabase.withSchema { _, database in
            var config = try config(overrides)
            if overrides["AGORA_DATABASE_URL"] == nil { config.postgres.searchPath = database.searchPath }
            let (app, services) = try buildApplication(config: config, logger: logger)
            return try await body(app, services)
        }
    }
}
