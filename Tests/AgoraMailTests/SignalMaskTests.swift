import Testing

@testable import AgoraMail

#if canImport(Glibc)
import Glibc
#endif

/// The guard around the SMTP session: OpenSSL's `write(2)` to a closed peer raises SIGPIPE, whose default action would
/// end the whole server.
struct SignalMaskTests {
    /// Synchronous on purpose: the write to a closed socket returns at once, and the signal mask is this thread's.
    @Test func aWriteToAClosedPeerFailsInsteadOfKillingTheProcess() {
        var pair: [Int32] = [0, 0]
        #if canImport(Glibc)
        let made = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0
        #else
        let made = socketpair(AF_UNIX, SOCK_STREAM, 0, &pair) == 0
        #endif
        #expect(made)
        guard made else { return }
        close(pair[1])
        defer { close(pair[0]) }
        let (written, error, raised) = SignalMask.withSIGPIPEBlocked { () -> (Int, Int32, Bool) in
            let bytes = [UInt8](repeating: 0x41, count: 16)
            // What OpenSSL does: plain write(2), no MSG_NOSIGNAL.
            let written = bytes.withUnsafeBytes { write(pair[0], $0.baseAddress, $0.count) }
            let error = errno
            // Pending only if SIGPIPE is not ignored in this process (an ignored signal is discarded), that is when
            // it would have ended the process unblocked.
            var pending = sigset_t()
            sigpending(&pending)
            return (written, error, sigismember(&pending, SIGPIPE) == 1)
        }
        var pending = sigset_t()
        sigpending(&pending)
        // Still running, the write failed with EPIPE, and the SIGPIPE it raised was taken back.
        #expect(written == -1 && error == EPIPE)
        #expect(raised, "SIGPIPE is ignored in the test process, so this test proves nothing")
        #expect(sigismember(&pending, SIGPIPE) != 1)
    }
}
