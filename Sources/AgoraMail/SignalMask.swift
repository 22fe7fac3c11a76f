#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-thread signal handling for the blocking socket code.
enum SignalMask {
    /// Runs `body` with SIGPIPE blocked on this thread, then discards a SIGPIPE it raised.
    ///
    /// OpenSSL writes to the socket with `write(2)`, which raises SIGPIPE (whose default action ends the process) when
    /// the peer has gone; there is no `MSG_NOSIGNAL` for it. A blocked SIGPIPE raised by this thread's write stays
    /// pending on this thread, where `sigwait` takes it back. Nothing else in the process is affected.
    static func withSIGPIPEBlocked<T, Failure: Error>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        var pipe = sigset_t()
        sigemptyset(&pipe)
        sigaddset(&pipe, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipe, &previous)
        let alreadyBlocked = sigismember(&previous, SIGPIPE) == 1
        defer {
            if !alreadyBlocked {
                var pending = sigset_t()
                sigpending(&pending)
                if sigismember(&pending, SIGPIPE) == 1 {
                    var taken: Int32 = 0
                    _ = sigwait(&pipe, &taken)  // returns at once: it is pending
                }
                pthread_sigmask(SIG_SETMASK, &previous, nil)
            }
        }
        return try body()
    }
}
