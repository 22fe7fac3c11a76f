import AgoraPostgres
import AgoraWebSocket
import ArgumentParser
import Foundation
import Logging
import NIOCore
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Load on the realtime layer of running `agora serve` instances (scripts/bench-realtime.sh starts them).
struct RealtimeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realtime",
        abstract: "Chat end to end across instances, product broadcasts to many subscribers, memory per connected user.",
        subcommands: [Chat.self, Broadcast.self, Idle.self]
    )

    struct Target: ParsableArguments {
        @Option(help: "Ports of the instances, comma-separated (all on 127.0.0.1).") var ports = "8101,8102"
        @Option(help: "PIDs of the instances, comma-separated: their CPU time is sampled over the measured phase.") var serverPids = ""
        @Option(help: "The instances' database, to verify the bench seller's email.") var databaseURL = ""
        @Option(help: "Origin header the instances allow.") var origin = "http://localhost:8080"

        var portList: [Int] { ports.split(separator: ",").compactMap { Int($0) } }
        var pidList: [Int] { serverPids.split(separator: ",").compactMap { Int($0) } }
        var serverSeconds: Double { pidList.compactMap(ServerCPU.seconds(pid:)).reduce(0, +) }
    }

    // MARK: Chat

    struct Chat: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "P sender/receiver pairs on different instances, each sender at a steady rate.")
        @OptionGroup var target: Target
        @Option var pairs = 50
        @Option(help: "Messages per second per sender.") var rate = 20.0
        @Option var seconds = 10.0

        func run() async throws {
            let ports = target.portList
            let http = BenchHTTP(port: ports[0], origin: target.origin)
            let tag = String(UUID().uuidString.prefix(6)).lowercased()
            var conversations: [(sender: String, receiver: String, receiverID: String, conversation: String)] = []
            for i in 0..<pairs {
                let (senderToken, _) = try await http.register("s\(tag)\(i)")
                let (receiverToken, receiverID) = try await http.register("r\(tag)\(i)")
                let opened = try await http.call("POST", "/api/conversations", ["userId": receiverID], token: senderToken)
                conversations.append((senderToken, receiverToken, receiverID, try opened.string("id")))
            }
            let clock = ContinuousClock()
            let origin = clock.now
            let latencies = Recorder()
            let refused = Locked<[String]>([])
            var receiving: [BenchSocket] = []
            var sending: [BenchSocket] = []
            for (i, pair) in conversations.enumerated() {
                // The receiver is always on another instance than its sender (when there are two or more).
                sending.append(try await BenchSocket.connect(port: ports[i % ports.count], token: pair.sender, origin: target.origin))
                receiving.append(try await BenchSocket.connect(port: ports[(i + 1) % ports.count], token: pair.receiver, origin: target.origin))
            }
            try await Task.sleep(for: .seconds(1))
            let cpuBefore = target.serverSeconds
            let started = clock.now
            let interval = Duration.seconds(1 / rate)
            let (senders, receivers) = (sending, receiving)
            let pairs = self.pairs
            let seconds = self.seconds
            let total = Int(rate * seconds)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for receiver in receivers {
                    group.addTask {
                        let count = Atomic(0)
                        try await receiver.receive { text in
                            // {"type":"chat:message","seq":N,"data":{...,"text":"<nanos>",...}} from the other side only
                            // (the event's data is PostgreSQL's rendering of the stored message: `"text": "…"`)
                            guard text.contains("\"chat:message\""), let range = text.range(of: "\"text\":") else { return true }
                            let digits = text[range.upperBound...].drop { $0 == " " || $0 == "\"" }.prefix { $0.isNumber }
                            guard let sent = Int64(digits) else { return true }
                            latencies.latencies.withLock { $0.append((clock.now - origin) - .nanoseconds(sent)) }
                            return count.add(1, ordering: .relaxed).newValue < total
                        }
                    }
                }
                for (i, sender) in senders.enumerated() {
                    let conversation = conversations[i].conversation
                    // Reads the sender's acks and its own messages' echoes (and writes what it sends).
                    group.addTask {
                        try await sender.receive { text in
                            if text.hasPrefix("{\"type\":\"error\"") { refused.value.withLock { $0.append(String(text.prefix(200))) } }
                            return true
                        }
                    }
                    group.addTask {
                        // Spread the senders' phases over one interval so the load is steady, not bursts.
                        try await Task.sleep(for: interval * Double(i) / Double(max(1, senders.count)))
                        var next = clock.now
                        for n in 0..<total {
                            let now = clock.now - origin
                            let nanos = now.components.seconds * 1_000_000_000 + now.components.attoseconds / 1_000_000_000
                            sender.send("{\"type\":\"chat:send\",\"id\":\(n),\"data\":{\"conversationId\":\"\(conversation)\",\"text\":\"\(nanos)\"}}")
                            next += interval
                            try await clock.sleep(until: next)
                        }
                    }
                }
                // Stop waiting 5 s after the senders' last message.
                group.addTask {
                    try await Task.sleep(for: .seconds(seconds + 5))
                    throw CancellationError()
                }
                do {
                    // Receivers finishing and send loops ending; the senders' read loops end when they are closed.
                    for _ in 0..<(receivers.count + senders.count) { try await group.next() }
                } catch is CancellationError {}
                group.cancelAll()
            }
            let elapsed = clock.now - started
            let cpu = target.serverSeconds - cpuBefore
            let recorded = latencies.latencies.withLock { $0 }
            let expected = total * pairs
            let measured = min(elapsed, .seconds(seconds) + (recorded.max() ?? .zero))
            print(BenchStats.line("chat", count: recorded.count, elapsed: measured, latencies: recorded)
                + String(format: " expected=%d instances=%d offered_per_second=%.0f server_us_per_message=%.1f",
                         expected, ports.count, rate * Double(pairs), cpu * 1e6 / Double(max(1, recorded.count))))
            let errors = refused.value.withLock { $0 }
            if !errors.isEmpty { print("  \(errors.count) sends refused, first: \(errors[0])") }
            for socket in senders + receivers { socket.close() }
        }
    }

    // MARK: Broadcast

    struct Broadcast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "N subscribers of one product spread over the instances; its price changes U times.")
        @OptionGroup var target: Target
        @Option var subscribers = 10_000
        @Option var updates = 10
        @Option(help: "Milliseconds between price changes (more than the coalescing interval, so each is sent).") var intervalMs = 1000

        func run() async throws {
            let ports = target.portList
            let http = BenchHTTP(port: ports[0], origin: target.origin)
            let tag = String(UUID().uuidString.prefix(6)).lowercased()
            let (sellerToken, sellerID) = try await http.register("seller\(tag)")
            let db = PGPool(configuration: try PGConfiguration(url: target.databaseURL, poolSize: 1), logger: Logger(label: "bench"))
            try await db.execute("UPDATE accounts SET email_verified_at = now() WHERE id = \(UUID(uuidString: sellerID)!)", logger: Logger(label: "bench"))
            await db.close()
            let seller = try await http.call("POST", "/api/me/seller", [:], token: sellerToken)
            let token = try seller.string("accessToken")
            let created = try await http.call("POST", "/api/products", [
                "title": "Broadcast lamp", "price": ["amount": 100_000, "currency": "ZAR"], "stock": 5,
            ], token: token)
            let product = try created.string("id")
            _ = try await http.call("POST", "/api/products/\(product)/publish", [:], token: token)
            let (watcherToken, _) = try await http.register("watch\(tag)")

            let clock = ContinuousClock()
            let sentAt = Locked<[Int: ContinuousClock.Instant]>([:])
            let perUpdate = Locked<[Int: Int]>([:])
            let subscribed = Locked<Int>(0)
            let latencies = Recorder()
            var opened: [BenchSocket] = []
            while opened.count < subscribers {
                let wave = min(200, subscribers - opened.count)
                let base = opened.count
                opened += try await withThrowingTaskGroup(of: BenchSocket.self) { group in
                    for i in 0..<wave {
                        group.addTask {
                            try await BenchSocket.connect(port: ports[(base + i) % ports.count], token: watcherToken, origin: target.origin)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            // Each socket's loop below also sends its queued subscribe; the updates start once all have settled.
            let sockets = opened
            let cpuBefore = Locked<Double>(0)
            let started = Locked<ContinuousClock.Instant>(clock.now)
            let settings = self.target
            let (updates, intervalMs) = (self.updates, self.intervalMs)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for socket in sockets {
                    group.addTask {
                        let seen = Atomic(0)
                        try await socket.receive { text in
                            // As an app does: hello first, then follow the product.
                            if text.hasPrefix("{\"type\":\"hello\"") { socket.send("{\"type\":\"subscribe\",\"id\":1,\"data\":{\"topic\":\"product:\(product)\"}}") }
                            if text.hasPrefix("{\"type\":\"ack\""), text.contains("\"topic\"") { subscribed.value.withLock { $0 += 1 } }
                            guard text.contains("\"product:updated\""), let range = text.range(of: "\"amount\":") else { return true }
                            guard let amount = Int(text[range.upperBound...].prefix { $0.isNumber }), let sent = sentAt.value.withLock({ $0[amount] }) else { return true }
                            latencies.latencies.withLock { $0.append(clock.now - sent) }
                            perUpdate.value.withLock { $0[amount, default: 0] += 1 }
                            return seen.add(1, ordering: .relaxed).newValue < updates
                        }
                    }
                }
                group.addTask {
                    // Every subscription acknowledged (or a minute gone), then a moment for Redis to confirm them.
                    let ready = clock.now + .seconds(60)
                    while subscribed.value.withLock({ $0 }) < sockets.count, clock.now < ready { try await Task.sleep(for: .milliseconds(50)) }
                    try await Task.sleep(for: .seconds(1))
                    cpuBefore.value.withLock { $0 = settings.serverSeconds }
                    started.value.withLock { $0 = clock.now }
                    for n in 1...updates {
                        let amount = 100_000 + n
                        sentAt.value.withLock { $0[amount] = clock.now }
                        _ = try await http.call("PATCH", "/api/products/\(product)", ["price": ["amount": amount, "currency": "ZAR"]], token: token)
                        try await Task.sleep(for: .milliseconds(intervalMs))
                    }
                    try await Task.sleep(for: .seconds(5))
                    throw CancellationError()
                }
                do {
                    for _ in 0..<(sockets.count + 1) { try await group.next() }
                } catch is CancellationError {}
                group.cancelAll()
            }
            let cpu = target.serverSeconds - cpuBefore.value.withLock { $0 }
            let recorded = latencies.latencies.withLock { $0 }
            print(BenchStats.line("broadcast", count: recorded.count, elapsed: clock.now - started.value.withLock { $0 }, latencies: recorded)
                + String(format: " expected=%d subscribers=%d instances=%d server_us_per_delivery=%.2f",
                         subscribers * updates, subscribers, ports.count, cpu * 1e6 / Double(max(1, recorded.count))))
            let counts = perUpdate.value.withLock { $0 }
            if counts.values.contains(where: { $0 < subscribers }) {
                print("  deliveries per update: " + counts.keys.sorted().map { "\($0 - 100_000):\(counts[$0]!)" }.joined(separator: " "))
            }
            for socket in sockets { socket.close() }
        }
    }

    // MARK: Idle

    struct Idle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "N users, one connection each, held open: print 'ready N', hold --hold seconds.")
        @OptionGroup var target: Target
        @Option var users = 2000
        @Option var hold = 5.0

        func run() async throws {
            let ports = target.portList
            let http = BenchHTTP(port: ports[0], origin: target.origin)
            let tag = String(UUID().uuidString.prefix(6)).lowercased()
            var tokens: [String] = []
            for i in 0..<users { tokens.append(try await http.register("idle\(tag)\(i)").token) }
            print("registered \(tokens.count)")
            fflush(nil)
            try await Task.sleep(for: .seconds(2))
            var sockets: [BenchSocket] = []
            for (i, token) in tokens.enumerated() {
                sockets.append(try await BenchSocket.connect(port: ports[i % ports.count], token: token, origin: target.origin))
            }
            print("ready \(sockets.count)")
            fflush(nil)
            try await Task.sleep(for: .seconds(hold))
            for socket in sockets { socket.close() }
        }
    }
}

/// One realtime connection for the bench: send without waiting, receive in a loop.
final class BenchSocket: Sendable {
    let channel: WebSocketClientChannel
    private let outgoing: AsyncStream<String>.Continuation
    private let outbound: AsyncStream<String>

    private init(channel: WebSocketClientChannel) {
        self.channel = channel
        (outbound, outgoing) = AsyncStream.makeStream(of: String.self)
    }

    static func connect(port: Int, token: String, origin: String) async throws -> BenchSocket {
        let channel = try await WebSocketClient.connect(
            host: "127.0.0.1", port: port, path: "/ws?resume=0", headers: [("Origin", origin), ("Authorization", "Bearer \(token)")]
        )
        return BenchSocket(channel: channel)
    }

    func send(_ text: String) { outgoing.yield(text) }
    func close() { outgoing.finish() }

    /// Runs until `handle` returns false or the connection ends; sends what `send` queued meanwhile.
    func receive(_ handle: @escaping @Sendable (String) -> Bool) async throws {
        let outbound = self.outbound
        try await channel.executeThenClose { inbound, writer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { for await text in outbound { try await writer.write(.text(text)) } }
                group.addTask {
                    for try await message in inbound {
                        guard case .text(let text) = message else { continue }
                        if !handle(text) { break }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}

/// Registration and JSON calls over HTTP.
struct BenchHTTP: Sendable {
    let port: Int
    let origin: String

    struct Reply: Sendable {
        let status: Int
        let body: Data
        func string(_ key: String) throws -> String {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any], let value = object[key] as? String else {
                throw ValidationError("no \(key) in \(String(decoding: body, as: UTF8.self).prefix(300))")
            }
            return value
        }
    }

    func register(_ username: String) async throws -> (token: String, id: String) {
        let reply = try await call("POST", "/api/auth/register", [
            "email": "\(username)@bench.example", "username": username, "displayName": username, "password": "bench password 123",
        ], token: nil)
        let object = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any]
        guard let token = object?["accessToken"] as? String, let id = (object?["account"] as? [String: Any])?["id"] as? String else {
            throw ValidationError("register \(username): \(reply.status) \(String(decoding: reply.body, as: UTF8.self).prefix(300))")
        }
        return (token, id)
    }

    func call(_ method: String, _ path: String, _ json: [String: Any], token: String?) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.httpBody = try JSONSerialization.data(withJSONObject: json)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(origin, forHTTPHeaderField: "Origin")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let copy = request
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: copy) { data, response, error in
                if let error { return continuation.resume(throwing: error) }
                continuation.resume(returning: Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data ?? Data()))
            }.resume()
        }
    }
}

enum BenchStats {
    static func line(_ kind: String, count: Int, elapsed: Duration, latencies: [Duration]) -> String {
        let sorted = latencies.sorted()
        func ms(_ q: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            let d = sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
            return String(format: "%.2f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return "\(kind) delivered=\(count) per_second=\(Int(Double(count) / max(seconds, 0.001))) p50_ms=\(ms(0.5)) p99_ms=\(ms(0.99)) p999_ms=\(ms(0.999))"
    }
}

/// A value many tasks share.
final class Locked<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}
