package import Foundation
import Testing

/// A test server written in Python (`Tests/interop/*.py`) as a child process: started with `--ready FILE`, it writes
/// the port it listens on into that file once it listens. Its output goes to `server.log` in the given folder.
package enum PythonServer {
    /// Starts `script` (a path under the repository) with `arguments`, waits up to 20 s for its port, runs `body`
    /// with it, then stops the server (SIGTERM, then SIGKILL).
    package static func with<R>(
        _ script: String, _ arguments: [String], in directory: URL, name: String, _ body: (Int) async throws -> R
    ) async throws -> R {
        let python = try #require(TestTools.python(), "no python3 for \(name)")
        let ready = directory.appendingPathComponent("port")
        let log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        defer { try? logHandle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TestTools.repositoryRoot.appendingPathComponent(script).path, "--ready", ready.path] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        do {
            let deadline = ContinuousClock.now + .seconds(20)
            var port: Int?
            while port == nil {
                port = (try? String(contentsOf: ready, encoding: .utf8)).flatMap { Int($0) }
                guard port == nil else { break }
                guard process.isRunning, ContinuousClock.now < deadline else {
                    let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                    Issue.record("\(name) did not start (scripts/interop-deps.sh installs what it needs):\n\(output)")
                    throw CancellationError()
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let result = try await body(port ?? 0)
            await stop(process)
            return result
        } catch {
            await stop(process)
            throw error
        }
    }

    /// SIGTERM, then SIGKILL if it lingers; polls rather than blocking a thread of the cooperative pool.
    static func stop(_ process: Process) async {
        process.terminate()
        for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
