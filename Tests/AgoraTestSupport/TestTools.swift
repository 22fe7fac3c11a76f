package import Foundation

/// Where the tests find the repository and the foreign programs they run (interop peers, the SMTP server).
package enum TestTools {
    /// The checkout's root folder.
    package static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `AGORA_INTEROP_PYTHON` if set (scripts/test.sh sets it from scripts/interop-deps.sh), else the virtualenv
    /// that script makes when pip may not install into the system Python, else `python3` on PATH.
    package static func python() -> String? {
        if let chosen = ProcessInfo.processInfo.environment["AGORA_INTEROP_PYTHON"], !chosen.isEmpty { return chosen }
        let venv = repositoryRoot.appendingPathComponent(".local/venv/bin/python3").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        return onPath("python3")
    }

    /// The first executable called `name` on PATH.
    package static func onPath(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A port nothing listens on right now (bound to 0, read, released).
    package static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
