package import Foundation
import Testing

/// `Tests/interop/push_service.py` as a child process: a Web Push service that makes subscriptions, checks each push's
/// VAPID token with py_vapid and decrypts its payload with http_ece, and records what it received.
package final class LocalPushService: Sendable {
    /// A push as the service received, verified and decrypted it.
    package struct Push: Decodable, Sendable {
        package var id: String
        package var at: Double
        package var attempt: Int
        package var ttl: String?
        package var urgency: String?
        package var topic: String?
        package var contentEncoding: String?
        package var vapid: Bool
        package var vapidError: String?
        package var claims: [String: ClaimValue]?
        package var k: String?
        package var payload: [String: String]?
        package var decryptError: String?
    }

    /// A JWT claim: a string (`aud`, `sub`) or a number (`exp`).
    package enum ClaimValue: Decodable, Sendable, Equatable {
        case string(String)
        case number(Double)

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) { self = .number(number) } else { self = .string(try container.decode(String.self)) }
        }
    }

    package let port: Int
    private let record: URL

    private init(port: Int, record: URL) {
        self.port = port
        self.record = record
    }

    package var origin: String { "http://127.0.0.1:\(port)" }

    /// Starts the service, runs `body`, stops the service.
    package static func with<R>(_ body: (LocalPushService) async throws -> R) async throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-push"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("pushes.jsonl")
        return try await PythonServer.with("Tests/interop/push_service.py", ["--record", record.path], in: directory, name: "the local push service") {
            try await body(LocalPushService(port: $0, record: record))
        }
    }

    /// A new subscription, as a browser's `PushSubscription.toJSON()`; its endpoint answers as `behaviour` says
    /// (`ok`, `gone`, `busy-once`, `error`).
    package func subscription(behaviour: String = "ok") async throws -> [String: Any] {
        let request = "POST /subscriptions?behaviour=\(behaviour) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        let answer = try await RawHTTP.exchange(port: port, Array(request.utf8), timeout: .seconds(10))
        let body = try #require(answer.range(of: "\r\n\r\n").map { answer[$0.upperBound...] }, "push service: \(answer)")
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "push service: \(answer)")
    }

    /// Every push received so far, in order.
    package func pushes() throws -> [Push] {
        guard let text = try? String(contentsOf: record, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Push.self, from: Data($0.utf8)) }
    }

    /// Waits until `condition` holds of the pushes received (at most `timeout`), and returns them.
    @discardableResult
    package func wait(timeout: Duration = .seconds(15), until condition: ([Push]) -> Bool) async throws -> [Push] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = try pushes()
            if condition(seen) { return seen }
            guard ContinuousClock.now < deadline else { return seen }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
