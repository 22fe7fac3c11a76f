import AgoraCrypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reply of an SMTP server: a three-digit code and its text lines (RFC 5321 §4.2).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var isPositive: Bool { (200..<400).contains(code) }
    var isTransientFailure: Bool { (400..<500).contains(code) }
    /// The first line, for errors and logs.
    var summary: String { "\(code) \(lines.first ?? "")" }
}

/// One TCP connection to an SMTP server, optionally upgraded to TLS: writes command lines and reads replies.
///
/// Blocking, with a timeout on every read and write (`SO_RCVTIMEO`/`SO_SNDTIMEO`) and on connect, so a silent
/// server cannot hold a thread for longer than `timeout`. Runs on a thread pool, never on an event loop.
final class SMTPConnection {
    private let socket: Int32
    private var tls: TLSClientSession?
    private var buffer: [UInt8] = []
    /// RFC 5321 §4.5.3.1.5 allows 512-byte reply lines; we allow more but not without bound.
    static let maxLineLength = 4096
    static let maxReplyLines = 200

    /// Connects to `host:port`, trying each address the name resolves to.
    /// - Throws: `SMTPError` (transient) when no address accepts within `timeout`.
    init(host: String, port: Int, timeout: Duration) throws(SMTPError) {
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
            throw SMTPError(.transient, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            if let error = Self.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: timeout) {
                lastError = error
                close(fd)
                continue
            }
            Self.setTimeouts(fd, timeout)
            socket = fd
            return
        }
        throw SMTPError(.transient, "cannot connect to \(host):\(port): \(lastError)")
    }

    deinit {
        tls?.shutdown()
        close(socket)
    }

    /// Upgrades the connection to TLS (after `STARTTLS`, or at once for implicit TLS).
    func startTLS(serverName: String, caFile: String?) throws(SMTPError) {
        do {
            tls = try TLSClientSession(socket: socket, serverName: serverName, caFile: caFile)
        } catch {
            throw SMTPError(.transient, error.message)
        }
        buffer.removeAll()  // nothing read before the handshake may be trusted (RFC 3207 §4.2)
    }

    var isTLS: Bool { tls != nil }

    /// Sends `line` and CRLF, then reads the reply.
    func command(_ line: String) throws(SMTPError) -> SMTPReply {
        try write(Array((line + "\r\n").utf8))
        return try readReply()
    }

    /// Reads one (possibly multi-line) reply.
    func readReply() throws(SMTPError) -> SMTPReply {
        var lines: [String] = []
        while lines.count < Self.maxReplyLines {
            let line = try readLine()
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let code = Int(String(line.prefix(3))), (200...599).contains(code) else {
                throw SMTPError(.transient, "malformed reply from the server: \(line.prefix(80))")
            }
            lines.append(bytes.count > 4 ? String(line.dropFirst(4)) : "")
            // `250-text` continues, `250 text` (or a bare `250`) ends the reply.
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") { return SMTPReply(code: code, lines: lines) }
            guard bytes[3] == UInt8(ascii: "-") else { throw SMTPError(.transient, "malformed reply from the server: \(line.prefix(80))") }
        }
        throw SMTPError(.transient, "the server's reply has too many lines")
    }

    /// Writes bytes as they are.
    func write(_ bytes: [UInt8]) throws(SMTPError) {
        if let tls {
            do { try tls.write(bytes) } catch { throw SMTPError(.transient, error.message) }
            return
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in send(socket, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SMTPError(.transient, errno == EAGAIN || errno == EWOULDBLOCK ? "timed out writing to the server" : "write failed: \(Self.errorText())")
            }
            offset += written
        }
    }

    private func readLine() throws(SMTPError) -> String {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard buffer.count < Self.maxLineLength else { throw SMTPError(.transient, "the server sent an over-long line") }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = try receive(into: &chunk)
            guard count > 0 else { throw SMTPError(.transient, "the server closed the connection") }
            buffer += chunk[..<count]
        }
    }

    /// One read from the socket or the TLS session; 0 at end of stream.
    private func receive(into chunk: inout [UInt8]) throws(SMTPError) -> Int {
        if let tls {
            let result = chunk.withUnsafeMutableBytes { raw in Result { () throws(TLSError) in try tls.read(into: raw) } }
            switch result {
            case .success(let count): return count
            case .failure(let error): throw SMTPError(.transient, error.message)
            }
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { raw in recv(socket, raw.baseAddress, raw.count, 0) }
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SMTPError(.transient, errno == EAGAIN || errno == EWOULDBLOCK ? "timed out waiting for the server" : "read failed: \(Self.errorText())")
        }
    }

    // MARK: Sockets

    /// Non-blocking connect bounded by `timeout`; nil on success, else the reason.
    private static func connect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, timeout: Duration) -> String? {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return nil }
        guard errno == EINPROGRESS else { return errorText() }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&poller, 1, Int32(milliseconds(timeout)))
        guard ready > 0 else { return ready == 0 ? "timed out" : errorText() }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    private static func setTimeouts(_ fd: Int32, _ timeout: Duration) {
        let ms = milliseconds(timeout)
        var value = timeval(tv_sec: ms / 1000, tv_usec: Int((ms % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
