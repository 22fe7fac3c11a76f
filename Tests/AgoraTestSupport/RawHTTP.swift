import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Bytes over a plain TCP socket, for requests no HTTP client will send (broken chunking, odd headers).
package enum RawHTTP {
    /// Sends `bytes` to 127.0.0.1:`port` and returns what comes back until the server closes or `timeout` passes.
    /// Blocking socket calls run on a thread of their own, not on Swift's cooperative pool.
    package static func exchange(port: Int, _ bytes: [UInt8], timeout: Duration = .seconds(3)) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try blockingExchange(port: port, bytes, timeout: timeout) }) }
            thread.start()
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func blockingExchange(port: Int, _ bytes: [UInt8], timeout: Duration) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect: \(errno)") }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw Failure(description: "send: \(errno)")
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += chunk[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
