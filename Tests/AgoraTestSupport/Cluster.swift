package import AgoraApp
import AgoraPostgres
import AgoraWebSocket
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Realtime
package import Testing

/// One running instance of the real application.
package struct Node: Sendable {
    package let port: Int
    package let services: AgoraServices
    package let api: API
    /// The environment every instance of the cluster shares (database schema, Redis prefix, data folder), for
    /// starting more as separate processes.
    package let environment: [String: String]
}

/// Several instances of the real application sharing one scratch schema and one Redis prefix, each serving HTTP
/// and `/ws` on its own port, as a deployment behind a load balancer would run them.
package enum Cluster {
    package static func with(_ count: Int, _ overrides: [String: String] = [:], _ body: @Sendable ([Node]) async throws -> Void) async throws {
        try await TestDatabase.withSchema { _, database in
            // One data folder, so every instance has the same development secrets (a token from A is good on B).
            var settings = [
                "AGORA_PORT": "0", "AGORA_REDIS_PREFIX": TestServices.uniqueName("agora-rt") + ":", "AGORA_RATE_LIMITS": "false",
                "AGORA_DATA_DIR": NSTemporaryDirectory() + TestServices.uniqueName("agora-rt-data"),
            ]
            settings.merge(overrides) { _, new in new }
            var apps: [(any ApplicationProtocol, AgoraServices)] = []
            for _ in 0..<count {
                var config = try TestApp.config(settings)
                config.postgres.searchPath = database.searchPath
                apps.append(try buildApplication(config: config, logger: TestServices.logger))
            }
            var environment = settings
            let base = try TestServices.requireDatabaseURL()
            environment["AGORA_DATABASE_URL"] = base + (base.contains("?") ? "&" : "?") + "search_path=\(database.searchPath ?? "public")"
            environment["AGORA_REDIS_URL"] = try settings["AGORA_REDIS_URL"] ?? TestServices.requireRedisURL()
            try await nest(apps[...], [], environment, body)
        }
    }

    private static func nest(
        _ apps: ArraySlice<(any ApplicationProtocol, AgoraServices)>, _ nodes: [Node], _ environment: [String: String],
        _ body: @Sendable ([Node]) async throws -> Void
    ) async throws {
        guard let (app, services) = apps.first else { return try await body(nodes) }
        let rest = apps.dropFirst()
        try await app.test(.live) { client in
            let node = Node(port: try #require(client.port), services: services, api: API(client: client), environment: environment)
            try await nest(rest, nodes + [node], environment, body)
        }
    }
}

/// A realtime client for tests: JSON in, JSON out, with timeouts.
package final class TestSocket {
    private var incoming: AsyncStream<String>.Iterator
    private let incomingContinuation: AsyncStream<String>.Continuation
    private let outgoing: AsyncStream<WebSocketOutbound>.Continuation
    private let task: Task<Void, any Error>
    private var timeouts = 0
    /// Durable events seen, by sequence, to assert "exactly once".
    package private(set) var lastSeq: Int64 = 0
    package private(set) var hello: [String: Any]?

    private init(channel: WebSocketClientChannel) {
        let (inbound, inContinuation) = AsyncStream.makeStream(of: String.self)
        let (outbound, outContinuation) = AsyncStream.makeStream(of: WebSocketOutbound.self)
        incoming = inbound.makeAsyncIterator()
        incomingContinuation = inContinuation
        outgoing = outContinuation
        task = Task {
            defer { inContinuation.finish() }
            try await channel.executeThenClose { messages, writer in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await message in messages { if case .text(let text) = message { inContinuation.yield(text) } }
                    }
                    group.addTask { for await message in outbound { try await writer.write(message) } }
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    deinit {
        outgoing.finish()
        task.cancel()
    }

    /// Connects to `/ws` of `port` with a Bearer token (or none), from `origin`.
    package static func connect(
        port: Int, token: String?, origin: String? = API.origin, query: String = "", headers extra: [(String, String)] = []
    ) async throws -> TestSocket {
        var headers = extra
        if let origin { headers.append(("Origin", origin)) }
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let channel = try await WebSocketClient.connect(host: "127.0.0.1", port: port, path: "/ws" + query, headers: headers)
        let socket = TestSocket(channel: channel)
        let hello = try #require(try await socket.next(), "no hello")
        #expect(hello["type"] as? String == "hello")
        socket.hello = hello
        return socket
    }

    /// Connects and resumes after `lastSeq` at once.
    package static func resuming(port: Int, token: String, after lastSeq: Int64) async throws -> TestSocket {
        let socket = try await connect(port: port, token: token)
        socket.lastSeq = lastSeq
        try socket.send(["type": "resume", "id": "r", "data": ["lastSeq": lastSeq]])
        return socket
    }

    package func send(_ message: [String: Any]) throws {
        outgoing.yield(.text(String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self)))
    }

    /// Takes `seq` as processed (a socket that resumed from there through the upgrade's query).
    package func resumed(from seq: Int64) { lastSeq = seq }

    /// The next message, or nil if the connection closed; fails after `timeout`.
    package func next(timeout: Duration = .seconds(15)) async throws -> [String: Any]? {
        timeouts += 1
        let marker = "\u{0}timeout-\(timeouts)"
        let continuation = incomingContinuation
        let timer = Task {
            try await Task.sleep(for: timeout)
            continuation.yield(marker)
        }
        defer { timer.cancel() }
        while true {
            guard let text = await incoming.next() else { return nil }
            if text.hasPrefix("\u{0}timeout-") {
                if text == marker { throw SocketTimeout(after: timeout) }
                continue
            }
            let message = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not JSON: \(text)")
            if message["type"] as? String == "reset", let through = ((message["data"] as? [String: Any])?["through"] as? NSNumber)?.int64Value {
                // The server no longer keeps the events through `through` (retention): delivery goes on after it.
                lastSeq = through
            }
            if let seq = (message["seq"] as? NSNumber)?.int64Value {
                #expect(seq == lastSeq + 1, "durable event \(seq) after \(lastSeq): a gap or a duplicate")
                lastSeq = seq
            }
            return message
        }
    }

    /// The next message of `type`, skipping the types in `skipping`; any other type fails the test.
    package func expect(
        _ type: String, skipping: Set<String> = [], timeout: Duration = .seconds(15), sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [String: Any] {
        var skipped: [String] = []
        while true {
            let message: [String: Any]?
            do {
                message = try await next(timeout: timeout)
            } catch var timedOut as SocketTimeout {
                // Say which wait ran out and what came meanwhile: a bare "no message" names neither.
                timedOut.waitingFor = "\(type) at \(sourceLocation.fileName):\(sourceLocation.line), after skipping \(skipped)"
                throw timedOut
            }
            let got = try #require(message, "closed while waiting for \(type)", sourceLocation: sourceLocation)["type"] as? String ?? "?"
            if got == type, let message { return message }
            if skipping.contains(got) {
                skipped.append(got)
                continue
            }
            Issue.record("expected \(type), got \(String(describing: message))", sourceLocation: sourceLocation)
            throw SocketTimeout(after: .zero)
        }
    }

    /// Waits until the server closes the connection, ignoring what arrives before.
    package func waitForClose(timeout: Duration = .seconds(20)) async throws {
        while try await next(timeout: timeout) != nil {}
    }

    package func close() {
        outgoing.yield(.close(code: 1000, reason: "bye"))
    }
}

package struct SocketTimeout: Error, CustomStringConvertible {
    package var after: Duration
    /// What the test was waiting for, when `expect` knows it.
    package var waitingFor: String?
    package init(after: Duration) { self.after = after }
    package var description: String { "no message within \(after)" + (waitingFor.map { " waiting for \($0)" } ?? "") }
}

extension [String: Any] {
    package var data: [String: Any] { self["data"] as? [String: Any] ?? [:] }
    package var seq: Int64? { (self["seq"] as? NSNumber)?.int64Value }
}
