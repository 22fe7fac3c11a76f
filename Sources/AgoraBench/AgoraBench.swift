import AgoraNet
import AgoraPostgres
import AgoraRedis
import ArgumentParser
import Foundation
import Logging
import Synchronization

/// Throughput of the libpq and hiredis wrappers, for comparison with pgbench and redis-benchmark
/// (scripts/bench-foundation.sh runs them side by side).
@main
struct AgoraBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agora-bench",
        abstract: "Measure Agora's PostgreSQL and Redis client throughput.",
        subcommands: [Postgres.self, Redis.self, WebSocketBench.self, MediaBench.self, ImagesBench.self, RealtimeBench.self, HTTPSClientBench.self]
    )
}

struct Options: ParsableArguments {
    @Option(help: "Concurrent callers (pool size matches), comma-separated.") var concurrency = "1,8,64"
    @Option(help: "Measured seconds per run (after a 1 s warm-up).") var seconds = 5.0

    var levels: [Int] { concurrency.split(separator: ",").compactMap { Int($0) } }
}

struct Postgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One-row SELECT by primary key on pgbench_accounts (pgbench -S's query).")
    @Option(help: "postgres:// URL of a database initialised with pgbench -i.") var url: String
    @Option(help: "Connections in the pool; 0 matches the concurrency (as pgbench's one connection per client).") var pool = 0
    @Option(help: "Jobs that may share a connection once all are busy (AGORA_DB_PIPELINE_DEPTH).") var depth = 4
    @OptionGroup var options: Options

    func run() async throws {
        let logger = Logger(label: "bench")
        for level in options.levels {
            var configuration = try PGConfiguration(url: url, poolSize: self.pool > 0 ? self.pool : level)
            configuration.pipelineDepth = depth
            let pool = PGPool(configuration: configuration, logger: logger)
            let rate = try await measure(concurrency: level, seconds: options.seconds) {
                let aid = Int.random(in: 1...100_000)
                _ = try await pool.query("SELECT abalance FROM pgbench_accounts WHERE aid = \(aid)", logger: logger)
            }
            print("postgres concurrency=\(level) qps=\(Int(rate))")
            await pool.close()
        }
    }
}

struct Redis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "GET of one key (redis-benchmark -t get's command).")
    @Option(help: "redis:// URL.") var url: String
    // Connections are shared by pipelining callers now, so the pool no longer grows with the concurrency.
    @Option(help: "Connections (default: RedisConfiguration's default).") var poolSize: Int?
    @OptionGroup var options: Options

    func run() async throws {
        let logger = Logger(label: "bench")
        for level in options.levels {
            var configuration = try RedisConfiguration(url: url)
            if let poolSize { configuration.poolSize = poolSize }
            let client = RedisClient(configuration: configuration, logger: logger)
            try await client.send("SET", "agora:bench:key", String(repeating: "x", count: 3), logger: logger)
            let rate = try await measure(concurrency: level, seconds: options.seconds) {
                _ = try await client.send("GET", "agora:bench:key", logger: logger)
            }
            print("redis concurrency=\(level) ops=\(Int(rate))")
            await client.close()
        }
    }
}

/// Shared flags and the completion count of one run.
final class Run: Sendable {
    let counting = Atomic<Bool>(false)
    let stopped = Atomic<Bool>(false)
    let completed = Atomic<Int>(0)
}

/// Runs `operation` in `concurrency` loops: 1 s warm-up, then counts completions for `seconds`.
func measure(concurrency: Int, seconds: Double, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Double {
    let run = Run()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                while !run.stopped.load(ordering: .relaxed) {
                    try await operation()
                    if run.counting.load(ordering: .relaxed) { run.completed.wrappingAdd(1, ordering: .relaxed) }
                }
            }
        }
        try await Task.sleep(for: .seconds(1))
        run.counting.store(true, ordering: .relaxed)
        let started = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        let done = run.completed.load(ordering: .relaxed)
        let elapsed = ContinuousClock.now - started
        run.stopped.store(true, ordering: .relaxed)
        try await group.waitForAll()
        return Double(done) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
