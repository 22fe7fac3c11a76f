import AgoraPool
import AgoraRedis
import AgoraTestSupport
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct RedisClientTests {
    func withClient<R>(poolSize: Int = 4, checkoutTimeout: Duration = .seconds(5), _ body: (RedisClient, String) async throws -> R) async throws -> R {
        let configuration = try RedisConfiguration(url: try TestServices.requireRedisURL(), poolSize: poolSize, checkoutTimeout: checkoutTimeout)
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

    @Test func repliesOfEachType() async throws {
        try await withClient { redis, prefix in
            let log = TestServices.logger
            #expect(try await redis.send("SET", "\(prefix):k", "v", "EX", 60, logger: log) == .status("OK"))
            #expect(try await redis.send("GET", "\(prefix):k", logger: log) == .bulk(Array("v".utf8)))
            #expect(try await redis.send("GET", "\(prefix):missing", logger: log) == .null)
            #expect(try await redis.send("INCRBY", "\(prefix):n", 41, logger: log) == .integer(41))
            #expect(try await redis.send("INCR", "\(prefix):n", logger: log).int == 42)
            #expect(try await redis.send("GET", "\(prefix):n", logger: log).int == 42)
            try await redis.send("RPUSH", "\(prefix):l", "a", "b", "", logger: log)
            #expect(try await redis.send("LRANGE", "\(prefix):l", 0, -1, logger: log) == .array([.bulk([97]), .bulk([98]), .bulk([])]))
            #expect(try await redis.send("PING", logger: log) == .status("PONG"))
            // Binary-safe: NUL, CR/LF and invalid UTF-8 survive.
            let binary: [UInt8] = [0, 13, 10, 0xff, 0xfe, 0]
            try await redis.send("SET", "\(prefix):b", binary, logger: log)
            #expect(try await redis.send("GET", "\(prefix):b", logger: log) == .bulk(binary))
            try await redis.send("DEL", "\(prefix):k", "\(prefix):n", "\(prefix):l", "\(prefix):b", logger: log)
        }
    }

    @Test func errorRepliesAreThrown() async throws {
        try await withClient { redis, prefix in
            let log = TestServices.logger
            try await redis.send("SET", "\(prefix):s", "x", logger: log)
            let wrongType = try await #require(throws: RedisError.self) { try await redis.send("LPUSH", "\(prefix):s", "y", logger: log) }
            #expect(wrongType.code == .server)
            #expect(wrongType.prefix == "WRONGTYPE")
            let unknown = try await #require(throws: RedisError.self) { try await redis.send("NOSUCHCOMMAND", logger: log) }
            #expect(unknown.prefix == "ERR")
            // The connection is still fine after an error reply.
            #expect(try await redis.send("GET", "\(prefix):s", logger: log).string == "x")
            try await redis.send("DEL", "\(prefix):s", logger: log)
        }
    }

    @Test func evalshaLoadsTheScriptOnNoscript() async throws {
        try await withClient { redis, prefix in
            let log = TestServices.logger
            // A source no other run has loaded, so the first EVALSHA must meet NOSCRIPT.
            let script = RedisScript("-- \(prefix)\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
            #expect(try await redis.send("SCRIPT", "EXISTS", script.sha1, logger: log) == .array([.integer(0)]))
            #expect(try await redis.run(script, keys: ["\(prefix):c"], arguments: [5], logger: log) == .integer(5))
            #expect(try await redis.send("SCRIPT", "EXISTS", script.sha1, logger: log) == .array([.integer(1)]))
            #expect(try await redis.run(script, keys: ["\(prefix):c"], arguments: [2], logger: log) == .integer(7))
            try await redis.send("DEL", "\(prefix):c", logger: log)
        }
    }

    @Test func killedPooledConnectionIsReplaced() async throws {
        try await withClient(poolSize: 1) { redis, _ in
            let log = TestServices.logger
            let id = try #require(try await redis.send("CLIENT", "ID", logger: log).int)
            let other = RedisClient(configuration: redis.configuration, logger: log)
            #expect(try await other.send("CLIENT", "KILL", "ID", id, logger: log) == .integer(1))
            await other.close()
            try await Task.sleep(for: .milliseconds(50))
            let newID = try #require(try await redis.send("CLIENT", "ID", logger: log).int)
            #expect(newID != id)
        }
    }

    @Test func concurrentCommandsOnASmallPool() async throws {
        // What is tested is that 200 callers share 4 connections and all get served, not how fast: on two cores at
        // the suite's busiest moment a waiter once waited over 5 s, so the checkout timeout here is generous.
        try await withClient(poolSize: 4, checkoutTimeout: .seconds(60)) { redis, prefix in
            let log = TestServices.logger
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<200 { group.addTask { try await redis.send("INCR", "\(prefix):hits", logger: log) } }
                try await group.waitForAll()
            }
            #expect(try await redis.send("GET", "\(prefix):hits", logger: log).int == 200)
            #expect(redis.statistics.open <= 4)
            try await redis.send("DEL", "\(prefix):hits", logger: log)
        }
    }

    @Test func urlsParse() throws {
        let c = try RedisConfiguration(url: "redis://:s3cret@cache.internal:6380/2")
        #expect(c.host == "cache.internal" && c.port == 6380 && c.database == 2 && c.password == "s3cret" && c.user == nil)
        #expect(!c.redacted.contains("s3cret"))
        #expect(try RedisConfiguration(url: "redis://127.0.0.1").port == 6379)
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "rediss://x") }
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://x/notanumber") }
    }
}
