import AgoraCrypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking TCP connection of `HTTPSClient`, optionally wrapped in TLS (`TLSClientSession`).
///
/// Every read and write is bounded by the current deadline: before each one, the socket's `SO_RCVTIMEO` and
/// `SO_SNDTIMEO` are set to the time left, so a silent or slow-dripping server cannot hold a thread past it. Runs on
/// a thread pool, never on the cooperative pool or an event loop; one thread at a time.
final class HTTPClientConnection {
    private let socket: Int32
    private var tls: TLSClientSession?
    private let host: String
    private var deadline: ContinuousClock.Instant

    /// Connects to `host:port` within `timeout`, trying each address the name resolves to.
    init(host: String, port: Int, timeout: Duration) throws(HTTPClientError) {
        self.host = host
        self.deadline = .now + timeout
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw HTTPClientError(.connect, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var timedOut = false
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let left = deadline - .now
            guard left > .zero else {
                timedOut = true
                break
            }
            #if canImport(Glibc)
            let fd = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            #else
            let fd = Darwin.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            #endif
            guard fd >= 0 else { continue }
            if let error = Self.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: left) {
                lastError = error
                timedOut = timedOut || error == "timed out"
                close(fd)
                continue
            }
            socket = fd
            return
        }
        throw HTTPClientError(timedOut ? .timeout : .connect, "cannot connect to \(host):\(port): \(timedOut ? "timed out" : lastError)")
    }

    deinit {
        tls?.shutdown()
        close(socket)
    }

    /// Bounds every following read and write (and the TLS handshake).
    func setDeadline(_ deadline: ContinuousClock.Instant) {
        self.deadline = deadline
    }

    /// Performs the TLS handshake, checking the certificate against `caFile` (nil: the system's roots) and `host`.
    func startTLS(caFile: String?) throws(HTTPClientError) {
        try applyDeadline()
        do {
            tls = try TLSClientSession(socket: socket, serverName: host, caFile: caFile)
        } catch {
            throw isTimeout() ? HTTPClientError(.timeout, "TLS handshake with \(host) timed out") : HTTPClientError(.tls, error.message)
        }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws(HTTPClientError) {
        if let tls {
            try applyDeadline()
            do { try tls.write(bytes) } catch {
                throw isTimeout() ? HTTPClientError(.timeout, "timed out writing to \(host)") : HTTPClientError(.protocolViolation, error.message)
            }
            return
        }
        var offset = 0
        while offset < bytes.count {
            try applyDeadline()
            let written = bytes.withUnsafeBytes { raw in send(socket, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                if isTimeout() { throw HTTPClientError(.timeout, "timed out writing to \(host)") }
                throw HTTPClientError(.protocolViolation, "write to \(host) failed: \(Self.errorText())")
            }
            offset += written
        }
    }

    /// Reads what is available, up to `buffer.count` bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPClientError) -> Int {
        try applyDeadline()
        if let tls {
            do { return try tls.read(into: buffer) } catch {
                throw isTimeout() ? HTTPClientError(.timeout, "timed out waiting for \(host)") : HTTPClientError(.protocolViolation, error.message)
            }
        }
        while true {
            let count = recv(socket, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            if isTimeout() { throw HTTPClientError(.timeout, "timed out waiting for \(host)") }
            throw HTTPClientError(.protocolViolation, "read from \(host) failed: \(Self.errorText())")
        }
    }

    // MARK: Sockets

    /// Sets the socket's timeouts to the time left before the deadline.
    private func applyDeadline() throws(HTTPClientError) {
        let left = deadline - .now
        guard left > .zero else { throw HTTPClientError(.timeout, "\(host) did not answer in time") }
        let ms = max(1, Self.milliseconds(left))
        var value = timeval(tv_sec: ms / 1000, tv_usec: .init((ms % 1000) * 1000))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Whether the failure that just happened was a socket timeout (or the deadline has passed anyway).
    private func isTimeout() -> Bool {
        errno == EAGAIN || errno == EWOULDBLOCK || ContinuousClock.now >= deadline
    }

    /// Non-blocking connect bounded by `timeout`; nil on success, else the reason.
    private static func connect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, timeout: Duration) -> String? {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        #if canImport(Glibc)
        let started = Glibc.connect(fd, address, length)
        #else
        let started = Darwin.connect(fd, address, length)
        #endif
        if started == 0 { return nil }
        guard errno == EINPROGRESS else { return errorText() }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&poller, 1, Int32(clamping: max(1, milliseconds(timeout))))
        guard ready > 0 else { return ready == 0 ? "timed out" : errorText() }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

/// Runs `body` with SIGPIPE blocked on this thread, then discards a SIGPIPE it raised.
///
/// OpenSSL writes to the socket with `write(2)`, which raises SIGPIPE (whose default action ends the process) when
/// the peer has gone; there is no `MSG_NOSIGNAL` for it. A blocked SIGPIPE raised by this thread's write stays pending
/// on this thread, where `sigwait` takes it back. Nothing else in the process is affected.
func withSIGPIPEBlocked<T>(_ body: () throws(HTTPClientError) -> T) throws(HTTPClientError) -> T {
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
