import AgoraTestSupport
import Foundation
import Testing

@testable import AgoraNet

/// The outbound client itself: the requests it builds, what it refuses to send, and how a silent, refusing or
/// untrusted peer surfaces. `StripeProviderAPITests` checks what arrives at a fake Stripe API.
@Suite(.timeLimit(.minutes(1)))
struct HTTPSClientTests {
    @Test func requestsGoToTheBaseURLWithConnectionClose() throws {
        let client = try HTTPSClient(baseURL: "https://api.example.com/base/")
        #expect(client.usesTLS && client.host == "api.example.com" && client.port == 443 && client.basePath == "/base")
        #expect(try client.url("/v1/refunds") == "https://api.example.com:443/base/v1/refunds")
        let fields = try client.fields([.init("Authorization", "Bearer k"), .init("Idempotency-Key", "r-1")])
        #expect(fields.map { "\($0.name): \($0.value)" } == ["Authorization: Bearer k", "Idempotency-Key: r-1", "Connection: close", "User-Agent: Agora"])

        let plain = try HTTPSClient(baseURL: "http://[::1]:8080")
        #expect(!plain.usesTLS && plain.host == "::1" && plain.port == 8080 && plain.basePath == "")
        #expect(try plain.url("/x?y=1") == "http://[::1]:8080/x?y=1")
        #expect(try plain.fields([.init("User-Agent", "test")]).map { "\($0.name): \($0.value)" } == ["User-Agent: test", "Connection: close"])
    }

    @Test func requestsThatCouldSmuggleAreRefused() throws {
        let client = try HTTPSClient(baseURL: "https://api.example.com")
        for headers: [HTTPSClient.Header] in [
            [.init("X", "a\r\nInjected: yes")], [.init("X", "a\nb")], [.init("Bad Name", "v")], [.init("", "v")],
            [.init("Content-Length", "5")], [.init("host", "evil")], [.init("Transfer-Encoding", "chunked")], [.init("Connection", "keep-alive")],
        ] {
            let error = #expect(throws: HTTPClientError.self) { try client.fields(headers) }
            #expect(error?.kind == .invalidRequest && error?.message.contains("Injected") == false)
        }
        #expect(throws: HTTPClientError.self) { try client.url("/a b") }
        #expect(throws: HTTPClientError.self) { try client.url("relative") }
        for url in ["ftp://h", "https://", "https://u:p@h", "https://h/?q=1", "https://h/#f", "not a url"] {
            #expect(throws: HTTPClientError.self, "\(url)") { try HTTPSClient(baseURL: url) }
        }
    }

    @Test func aCAFileThatCannotBeReadIsRefusedAtOnce() throws {
        let error = #expect(throws: HTTPClientError.self) { try HTTPSClient(baseURL: "https://api.example.com", caFile: "/nonexistent/ca.pem") }
        #expect(error?.kind == .tls && error?.message.contains("/nonexistent/ca.pem") == true)
    }

    @Test func aSilentServerTimesOut() async throws {
        // The kernel completes the TCP handshake, then nothing is ever said: no TLS handshake, no response.
        let silent = try await SilentServer.start()
        for scheme in ["http", "https"] {
            let client = try HTTPSClient(baseURL: "\(scheme)://127.0.0.1:\(silent.port)", connectTimeout: .milliseconds(700), timeout: .milliseconds(700))
            let started = ContinuousClock.now
            let error = await #expect(throws: HTTPClientError.self) { try await client.send(.get, "/") }
            #expect(error?.kind == .timeout, "\(scheme): \(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(10))
        }
        await silent.close()
    }

    /// The old client ran each call on a thread of a two-thread pool: sixteen calls to a silent server took eight
    /// timeouts in turn. Now no call holds a thread, and they all time out together.
    @Test func callsWaitingForASilentServerHoldNoThread() async throws {
        let silent = try await SilentServer.start()
        let client = try HTTPSClient(baseURL: "http://127.0.0.1:\(silent.port)", connectTimeout: .seconds(1), timeout: .seconds(1))
        let started = ContinuousClock.now
        let kinds = await withTaskGroup(of: HTTPClientError.Kind?.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    do throws(HTTPClientError) {
                        _ = try await client.send(.post, "/v1/refunds", body: Array("a=1".utf8))
                        return nil
                    } catch {
                        return error.kind
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = ContinuousClock.now - started
        #expect(kinds.allSatisfy { $0 == .timeout }, "\(kinds)")
        #expect(elapsed < .seconds(5), "16 calls took \(elapsed): they queued for threads")
        await silent.close()
    }

    @Test func aRefusedConnectionIsAConnectError() async throws {
        let client = try HTTPSClient(baseURL: "https://127.0.0.1:1", connectTimeout: .seconds(5))
        let error = await #expect(throws: HTTPClientError.self) { try await client.send(.post, "/v1/refunds", body: Array("a=1".utf8)) }
        #expect(error?.kind == .connect && error?.message.contains("127.0.0.1:1") == true, "\(String(describing: error))")
    }

    @Test func aCancelledCallIsCancelled() async throws {
        let silent = try await SilentServer.start()
        let client = try HTTPSClient(baseURL: "http://127.0.0.1:\(silent.port)", connectTimeout: .seconds(20), timeout: .seconds(20))
        let call = Task { try await client.send(.get, "/") }
        while silent.connections == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let started = ContinuousClock.now
        call.cancel()
        let error = await #expect(throws: HTTPClientError.self) { try await call.value }
        #expect(error?.kind == .cancelled, "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(5))
        await silent.close()
    }
}
