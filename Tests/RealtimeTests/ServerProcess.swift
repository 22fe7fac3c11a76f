import AgoraTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `agora serve` as a separate process, so a test can SIGKILL it: an instance dying with no goodbye.
final class ServerProcess: @unchecked Sendable {
    let port: Int
    private let process = Process()
    private let log: URL

    /// Starts the built `agora` binary with `environment` (a cluster's shared settings) on a free port and waits
    /// until it answers `/health`.
    init(environment: [String: String], extra: [String: String] = [:]) async throws {
        let binary = TestTools.repositoryRoot.appendingPathComponent(".build/debug/agora").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the agora binary first (swift build): \(binary)")
        port = try Self.freePort()
        log = FileManager.default.temporaryDirectory.appendingPathComponent("agora-child-\(UUID().uuidString).log")
        try Data().write(to: log)
        let handle = try FileHandle(forWritingTo: log)
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        env.merge(["AGORA_PORT": "\(port)", "AGORA_HOST": "127.0.0.1", "AGORA_LOG_LEVEL": "warning", "AGORA_MAIL_DISPATCH": "false"]) { $1 }
        env.merge(extra) { $1 }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve"]
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if await Self.healthy(port) { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        kill()
        Issue.record("agora serve did not come up on \(port): \(output.suffix(2000))")
        throw SocketTimeout(after: .seconds(30))
    }

    deinit {
        if process.isRunning { kill() }
        try? FileManager.default.removeItem(at: log)
    }

    /// SIGKILL: no shutdown, no Close frames, no presence goodbye.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
    }

    /// SIGTERM, then wait (polling) for the exit.
    func stop() async throws {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        kill()
    }

    static func healthy(_ port: Int) async -> Bool {
        guard let url = URL(string: "http://127.0.0.1:\(port)/health") else { return false }
        var request = URLRequest(url: url)
        request.timeoutInterval = 1
        return await withCheckedContinuation { continuation in
            URLSession.shared.dataTask(with: request) { _, response, _ in
                continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode == 200)
            }.resume()
        }
    }

    /// A port nothing listens on right now.
    static func freePort() throws -> Int { try TestTools.freePort() }
}

/// A Redis of the test's own, to stop and start without disturbing other tests.
final class PrivateRedis: @unchecked Sendable {
    let port: Int
    let directory: URL
    private var process: Process?

    init() throws {
        port = try ServerProcess.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("agora-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        stopNow()
        try? FileManager.default.removeItem(at: directory)
    }

    var url: String { "redis://127.0.0.1:\(port)/0" }

    /// Starts redis-server (keeping its data in `directory` across restarts) and waits until it accepts connections.
    func start() async throws {
        let binary = try #require(TestTools.onPath("redis-server") ?? ["/usr/bin/redis-server", "/usr/sbin/redis-server"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }, "redis-server not found")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory.path, "--save", "", "--appendonly", "yes", "--daemonize", "no"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if Self.accepts(port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SocketTimeout(after: .seconds(10))
    }

    /// SIGTERM: Redis flushes its append-only file and exits; sessions and everything else survive a restart.
    /// Waits by polling (Foundation's `waitUntilExit` can block a thread of the cooperative pool for good), until the
    /// port is free again.
    func stop() async throws {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(10)
        while (process.isRunning || Self.accepts(port)), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        self.process = nil
    }

    private func stopNow() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}
