import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

private func errorBody(_ buffer: ByteBuffer) throws -> ErrorBody {
    try JSONDecoder().decode(ErrorBody.self, from: Data(buffer.readableBytesView))
}

private let requestID = HTTPField.Name("X-Request-Id")!

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ServerTests {
    @Test func readyIs200WithBothDependenciesUp() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                try await client.execute(uri: "/health/ready", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    let checks = body?["checks"] as? [String: [String: Any]]
                    #expect(body?["status"] as? String == "ok")
                    #expect(checks?["postgres"]?["status"] as? String == "up")
                    #expect(checks?["redis"]?["status"] as? String == "up")
                    #expect(checks?["postgres"]?["latencyMs"] is Double)
                }
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
                }
            }
        }
    }

    @Test func readyIs503NamingTheDependencyThatIsDown() async throws {
        try await TestApp.withApplication(["AGORA_REDIS_URL": "redis://127.0.0.1:1/0"]) { app, _ in
            try await app.test(.router) { client in
                try await client.execute(uri: "/health/ready", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    let checks = body?["checks"] as? [String: [String: Any]]
                    #expect(body?["status"] as? String == "unavailable")
                    #expect(checks?["redis"]?["status"] as? String == "down")
                    #expect(checks?["postgres"]?["status"] as? String == "up")
                }
            }
        }
    }

    @Test func errorsHaveTheOneShape() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/nothing-here", method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                    let body = try errorBody(response.body)
                    #expect(body.statusCode == 404 && body.error == "Not Found" && body.code == "not_found")
                    #expect(body.path == "/api/nothing-here")
                    #expect(body.requestId == response.headers[requestID])
                    #expect(ISO8601DateFormatter().date(from: body.timestamp) != nil)
                }
                try await client.execute(uri: "/health/ready", method: .delete) { response in
                    #expect(response.status == .methodNotAllowed)
                    #expect(response.headers[.allow] == "GET")
                    let body = try errorBody(response.body)
                    #expect(body.statusCode == 405 && body.code == "method_not_allowed")
                }
                try await client.execute(
                    uri: "/api/anything", method: .post, headers: [.contentLength: String(2 << 20)],
                    body: ByteBuffer(repeating: UInt8(ascii: "x"), count: 2 << 20)
                ) { response in
                    #expect(response.status == .contentTooLarge)
                    let body = try errorBody(response.body)
                    #expect(body.statusCode == 413 && body.code == "payload_too_large")
                }
            }
        }
    }

    @Test func requestIDIsAcceptedEchoedOrGenerated() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                try await client.execute(uri: "/health", method: .get, headers: [requestID: "edge-7f3a.1"]) { response in
                    #expect(response.headers[requestID] == "edge-7f3a.1")
                }
                try await client.execute(uri: "/missing", method: .get, headers: [requestID: "trace-42"]) { response in
                    #expect(response.headers[requestID] == "trace-42")
                    let body = try errorBody(response.body)
                    #expect(body.requestId == "trace-42")
                }
                // Unsafe ids (spaces, CR/LF, overlong) are replaced, never echoed.
                for bad in ["has space", "x\u{7F}", String(repeating: "a", count: 129)] {
                    try await client.execute(uri: "/health", method: .get, headers: [requestID: bad]) { response in
                        let id = try #require(response.headers[requestID])
                        #expect(id != bad && !id.isEmpty)
                    }
                }
                var seen = Set<String>()
                for _ in 0..<3 {
                    try await client.execute(uri: "/health", method: .get) { response in
                        seen.insert(try #require(response.headers[requestID]))
                    }
                }
                #expect(seen.count == 3)
            }
        }
    }

    @Test func everyResponseCarriesSecurityHeaders() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                for uri in ["/health", "/missing"] {
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.headers[.xContentTypeOptions] == "nosniff")
                        let policy = try #require(response.headers[.contentSecurityPolicy])
                        // No inline script or style, nothing from elsewhere: the PWA is built to need none.
                        for directive in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
                            #expect(policy.contains(directive), "\(directive) missing from \(policy)")
                        }
                        #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
                    }
                }
            }
        }
    }

    @Test func metricsCountRequestsByRouteAndShowPools() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                try await client.execute(uri: "/health/ready", method: .get) { _ in }
                try await client.execute(uri: "/nope", method: .get) { _ in }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                    let text = String(buffer: response.body)
                    #expect(text.contains(#"agora_http_requests_total{route="/health/ready",method="GET",status="200"} 1"#))
                    #expect(text.contains(#"agora_http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
                    #expect(text.contains(#"agora_http_request_duration_seconds_bucket{route="/health/ready",method="GET""#))
                    #expect(text.contains(#"agora_pool_capacity{pool="postgres"} 4.0"#))
                    #expect(text.contains(#"agora_pool_connections_open{pool="redis"}"#))
                }
            }
        }
    }

    @Test func migrationsRunBeforeTheServerStarts() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { _ in
                let versions = try await services.db.query("SELECT version FROM schema_migrations ORDER BY version", logger: TestServices.logger)
                let expected = try Migrations.all().map(\.version)
                #expect(!expected.isEmpty)
                #expect(try versions.map { try $0.decode("version", as: Int.self) } == expected)
            }
        }
    }

    @Test func staticFilesAreServedWithCacheHeaders() async throws {
        let folder = NSTemporaryDirectory() + TestServices.uniqueName("public")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("<!doctype html><title>Agora</title>".utf8).write(to: URL(fileURLWithPath: folder + "/index.html"))
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: URL(fileURLWithPath: folder + "/logo.png"))
        // Under the server's own prefixes nothing is looked up on disk, so these are never served.
        try FileManager.default.createDirectory(atPath: folder + "/api", withIntermediateDirectories: true)
        try Data("not a file of ours".utf8).write(to: URL(fileURLWithPath: folder + "/api/stray.txt"))
        try Data("not a file of ours".utf8).write(to: URL(fileURLWithPath: folder + "/metrics.txt"))
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await TestApp.withApplication(["AGORA_PUBLIC_DIR": folder]) { app, _ in
            try await app.test(.router) { client in
                try await client.execute(uri: "/", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("<title>Agora</title>"))
                    #expect(response.headers[.cacheControl] == "no-cache")
                    #expect(response.headers[.eTag] != nil)
                }
                try await client.execute(uri: "/logo.png", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.cacheControl] == "public, max-age=86400")
                }
                // The app's own addresses get the shell, so deep links and reloads work; files, the API and
                // unknown paths do not.
                for uri in ["/chat", "/orders/abc", "/verify-email?token=x", "/sell/products/new", "/u/someone"] {
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.status == .ok, "\(uri)")
                        #expect(String(buffer: response.body).contains("<title>Agora</title>"), "\(uri)")
                    }
                }
                // A product's address is its share page (SharePages): an unknown one is a 404 that still boots the app.
                try await client.execute(uri: "/p/3f0c8a4e-0b0a-4d5c-9e53-2b8f1d7c0a11", method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(String(buffer: response.body).contains("/app/main.js"))
                }
                try await client.execute(uri: "/metrics.txt", method: .get) { response in
                    #expect(response.status == .ok, "a prefix is a whole segment")
                }
                for uri in ["/nowhere", "/p/x/logo.png", "/api/nothing", "/api/stray.txt"] {
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.status == .notFound, "\(uri)")
                    }
                }
                try await client.execute(uri: "/chat", method: .post) { response in
                    #expect(response.status != .ok)
                }
                // Path traversal is refused in the error shape, and nothing outside the folder is served.
                try await client.execute(uri: "/../Package.swift", method: .get) { response in
                    #expect(response.status == .badRequest)
                    let body = try errorBody(response.body)
                    #expect(body.code == "bad_request")
                }
            }
        }
    }

    @Test func anEditedStaticFileIsServedAfterRevalidation() async throws {
        let folder = NSTemporaryDirectory() + TestServices.uniqueName("public")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = URL(fileURLWithPath: folder + "/app.css")
        try Data("body { color: black }".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await TestApp.withApplication(["AGORA_PUBLIC_DIR": folder, "AGORA_STATIC_CACHE_REVALIDATE_MS": "100"]) { app, _ in
            try await app.test(.router) { client in
                var firstTag: String?
                // Twice: the second answer comes from memory and must be the same.
                for _ in 0..<2 {
                    try await client.execute(uri: "/app.css", method: .get) { response in
                        #expect(response.status == .ok)
                        #expect(String(buffer: response.body) == "body { color: black }")
                        #expect(response.headers[.contentLength] == "21")
                        if let firstTag { #expect(response.headers[.eTag] == firstTag) } else { firstTag = response.headers[.eTag] }
                    }
                }
                try Data("body { color: darkslategray }".utf8).write(to: file)
                try await Task.sleep(for: .milliseconds(250))
                try await client.execute(uri: "/app.css", method: .get) { response in
                    #expect(String(buffer: response.body) == "body { color: darkslategray }")
                    #expect(response.headers[.eTag] != firstTag)
                }
                try FileManager.default.removeItem(at: file)
                try await Task.sleep(for: .milliseconds(250))
                try await client.execute(uri: "/app.css", method: .get) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }
}

/// `agora_duty_*`: every instance runs every background duty, and its metrics say what each did.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct DutyMetricsTests {
    /// `name{duty="…"} value` lines of one scrape, by duty.
    static func values(_ metric: String, in text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(metric + "{duty=\"") {
            let rest = line.dropFirst(metric.count + 7)
            guard let quote = rest.firstIndex(of: "\""), let space = rest.lastIndex(of: " "), let value = Double(rest[rest.index(after: space)...]) else { continue }
            values[String(rest[..<quote])] = value
        }
        return values
    }

    @Test func eachInstanceShowsWhichDutiesItRunsAndTheirWorkAddsUp() async throws {
        try await Cluster.with(2, ["AGORA_MAIL_POLL_MS": "50", "AGORA_RELAY_INTERVAL_MS": "50"]) { nodes in
            for index in 0..<3 { _ = try await nodes[index % 2].api.register("duty_user_\(index)") }
            // Three verification mails, sent by whichever dispatcher claimed each.
            let deadline = ContinuousClock.now + .seconds(20)
            var scrapes: [String] = []
            while true {
                scrapes = []
                for node in nodes {
                    scrapes.append(try await node.api.client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) })
                }
                let sent = scrapes.map { Self.values("agora_duty_items", in: $0)["mail_dispatcher"] ?? 0 }.reduce(0, +)
                if sent >= 3 || ContinuousClock.now > deadline { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let expected: Set = ["mail_dispatcher", "notification_relay", "commerce_sweeper", "view_flush", "stream_pruner", "push_dispatcher", "chat_digest"]
            for scrape in scrapes {
                #expect(Set(Self.values("agora_duty_running", in: scrape).keys) == expected)
                #expect((Self.values("agora_duty_runs", in: scrape)["mail_dispatcher"] ?? 0) > 0)
                #expect(scrape.contains("agora_instance_info{instance=\""))
            }
            // Each mail went out once, from one instance or the other.
            let sent = scrapes.map { Self.values("agora_duty_items", in: $0)["mail_dispatcher"] ?? 0 }
            #expect(sent.reduce(0, +) == 3, "mails sent per instance: \(sent)")
        }
    }
}

/// An upgrade is recognised only as the first request of a connection; a later one gets a clear 400, not a 404.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct LateUpgradeTests {
    @Test func anUpgradeAfterAnotherRequestOnTheSameConnectionIsA400ThatSaysWhy() async throws {
        try await Cluster.with(1) { nodes in
            let upgrade = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            // A request, its answer, then the upgrade on the same kept-alive connection (what a pooling proxy does).
            let socket = try await RawSocket.connect(port: nodes[0].port)
            try await socket.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try await socket.readHTTP().status == 200)
            try await socket.send(upgrade)
            let late = try await socket.readHTTP()
            #expect(late.status == 400, "\(late)")
            #expect(late.body.contains("\"code\":\"upgrade_not_first\""), "\(late)")
            // The same upgrade as the first request of a connection is a handshake (refused here: no credentials).
            let first = try await RawHTTP.exchange(port: nodes[0].port, Array(upgrade.utf8), timeout: .seconds(5))
            #expect(first.hasPrefix("HTTP/1.1 401"), "\(first)")
        }
    }
}
