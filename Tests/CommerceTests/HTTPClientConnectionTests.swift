@testable import Commerce
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The blocking connection: its timeouts, and its guard against SIGPIPE, which OpenSSL's `write(2)` to a closed peer
/// raises and whose default action would end the whole server.
struct HTTPClientConnectionTests {
    /// Synchronous on purpose: the write to a closed socket returns at once, and the signal mask is this thread's.
    @Test func aWriteToAClosedPeerFailsInsteadOfKillingTheProcess() throws {
        let outcome = try { () throws(HTTPClientError) -> (written: Int, error: Int32, raised: Bool, pending: Bool) in
            var pair: [Int32] = [0, 0]
            #if canImport(Glibc)
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { return (0, errno, false, false) }
            #else
            guard socketpair(AF_UNIX, SOCK_STREAM, 0, &pair) == 0 else { return (0, errno, false, false) }
            #endif
            close(pair[1])
            defer { close(pair[0]) }
            let result = try withSIGPIPEBlocked { () throws(HTTPClientError) -> (Int, Int32, Bool) in
                let bytes = [UInt8](repeating: 0x41, count: 16)
                // What OpenSSL does: plain write(2), no MSG_NOSIGNAL.
                let written = bytes.withUnsafeBytes { write(pair[0], $0.baseAddress, $0.count) }
                let error = errno
                // Pending only if SIGPIPE is not ignored in this process (an ignored signal is discarded), that is
                // when it would have ended the process unblocked.
                var pending = sigset_t()
                sigpending(&pending)
                return (written, error, sigismember(&pending, SIGPIPE) == 1)
            }
            var pending = sigset_t()
            sigpending(&pending)
            return (result.0, result.1, result.2, sigismember(&pending, SIGPIPE) == 1)
        }()
        // Still running, the write failed with EPIPE, and the SIGPIPE it raised was taken back.
        #expect(outcome.written == -1 && outcome.error == EPIPE)
        #expect(outcome.raised, "SIGPIPE is ignored in the test process, so this test proves nothing")
        #expect(!outcome.pending)
    }

    @Test func aSilentServerTimesOut() async throws {
        // A listening socket nobody accepts on: the kernel completes the TCP handshake, then nothing is ever said.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        try #require(bound && listen(listener, 8) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        for scheme in ["http", "https"] {
            let client = try HTTPSClient(baseURL: "\(scheme)://127.0.0.1:\(port)", connectTimeout: .milliseconds(700), timeout: .milliseconds(700))
            let started = ContinuousClock.now
            let error = await #expect(throws: HTTPClientError.self) { try await client.send(.get, "/") }
            #expect(error?.kind == .timeout, "\(scheme): \(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test func aRefusedConnectionIsAConnectError() async throws {
        let client = try HTTPSClient(baseURL: "https://127.0.0.1:1", connectTimeout: .seconds(5))
        let error = await #expect(throws: HTTPClientError.self) { try await client.send(.post, "/v1/refunds", body: Array("a=1".utf8)) }
        #expect(error?.kind == .connect && error?.message.contains("127.0.0.1:1") == true, "\(String(describing: error))")
    }
}
