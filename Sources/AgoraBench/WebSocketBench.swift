import AgoraWebSocket
import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// WebSocket load: idle connections, echo round trips, broadcast fan-out. Works against any server that echoes on
/// `/` and broadcasts every text message sent to `/broadcast` (ours: `agora ws-echo`; peers: bench/ws/).
struct WebSocketBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws",
        abstract: "WebSocket load against an echo/broadcast server.",
        subcommands: [Idle.self, Echo.self, Broadcast.self]
    )

    struct Target: ParsableArguments {
        @Option(help: "Server port.") var port = 9001
        @Option(help: "Server host.") var host = "127.0.0.1"
    }

    struct Idle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open N idle connections, print 'ready N', hold them for --hold seconds.")
        @OptionGroup var target: Target
        @Option var connections = 20_000
        @Option var hold = 10.0

        func run() async throws {
            var open: [WebSocketClientChannel] = []
            open.reserveCapacity(connections)
            let started = ContinuousClock.now
            // In waves of 500 so the server's accept backlog is never the limit.
            while open.count < connections {
                let wave = min(500, connections - open.count)
                try await withThrowingTaskGroup(of: WebSocketClientChannel.self) { group in
                    for _ in 0..<wave { group.addTask { try await WebSocketClient.connect(host: target.host, port: target.port, path: "/") } }
                    for try await channel in group { open.append(channel) }
                }
            }
            print("ready \(open.count) in \(ContinuousClock.now - started)")
            FileHandle.standardOutput.synchronizeFile()
            try await Task.sleep(for: .seconds(hold))
            for channel in open { channel.channel.close(promise: nil) }
        }
    }

    struct Echo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "N connections each sending a message and awaiting its echo, for --seconds.")
        @OptionGroup var target: Target
        @Option var connections = 100
        @Option var seconds = 10.0
        @Option var size = 64

        func run() async throws {
            let payload = String(repeating: "x", count: size)
            let clients = try await (0..<connections).asyncMap { _ in try await WebSocketClient.connect(host: target.host, port: target.port, path: "/") }
            let deadline = ContinuousClock.now + .seconds(seconds)
            let started = ContinuousClock.now
            let samples = try await withThrowingTaskGroup(of: [Duration].self) { group in
                for client in clients {
                    group.addTask {
                        var rtts: [Duration] = []
                        try await client.executeThenClose { inbound, outbound in
                            var messages = inbound.makeAsyncIterator()
                            while ContinuousClock.now < deadline {
                                let sent = ContinuousClock.now
                                try await outbound.write(.text(payload))
                                guard try await messages.next() != nil else { break }
                                rtts.append(ContinuousClock.now - sent)
                            }
                        }
                        return rtts
                    }
                }
                return try await group.reduce(into: [Duration]()) { $0 += $1 }
            }
            let elapsed = ContinuousClock.now - started
            print(Stats.line(kind: "echo", count: samples.count, elapsed: elapsed, latencies: samples))
        }
    }

    struct Broadcast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "N receivers on /broadcast; one sender sends M messages back to back.")
        @OptionGroup var target: Target
        @Option var receivers = 1000
        @Option var messages = 200
        @Option(help: "The server's pid: its CPU time is sampled across the send-and-deliver phase only.") var serverPid: Int?

        func run() async throws {
            let clock = ContinuousClock()
            let origin = clock.now
            let received = Recorder()
            var clients: [WebSocketClientChannel] = []
            while clients.count < receivers {
                let wave = min(250, receivers - clients.count)
                clients += try await (0..<wave).asyncMap { _ in try await WebSocketClient.connect(host: target.host, port: target.port, path: "/broadcast") }
            }
            let sender = try await WebSocketClient.connect(host: target.host, port: target.port, path: "/broadcast")
            try await Task.sleep(for: .milliseconds(500))  // let every receiver join the server's group
            let expected = receivers * messages
            let cpuBefore = serverPid.flatMap(ServerCPU.seconds(pid:))
            let started = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in clients {
                    group.addTask {
                        try await client.executeThenClose { inbound, _ in
                            var count = 0
                            for try await message in inbound {
                                guard case .text(let text) = message, let sentAt = Int64(text.prefix { $0 != " " }) else { continue }
                                let latency = (clock.now - origin) - .nanoseconds(sentAt)
                                received.latencies.withLock { $0.append(latency) }
                                count += 1
                                if count == messages { break }
                            }
                        }
                    }
                }
                try await sender.executeThenClose { inbound, outbound in
                    for _ in 0..<messages {
                        let now = clock.now - origin
                        let nanos = now.components.seconds * 1_000_000_000 + now.components.attoseconds / 1_000_000_000
                        try await outbound.write(.text("\(nanos) " + String(repeating: "b", count: 48)))
                    }
                    try await group.waitForAll()
                }
            }
            let elapsed = clock.now - started
            let cpuAfter = serverPid.flatMap(ServerCPU.seconds(pid:))
            let latencies = received.latencies.withLock { $0 }
            var line = Stats.line(kind: "broadcast", count: latencies.count, elapsed: elapsed, latencies: latencies) + " expected=\(expected)"
            if let cpuBefore, let cpuAfter, !latencies.isEmpty {
                line += String(format: " server_us_per_delivery=%.3f", (cpuAfter - cpuBefore) * 1e6 / Double(latencies.count))
            }
            print(line)
        }
    }
}

/// CPU time (user + system) a process has used, from /proc/PID/stat.
enum ServerCPU {
    static func seconds(pid: Int) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Latencies recorded by many receiver tasks.
final class Recorder: Sendable {
    let latencies = Mutex<[Duration]>([])
}

enum Stats {
    static func line(kind: String, count: Int, elapsed: Duration, latencies: [Duration]) -> String {
        let sorted = latencies.sorted()
        func ms(_ q: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            let d = sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
            return String(format: "%.3f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return "\(kind) messages=\(count) per_second=\(Int(Double(count) / seconds)) p50_ms=\(ms(0.5)) p99_ms=\(ms(0.99))"
    }
}

extension Sequence {
    func asyncMap<T: Sendable>(_ transform: @Sendable (Element) async throws -> T) async throws -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
