package import AgoraPostgres
import Foundation
package import Logging
package import Testing

extension Tag {
    /// Needs the real PostgreSQL and Redis that `scripts/test.sh` starts.
    @Tag package static var integration: Self
}

/// Where the integration tests find PostgreSQL and Redis.
///
/// `scripts/test.sh` sets `AGORA_TEST_DATABASE_URL`, `AGORA_TEST_REDIS_URL` and `AGORA_REQUIRE_SERVICES=1`. With the
/// last one set, integration tests run even if the URLs are missing, and so fail loudly instead of being skipped.
package enum TestServices {
    package static var databaseURL: String? { ProcessInfo.processInfo.environment["AGORA_TEST_DATABASE_URL"] }
    package static var redisURL: String? { ProcessInfo.processInfo.environment["AGORA_TEST_REDIS_URL"] }
    package static var isRequired: Bool { ProcessInfo.processInfo.environment["AGORA_REQUIRE_SERVICES"] == "1" }
    package static var isConfigured: Bool { isRequired || (databaseURL != nil && redisURL != nil) }

    package static func requireDatabaseURL() throws -> String {
        try #require(databaseURL, "AGORA_TEST_DATABASE_URL is not set: run the tests through scripts/test.sh")
    }

    package static func requireRedisURL() throws -> String {
        try #require(redisURL, "AGORA_TEST_REDIS_URL is not set: run the tests through scripts/test.sh")
    }

    /// A logger for tests: warnings and up, to stderr.
    package static var logger: Logger {
        var logger = Logger(label: "agora.test")
        logger.logLevel = ProcessInfo.processInfo.environment["AGORA_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// A name no other test uses: for schemas, key prefixes, channels.
    package static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
    }
}

/// A scratch PostgreSQL schema per test, so tests can run in parallel without sharing rows.
package enum TestDatabase {
    /// How many scratch schemas (and the applications on them) may exist at once (`AGORA_TEST_SCHEMAS`, 4).
    ///
    /// Each one migrates a schema and holds pools of threads and backends; with every test running in parallel on
    /// two cores, dozens at once kept both cores busy for seconds, and the tests that assert a wall-clock bound
    /// (pool checkout timeouts, reconnect delays) failed for want of CPU rather than for a bug.
    static let slots = TestSlots(Int(ProcessInfo.processInfo.environment["AGORA_TEST_SCHEMAS"] ?? "") ?? 4)

    /// Creates a schema, runs `body` with a pool whose search path is that schema, then drops it.
    package static func withSchema<R>(
        poolSize: Int = 4,
        checkoutTimeout: Duration = .seconds(10),
        _ body: (PGPool, PGConfiguration) async throws -> R
    ) async throws -> R {
        await slots.acquire()
        do {
            let result = try await withSchemaNow(poolSize: poolSize, checkoutTimeout: checkoutTimeout, body)
            await slots.release()
            return result
        } catch {
            await slots.release()
            throw error
        }
    }

    static func withSchemaNow<R>(
        poolSize: Int,
        checkoutTimeout: Duration,
        _ body: (PGPool, PGConfiguration) async throws -> R
    ) async throws -> R {
        let url = try TestServices.requireDatabaseURL()
        let schema = TestServices.uniqueName("t")
        let admin = PGPool(configuration: try PGConfiguration(url: url, poolSize: 1), logger: TestServices.logger)
        try await admin.execute(PGQuery(sql: "CREATE SCHEMA \(schema)"), logger: TestServices.logger)
        var configuration = try PGConfiguration(url: url, poolSize: poolSize, checkoutTimeout: checkoutTimeout)
        configuration.searchPath = schema
        let pool = PGPool(configuration: configuration, logger: TestServices.logger)
        do {
            let result = try await body(pool, configuration)
            await pool.close()
            try await admin.execute(PGQuery(sql: "DROP SCHEMA \(schema) CASCADE"), logger: TestServices.logger)
            await admin.close()
            return result
        } catch {
            await pool.close()
            _ = try? await admin.execute(PGQuery(sql: "DROP SCHEMA \(schema) CASCADE"), logger: TestServices.logger)
            await admin.close()
            throw error
        }
    }
}

/// A counting semaphore for tests: at most `count` holders at once, the rest wait in order.
actor TestSlots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = max(1, count) }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { free += 1 } else { waiters.removeFirst().resume() }
    }
}

extension Trait where Self == TimeLimitTrait {
    /// The hang guard for suites that use `TestDatabase.withSchema`.
    ///
    /// A time limit counts from the test's start, and so includes the wait for one of the scratch-schema slots, which
    /// in a full run on two cores can be most of the run: a one-minute limit failed whole suites that had not yet
    /// started their own work. Ten minutes is longer than the whole Swift suite takes, so only a hang reaches it.
    package static var schemaTestLimit: Self { .timeLimit(.minutes(10)) }
}
