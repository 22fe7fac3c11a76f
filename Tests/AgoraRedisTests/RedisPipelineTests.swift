import AgoraRedis
import AgoraTestSupport
import Foundation
import Testing

/// Many callers on one connection: replies in order, errors, a connection killed mid-pipeline, cancellation, close
/// and the timeouts.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct RedisPipelineTests {
    func configuration(poolSize: Int = 1, checkoutTimeout: Duration = .seconds(30), commandTimeout: Duration = .seconds(10)) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(
            url: try TestServices.requireRedisURL(), poolSize: poolSize, checkoutTimeout: checkoutTimeout, commandTimeout: commandTimeout
        )
        configuration.connectionName = TestServices.uniqueName("agora-test")
        return configuration
    }

    func withClient<R>(_ configuration: RedisConfiguration, _ body: (RedisClient, String) async throws -> R) async throws -> R {
        let client = RedisClient(configuration: configuration, logger: TestServices.logger)
        let prefix = TestServices.uniqueName("agora:test")
        do {
            let result = try await body(client, prefix)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// The server-side ids of the connections named `name`, from `CLIENT LIST`.
    func connectionIDs(named name: String, using redis: RedisClient) async throws -> [Int] {
        let list = try #require(try await redis.send("CLIENT", "LIST", logger: TestServices.logger).string)
        return list.split(separator: "\n").compactMap { line -> Int? in
            let fields = line.split(separator: " ")
            guard fields.contains(Substring("name=\(name)")) else { return nil }
            return fields.first { $0.hasPrefix("id=") }.flatMap { Int($0.dropFirst(3)) }
        }
    }

    @Test func concurrentCallersOnOneConnectionGetTheirOwnReplies() async throws {
        try await withClient(try configuration(poolSize: 1)) { redis, prefix in
            let log = TestServices.logger
            let counts = try await withThrowingTaskGroup(of: Int?.self) { group in
                for index in 0..<2_000 {
                    group.addTask {
                        if index.isMultiple(of: 2) {
                            return try await redis.send("INCR", "\(prefix):n", logger: log).int
                        }
                        // ECHO returns the caller's own argument: any misaligned reply shows up as someone else's.
                        let echoed = try await redis.send("ECHO", "caller \(index)", logger: log).string
                        #expect(echoed == "caller \(index)")
                        return nil
                    }
                }
                return try await group.reduce(into: [Int]()) { if let count = $1 { $0.append(count) } }
            }
            // Every INCR caller got a reply of its own: 1 through 1,000, each once.
            #expect(counts.sorted() == Array(1...1_000))
            #expect(redis.statistics.opened == 1)
            try await redis.send("DEL", "\(prefix):n", logger: log)
        }
    }

    @Test func anErrorReplyInAPipelineLeavesItsNeighboursAlone() async throws {
        try await withClient(try configuration(poolSize: 1)) { redis, prefix in
            let log = TestServices.logger
            try await redis.send("SET", "\(prefix):s", "x", logger: log)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<300 {
                    group.addTask {
                        if index.isMultiple(of: 3) {
                            let error = try await #require(throws: RedisError.self) { try await redis.send("LPUSH", "\(prefix):s", "y", logger: log) }
                            #expect(error.prefix == "WRONGTYPE")
                        } else {
                            #expect(try await redis.send("ECHO", "\(index)", logger: log).string == "\(index)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(redis.statistics.opened == 1)
            try await redis.send("DEL", "\(prefix):s", logger: log)
        }
    }

    @Test func aConnectionKilledMidPipelineFailsOnlyItsOutstandingCommands() async throws {
        let configuration = try configuration(poolSize: 1)
        try await withClient(configuration) { redis, prefix in
            let log = TestServices.logger
            try await redis.send("PING", logger: log)
            // BLPOP holds the connection's pipeline server-side, so the ECHOs sent after it stay outstanding.
            let blocked = Task { try await redis.send("BLPOP", "\(prefix):empty", 10, logger: log) }
            try await Task.sleep(for: .milliseconds(100))
            let queued = (0..<20).map { index in Task { try await redis.send("ECHO", "\(index)", logger: log) } }
            try await Task.sleep(for: .milliseconds(100))
            try await withClient(try self.configuration(poolSize: 1)) { killer, _ in
                let ids = try await connectionIDs(named: configuration.connectionName, using: killer)
                #expect(ids.count == 1)
                for id in ids { #expect(try await killer.send("CLIENT", "KILL", "ID", id, logger: log) == .integer(1)) }
            }
            for task in [blocked] + queued {
                let error = try await #require(throws: RedisError.self) { try await task.value }
                #expect(error.code == .connectionClosed)
            }
            // The next command opens a new connection.
            #expect(try await redis.send("PING", logger: log) == .status("PONG"))
            #expect(redis.statistics.opened == 2)
        }
    }

    @Test func aBatchGetsItsRepliesInOrderBetweenOtherCallers() async throws {
        try await withClient(try configuration(poolSize: 1)) { redis, prefix in
            let log = TestServices.logger
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<200 {
                    group.addTask {
                        if caller.isMultiple(of: 2) {
                            #expect(try await redis.send("ECHO", "single \(caller)", logger: log).string == "single \(caller)")
                            return
                        }
                        // A command that fails in the middle of a batch is its own failure; its neighbours are answered.
                        let replies = try await redis.send(batch: [
                            ["ECHO", "a \(caller)"], ["INCR", "\(prefix):counter"], ["HGET", "\(prefix):counter", "f"], ["ECHO", "b \(caller)"],
                        ], logger: log)
                        #expect(replies.count == 4)
                        #expect(try replies[0].get().string == "a \(caller)")
                        #expect(try replies[1].get().int != nil)
                        #expect(throws: RedisError.self) { try replies[2].get() }
                        #expect(try replies[3].get().string == "b \(caller)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await redis.send("GET", "\(prefix):counter", logger: log).string == "100")
            #expect(try await redis.send(batch: [], logger: log).isEmpty)
            let heard = try await redis.publish(batch: [("x", "\(prefix):nobody"), ("y", "\(prefix):nobody")], logger: log)
            #expect(heard == [0, 0])
            #expect(redis.statistics.opened == 1)
        }
    }

    @Test func aBatchOnAKilledConnectionFailsWhole() async throws {
        let configuration = try configuration(poolSize: 1)
        try await withClient(configuration) { redis, prefix in
            let log = TestServices.logger
            try await redis.send("PING", logger: log)
            let blocked = Task { try await redis.send("BLPOP", "\(prefix):empty", 10, logger: log) }
            try await Task.sleep(for: .milliseconds(100))
            let batch = Task { try await redis.send(batch: [["ECHO", "1"], ["ECHO", "2"]], logger: log) }
            try await Task.sleep(for: .milliseconds(100))
            try await withClient(try self.configuration(poolSize: 1)) { killer, _ in
                for id in try await connectionIDs(named: configuration.connectionName, using: killer) {
                    try await killer.send("CLIENT", "KILL", "ID", id, logger: log)
                }
            }
            for error in [try await #require(throws: RedisError.self) { try await blocked.value },
                          try await #require(throws: RedisError.self) { try await batch.value }] {
                #expect(error.code == .connectionClosed)
            }
            #expect(try await redis.send(batch: [["ECHO", "again"]], logger: log).first?.get().string == "again")
        }
    }

    @Test func aCancelledCallersReplyIsDiscarded() async throws {
        try await withClient(try configuration(poolSize: 1)) { redis, prefix in
            let log = TestServices.logger
            try await redis.send("PING", logger: log)
            let cancelled = Task { try await redis.send("BLPOP", "\(prefix):q", 2, logger: log) }
            try await Task.sleep(for: .milliseconds(100))
            let next = Task { try await redis.send("ECHO", "next", logger: log) }
            try await Task.sleep(for: .milliseconds(50))
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            // The BLPOP's reply (the pushed value) arrives later and goes nowhere; ECHO still gets its own.
            try await withClient(try configuration(poolSize: 1)) { other, _ in
                try await other.send("RPUSH", "\(prefix):q", "value", logger: log)
            }
            #expect(try await next.value.string == "next")
            #expect(try await redis.send("ECHO", "after", logger: log).string == "after")
            #expect(redis.statistics.opened == 1)
        }
    }

    @Test func anAlreadyCancelledTaskStillSends() async throws {
        // Clean-up after a socket closes often runs in a cancelled task; the blocking client ran its commands, and so
        // must this one.
        try await withClient(try configuration(poolSize: 1)) { redis, _ in
            let log = TestServices.logger
            let task = Task {
                while !Task.isCancelled { await Task.yield() }
                return try await redis.send("ECHO", "still sent", logger: log)
            }
            task.cancel()
            let reply = try await task.value
            #expect(reply.string == "still sent")
        }
    }

    @Test func closeLetsCommandsInFlightFinishAndRefusesNewOnes() async throws {
        let client = RedisClient(configuration: try configuration(poolSize: 1), logger: TestServices.logger)
        let log = TestServices.logger
        let key = TestServices.uniqueName("agora:test")
        try await client.send("PING", logger: log)
        let inFlight = Task { try await client.send("BLPOP", key, "0.3", logger: log) }
        try await Task.sleep(for: .milliseconds(50))
        await client.close()
        #expect(try await inFlight.value == .null)
        let error = try await #require(throws: RedisError.self) { try await client.send("PING", logger: log) }
        #expect(error.code == .poolClosed)
    }

    @Test func aLateReplyFailsTheCommandAndDropsTheConnection() async throws {
        try await withClient(try configuration(poolSize: 1, commandTimeout: .milliseconds(300))) { redis, prefix in
            let log = TestServices.logger
            let error = try await #require(throws: RedisError.self) { try await redis.send("BLPOP", "\(prefix):empty", 5, logger: log) }
            #expect(error.code == .connectionClosed)
            #expect(try await redis.send("PING", logger: log) == .status("PONG"))
            #expect(redis.statistics.opened == 2)
        }
    }

    @Test func noConnectionInTimeIsAPoolTimeout() async throws {
        // The silent server accepts the connection and never answers CLIENT SETNAME, so opening hangs.
        let silent = try await SilentServer.start()
        var configuration = try RedisConfiguration(
            url: "redis://127.0.0.1:\(silent.port)", poolSize: 1, checkoutTimeout: .milliseconds(200), commandTimeout: .seconds(1)
        )
        configuration.connectionName = "agora-test"
        let client = RedisClient(configuration: configuration, logger: TestServices.logger)
        let error = try await #require(throws: RedisError.self) { try await client.send("PING", logger: TestServices.logger) }
        #expect(error.code == .poolTimeout)
        #expect(client.statistics.waiting == 0)
        await client.close()
        await silent.close()
    }
}
