import AgoraWebSocket
import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// WebSocket load: idle connections, echo round trips, broadcast fan-out, and a realtime session's traffic. Works
/// against any server that echoes on `/` and broadcasts every text message sent to `/broadcast` (ours:
/// `agora ws-echo`; peers: bench/ws/). With `--compression` every connection offers permessage-deflate and the run
/// fails unless the server accepts it.
struct WebSocketBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws",
        abstract: "WebSocket load against an echo/broadcast server.",
        subcommands: [Idle.self, Echo.self, Broadcast.self, Session.self]
    )

    struct Target: ParsableArguments {
        @Option(help: "Server port.") var port = 9001
        @Option(help: "Server host.") var host = "127.0.0.1"
        @Flag(help: "Offer permessage-deflate (RFC 7692) asking for no context takeover either way; fail unless the server accepts it.")
        var compression = false
        @Flag(help: "With --compression, offer it as browsers do (`permessage-deflate; client_max_window_bits`): the server picks context takeover.")
        var context = false

        func validate() throws {
            if context && !compression { throw ValidationError("--context goes with --compression") }
        }

        /// What the client offers. Its own messages always go uncompressed (a threshold no message reaches, which the
        /// extension allows message by message), so the server's CPU goes on what it sends, not on inflating ours.
        var offer: PerMessageDeflateConfiguration? {
            guard compression else { return nil }
            return PerMessageDeflateConfiguration(serverNoContextTakeover: !context, clientNoContextTakeover: !context, threshold: .max)
        }

        /// Connects, checks that permessage-deflate was agreed when offered, and counts what the server sends from
        /// then on into `traffic`.
        func connect(path: String, counting traffic: Traffic? = nil) async throws -> WebSocketClientChannel {
            let channel = try await WebSocketClient.connect(host: host, port: port, path: path, compression: offer)
            let agreed = try await WebSocketClient.negotiatedCompression(of: channel.channel)
            if compression, agreed == nil {
                try? await channel.channel.close()
                throw BenchError("the server on port \(port) did not accept permessage-deflate")
            }
            if let traffic {
                traffic.agreed.withLock { $0 = $0 ?? Negotiated.describe(agreed) }
                let counter = channel.channel
                try await counter.eventLoop.submit {
                    try counter.pipeline.syncOperations.addHandler(ByteCounter(traffic: traffic), position: .first)
                }.get()
            }
            return channel
        }
    }

    struct Idle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open N connections, optionally echo a few messages on each, print 'ready N', hold them for --hold seconds.")
        @OptionGroup var target: Target
        @Option var connections = 20_000
        @Option var hold = 10.0
        @Option(help: "Realtime events each connection sends and gets back before it idles (0: none; all above the usual 128-byte threshold).")
        var messages = 0

        func run() async throws {
            let started = ContinuousClock.now
            let traffic = Traffic()
            guard messages > 0 else {
                var open: [WebSocketClientChannel] = []
                open.reserveCapacity(connections)
                // In waves of 500 so the server's accept backlog is never the limit.
                while open.count < connections {
                    let wave = min(500, connections - open.count)
                    try await withThrowingTaskGroup(of: WebSocketClientChannel.self) { group in
                        for _ in 0..<wave { group.addTask { try await target.connect(path: "/", counting: traffic) } }
                        for try await channel in group { open.append(channel) }
                    }
                }
                print("ready \(open.count) in \(ContinuousClock.now - started) deflate=\(traffic.description)")
                FileHandle.standardOutput.synchronizeFile()
                try await Task.sleep(for: .seconds(hold))
                for channel in open { channel.channel.close(promise: nil) }
                return
            }
            // Each connection is a task that echoes its messages, counts itself ready and sleeps until cancelled.
            let ready = Counter()
            var generator = RealtimeTraffic(seed: 1)
            let events = (0..<messages).map { _ in generator.chatMessage() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                var launched = 0
                while launched < connections {
                    let wave = min(500, connections - launched)
                    for _ in 0..<wave {
                        group.addTask {
                            let channel = try await target.connect(path: "/", counting: traffic)
                            do {
                                try await channel.executeThenClose { inbound, outbound in
                                    var echoes = inbound.makeAsyncIterator()
                                    for event in events {
                                        try await outbound.write(.text(event))
                                        guard case .text(let echo) = try await echoes.next(), echo == event else { throw BenchError("wrong echo") }
                                    }
                                    ready.value.add(1, ordering: .relaxed)
                                    try await Task.sleep(for: .seconds(86_400))
                                }
                            } catch is CancellationError {}
                        }
                    }
                    launched += wave
                    while ready.value.load(ordering: .relaxed) < launched { try await Task.sleep(for: .milliseconds(20)) }
                }
                print("ready \(ready.value.load(ordering: .relaxed)) in \(ContinuousClock.now - started) deflate=\(traffic.description)")
                FileHandle.standardOutput.synchronizeFile()
                try await Task.sleep(for: .seconds(hold))
                group.cancelAll()
            }
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
            let clients = try await (0..<connections).asyncMap { _ in try await target.connect(path: "/") }
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
        enum Payload: String, ExpressibleByArgument {
            /// 48 bytes of one letter after the timestamp.
            case plain
            /// Realtime events of 300 bytes to 2 KB (product snapshots, chat messages, order updates), each different.
            case events
        }
        @OptionGroup var target: Target
        @Option var receivers = 1000
        @Option var messages = 200
        @Option(help: "What each message carries after its timestamp: plain (48 bytes) or events (JSON, 300 B to 2 KB).") var payload = Payload.plain
        @Option(help: "The server's pid: its CPU time is sampled across the send-and-deliver phase only.") var serverPid: Int?

        func run() async throws {
            let clock = ContinuousClock()
            let origin = clock.now
            let received = Recorder()
            let traffic = Traffic()
            var clients: [WebSocketClientChannel] = []
            while clients.count < receivers {
                let wave = min(250, receivers - clients.count)
                clients += try await (0..<wave).asyncMap { _ in try await target.connect(path: "/broadcast", counting: traffic) }
            }
            let sender = try await target.connect(path: "/broadcast")
            var generator = RealtimeTraffic(seed: 7)
            let bodies = (0..<messages).map { seq in
                payload == .plain ? String(repeating: "b", count: 48) : generator.broadcastEvent(seq: 5_000 + seq)
            }
            try await Task.sleep(for: .milliseconds(500))  // let every receiver join the server's group
            let expected = receivers * messages
            let cpuBefore = serverPid.flatMap(ServerCPU.seconds(pid:))
            let ownBefore = ServerCPU.seconds(pid: Int(getpid()))
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
                    for body in bodies {
                        let now = clock.now - origin
                        let nanos = now.components.seconds * 1_000_000_000 + now.components.attoseconds / 1_000_000_000
                        try await outbound.write(.text("\(nanos) " + body))
                    }
                    try await group.waitForAll()
                }
            }
            let elapsed = clock.now - started
            let cpuAfter = serverPid.flatMap(ServerCPU.seconds(pid:))
            let ownAfter = ServerCPU.seconds(pid: Int(getpid()))
            let latencies = received.latencies.withLock { $0 }
            var line = Stats.line(kind: "broadcast", count: latencies.count, elapsed: elapsed, latencies: latencies) + " expected=\(expected)"
            if let cpuBefore, let cpuAfter, !latencies.isEmpty {
                line += String(format: " server_us_per_delivery=%.3f", (cpuAfter - cpuBefore) * 1e6 / Double(latencies.count))
            }
            // The client's own CPU time: on its one core it reads (and inflates) every delivery, so when this nears
            // 1e6 / deliveries per second the client, not the server, set the rate.
            if let ownBefore, let ownAfter, !latencies.isEmpty {
                line += String(format: " client_us_per_delivery=%.3f", (ownAfter - ownBefore) * 1e6 / Double(latencies.count))
            }
            // The timestamp prefix is about 12 bytes of digits and a space in every message.
            let payloadBytes = bodies.reduce(0) { $0 + $1.utf8.count + 13 } * receivers
            line += String(
                format: " payload_bytes_per_delivery=%.1f wire_bytes_per_delivery=%.1f", Double(payloadBytes) / Double(max(expected, 1)),
                Double(traffic.received.load(ordering: .relaxed)) / Double(max(latencies.count, 1)))
            print(line + " deflate=\(traffic.description)")
        }
    }

    struct Session: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Realtime sessions through the echo endpoint: N connections at once, each S sessions on a new socket every time.",
            discussion: """
                A session is what a client of Agora's realtime protocol receives over one socket: hello, a resume page of \
                --resume stored events (chat messages, read receipts, notifications, order updates) sent back to back, \
                the resume ack, then --live live events one at a time (chat messages, typing, presence, product updates, \
                notifications). The client sends each message uncompressed and the server echoes it, compressed when \
                negotiated; the line gives the bytes the server sent (counted by the client from the TCP stream after the \
                handshake) and the server's CPU time per message, handshakes included.
                """
        )
        @OptionGroup var target: Target
        @Option var connections = 50
        @Option(help: "Sessions per connection, one after another, each on a new socket.") var sessions = 4
        @Option(help: "Stored events in the resume page.") var resume = 200
        @Option(help: "Live events after the resume.") var live = 200
        @Option(help: "The server's pid: its CPU time and wchar (/proc/PID/io) are sampled across the run.") var serverPid: Int?

        func run() async throws {
            let scripts = (0..<connections).map { seed in
                var generator = RealtimeTraffic(seed: UInt64(seed))
                return generator.session(resume: resume, live: live)
            }
            let traffic = Traffic()
            let cpuBefore = serverPid.flatMap(ServerCPU.seconds(pid:))
            let writtenBefore = serverPid.flatMap(ServerCPU.writtenBytes(pid:))
            let started = ContinuousClock.now
            let samples = try await withThrowingTaskGroup(of: [Duration].self) { group in
                for script in scripts {
                    group.addTask {
                        var rtts: [Duration] = []
                        for _ in 0..<sessions {
                            let client = try await target.connect(path: "/", counting: traffic)
                            try await client.executeThenClose { inbound, outbound in
                                var echoes = inbound.makeAsyncIterator()
                                func expect(_ sent: String) async throws {
                                    guard case .text(let echo) = try await echoes.next(), echo == sent else { throw BenchError("wrong echo") }
                                }
                                // hello, the resume page back to back, its ack: what a reconnecting client gets at once.
                                let burst = [script.hello] + script.resume + [script.ack]
                                for message in burst { try await outbound.write(.text(message)) }
                                for message in burst { try await expect(message) }
                                for message in script.live {
                                    let sent = ContinuousClock.now
                                    try await outbound.write(.text(message))
                                    try await expect(message)
                                    rtts.append(ContinuousClock.now - sent)
                                }
                            }
                        }
                        return rtts
                    }
                }
                return try await group.reduce(into: [Duration]()) { $0 += $1 }
            }
            let elapsed = ContinuousClock.now - started
            let cpuAfter = serverPid.flatMap(ServerCPU.seconds(pid:))
            let writtenAfter = serverPid.flatMap(ServerCPU.writtenBytes(pid:))
            let perSession = scripts[0].count
            let count = scripts.reduce(0) { $0 + $1.count } * sessions
            let payload = Double(scripts.reduce(0) { $0 + $1.payloadBytes } * sessions)
            let wire = Double(traffic.received.load(ordering: .relaxed))
            var line = Stats.line(kind: "session", count: count, elapsed: elapsed, latencies: samples)
            line += " sessions=\(connections * sessions) messages_per_session=\(perSession)"
            line += String(
                format: " payload_bytes_per_msg=%.1f wire_bytes_per_msg=%.1f wire_kib_per_session=%.1f wire_ratio=%.3f", payload / Double(count),
                wire / Double(count), wire / 1024 / Double(connections * sessions), wire / payload)
            if let cpuBefore, let cpuAfter {
                line += String(format: " server_us_per_msg=%.3f", (cpuAfter - cpuBefore) * 1e6 / Double(count))
            }
            if let writtenBefore, let writtenAfter {
                line += String(format: " server_wchar_per_msg=%.1f", Double(writtenAfter - writtenBefore) / Double(count))
            }
            print(line + " deflate=\(traffic.description)")
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

/// What a server sent to a set of client connections, and what they agreed.
final class Traffic: Sendable {
    /// Bytes read from the server after the handshake.
    let received = Atomic<Int>(0)
    /// permessage-deflate as the first connection agreed it.
    let agreed = Mutex<String?>(nil)

    var description: String { agreed.withLock { $0 } ?? "-" }
}

enum Negotiated {
    /// The agreed parameters as a response would carry them ("off" when not agreed).
    static func describe(_ parameters: PerMessageDeflateParameters?) -> String {
        guard let parameters else { return "off" }
        var text = "on"
        if parameters.serverNoContextTakeover { text += ";server_no_context_takeover" }
        if parameters.clientNoContextTakeover { text += ";client_no_context_takeover" }
        if parameters.serverMaxWindowBits < 15 { text += ";server_max_window_bits=\(parameters.serverMaxWindowBits)" }
        return text
    }
}

/// Counts the bytes a connection receives, at the head of its pipeline (so frame headers are included).
final class ByteCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let traffic: Traffic

    init(traffic: Traffic) { self.traffic = traffic }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        traffic.received.add(unwrapInboundIn(data).readableBytes, ordering: .relaxed)
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension ByteCounter: Sendable {}  // belongs to one event loop

/// CPU time (user + system) and bytes written by a process, from /proc/PID/stat and /proc/PID/io.
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

    /// `wchar`: bytes passed to write(2) and writev(2), sockets included.
    static func writtenBytes(pid: Int) -> Int? {
        guard let io = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return nil }
        return io.split(separator: "\n").first { $0.hasPrefix("wchar:") }.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
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
