package import AgoraRedis
package import Foundation
import Glibc
import Testing

/// A Redis master, a replica and three Sentinels (`redis-server --sentinel`, Debian's `redis-server`), each a child
/// process on its own port with its own folder, for failover tests.
package final class SentinelSet: @unchecked Sendable {
    package let masterPort: Int
    package let replicaPort: Int
    package let sentinelPorts: [Int]
    private var processes: [Int: Process] = [:]
    private let folder: URL

    private init(folder: URL, masterPort: Int, replicaPort: Int, sentinelPorts: [Int]) {
        self.folder = folder
        self.masterPort = masterPort
        self.replicaPort = replicaPort
        self.sentinelPorts = sentinelPorts
    }

    /// The settings that point Agora at these Sentinels, with writes waiting for the replica.
    package var environment: [String: String] {
        [
            "AGORA_REDIS_URL": "redis://127.0.0.1:\(masterPort)/0",
            "AGORA_REDIS_SENTINELS": sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ","),
            "AGORA_REDIS_MASTER_NAME": "agora",
            "AGORA_REDIS_WAIT_REPLICAS": "1",
        ]
    }

    /// Starts the set and waits until the Sentinels agree on the master and see the replica; runs `body`; stops all.
    package static func with<R>(_ body: (SentinelSet) async throws -> R) async throws -> R {
        let redis = try #require(TestTools.onPath("redis-server"), "redis-server is needed (scripts/services.sh installs it)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-sentinel"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let ports = try freePorts(5)
        let set = SentinelSet(folder: folder, masterPort: ports[0], replicaPort: ports[1], sentinelPorts: Array(ports[2...]))
        defer {
            for process in set.processes.values where process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: folder)
        }
        // No diskless-sync delay: the replica is in sync in milliseconds rather than Redis's default 5 s.
        let common = "bind 127.0.0.1\nprotected-mode no\nsave \"\"\nappendonly no\nrepl-diskless-sync-delay 0\nenable-debug-command local\n"
        try set.start(redis, port: set.masterPort, config: common)
        try set.start(redis, port: set.replicaPort, config: common + "replicaof 127.0.0.1 \(set.masterPort)\n")
        for port in set.sentinelPorts {
            let sentinel = """
                bind 127.0.0.1
                protected-mode no
                sentinel monitor agora 127.0.0.1 \(set.masterPort) 2
                sentinel down-after-milliseconds agora 1000
                sentinel failover-timeout agora 5000
                sentinel parallel-syncs agora 1

                """
            try set.start(redis, port: port, config: sentinel, sentinel: true)
        }
        // Ready when the replica is in sync with the master and every Sentinel knows it (so it can promote it).
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let role = (try? Self.command(port: set.masterPort, ["ROLE"]))?.array
            guard let replicas = role?.last?.array, !replicas.isEmpty else {
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            let counts = await set.sentinelPorts.asyncMap { port in
                (try? Self.command(port: port, ["SENTINEL", "replicas", "agora"]))?.array?.count ?? 0
            }
            if counts.allSatisfy({ $0 >= 1 }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await body(set)
    }

    /// The master's port as the first Sentinel that answers sees it.
    package func masterAccordingToSentinels() -> Int? {
        for port in sentinelPorts {
            if let parts = (try? Self.command(port: port, ["SENTINEL", "get-master-addr-by-name", "agora"]))?.array, parts.count == 2,
                let master = parts[1].string.flatMap({ Int($0) })
            {
                return master
            }
        }
        return nil
    }

    /// How long after `since` the sentinels named a master other than `old` (polled every 100 ms); nil if none did
    /// within `limit`.
    package func promotion(from old: Int, since: ContinuousClock.Instant, within limit: Duration = .seconds(30)) async throws -> Duration? {
        while ContinuousClock.now - since < limit {
            if let master = masterAccordingToSentinels(), master != old { return ContinuousClock.now - since }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Makes the server on `port` hang for `seconds` (`DEBUG SLEEP`), from a thread of its own; returns at once.
    package func hang(port: Int, seconds: Int) {
        Thread.detachNewThread {
            var configuration = try? RedisConfiguration(url: "redis://127.0.0.1:\(port)", poolSize: 1, commandTimeout: .seconds(seconds + 10))
            configuration?.connectionName = "test"
            if let configuration, let connection = try? RedisConnection(configuration: configuration) {
                _ = try? connection.command(["DEBUG", "SLEEP", String(seconds)])
            }
        }
    }

    /// SIGKILL the server on `port`.
    package func kill(port: Int) {
        if let process = processes[port], process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Runs one command on the server at `port` (blocking; short timeouts).
    package static func command(port: Int, _ arguments: [String]) throws -> RedisValue {
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(port)", poolSize: 1, commandTimeout: .seconds(1))
        configuration.connectionName = "test"
        return try RedisConnection(configuration: configuration).command(arguments)
    }

    private func start(_ executable: String, port: Int, config: String, sentinel: Bool = false) throws {
        let directory = folder.appendingPathComponent(String(port))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(sentinel ? "sentinel.conf" : "redis.conf")
        try Data("port \(port)\ndir \(directory.path)\n\(config)".utf8).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [file.path] + (sentinel ? ["--sentinel"] : [])
        let log = directory.appendingPathComponent("log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes[port] = process
        // Up when it answers PING.
        for _ in 0..<100 {
            if (try? Self.command(port: port, ["PING"]))?.string == "PONG" { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw SentinelSetError(message: "redis on \(port) did not start; see \(log.path)")
    }

    private static func freePorts(_ count: Int) throws -> [Int] {
        var ports: Set<Int> = []
        while ports.count < count { ports.insert(try TestTools.freePort()) }
        return Array(ports)
    }
}

struct SentinelSetError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
