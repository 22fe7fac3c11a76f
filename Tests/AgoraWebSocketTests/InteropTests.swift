import AgoraTestSupport
import AgoraWebSocket
import Foundation
import Synchronization
import Testing

/// Our echo endpoint against WebSocket clients nobody here wrote: each script in `Tests/interop` exchanges text and
/// binary messages up to 1 MiB, fragments, pings, and closes with 1000, and exits non-zero on any mismatch.
///
/// A missing peer skips its test, unless `AGORA_REQUIRE_SERVICES=1` (as `scripts/test.sh` sets), where it fails and
/// says what to install: a skipped interop test in CI would hide exactly what it is there to catch.
@Suite(.timeLimit(.minutes(2)))
struct InteropTests {
    @Test(.enabled { await InteropPeer.pythonWebsockets.isRunnableOrRequired() })
    func pythonWebsocketsLibrary() async throws {
        try await InteropPeer.pythonWebsockets.check()
    }

    @Test(.enabled { await InteropPeer.pythonWebsocketClient.isRunnableOrRequired() })
    func pythonWebsocketClientLibrary() async throws {
        try await InteropPeer.pythonWebsocketClient.check()
    }

    @Test(.enabled { await InteropPeer.nodeWS.isRunnableOrRequired() })
    func nodeWSLibrary() async throws {
        try await InteropPeer.nodeWS.check()
    }
}

/// One foreign client: how to find its runtime, how to tell whether its library is there, and which script to run.
struct InteropPeer: Sendable {
    var name: String
    var runtime: @Sendable () -> String?
    /// Arguments that exit 0 only when the runtime can load the library.
    var probe: [String]
    var script: String
    var environment: [String: String] = [:]
    var installHint: String

    static let pythonWebsockets = InteropPeer(
        name: "python websockets", runtime: python, probe: ["-c", "import websockets.asyncio.client"],
        script: "python_websockets_client.py",
        installHint: "PyPI websockets (13 or later) for \(python() ?? "python3 (none on PATH)")"
    )

    static let pythonWebsocketClient = InteropPeer(
        name: "python websocket-client", runtime: python, probe: ["-c", "import websocket; websocket.ABNF"],
        script: "python_websocket_client.py",
        installHint: "PyPI websocket-client for \(python() ?? "python3 (none on PATH)")"
    )

    static let nodeWS = InteropPeer(
        name: "node ws", runtime: { onPath("node") ?? onPath("nodejs") }, probe: ["-e", "require('ws')"],
        script: "node_ws_client.js",
        // Debian installs node modules there, outside node's default search path.
        environment: ["NODE_PATH": (["/usr/share/nodejs"] + [ProcessInfo.processInfo.environment["NODE_PATH"]].compactMap { $0 })
            .joined(separator: ":")],
        installHint: "Debian nodejs and node-ws"
    )

    /// `AGORA_INTEROP_PYTHON` if set, else the virtualenv `scripts/interop-deps.sh` makes when pip may not install
    /// into the system Python, else `python3` on PATH.
    static func python() -> String? {
        if let chosen = ProcessInfo.processInfo.environment["AGORA_INTEROP_PYTHON"], !chosen.isEmpty { return chosen }
        let venv = repositoryRoot.appendingPathComponent(".local/venv/bin/python3").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        return onPath("python3")
    }

    static func onPath(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The runtime, when it can load the library.
    func runnable() async -> String? {
        guard let runtime = runtime(), FileManager.default.isExecutableFile(atPath: runtime) else { return nil }
        let probed = try? await ChildProcess.run(runtime, probe, environment: environment, timeout: .seconds(30))
        return probed?.status == 0 ? runtime : nil
    }

    func isRunnableOrRequired() async -> Bool {
        if TestServices.isRequired { return true }
        return await runnable() != nil
    }

    /// Runs the script against an in-process `agora ws-echo` endpoint and expects exit status 0.
    func check(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let runtime = try #require(
            await runnable(),
            "\(name) is missing: install \(installHint). scripts/interop-deps.sh does it (and prints the python to use)",
            sourceLocation: sourceLocation
        )
        let script = Self.repositoryRoot.appendingPathComponent("Tests/interop/\(self.script)").path
        try await Conformance.withEcho { port in
            let run = try await ChildProcess.run(runtime, [script, String(port)], environment: environment, timeout: .seconds(90))
            #expect(!run.timedOut, "\(name) took over 90 s; its output:\n\(run.output)", sourceLocation: sourceLocation)
            #expect(run.status == 0, "\(name) exited with \(run.status); its output:\n\(run.output)", sourceLocation: sourceLocation)
        }
    }
}

/// Runs a program to completion without blocking a thread of the cooperative pool, which the in-process server's
/// handlers need while the program talks to them: the exit arrives through `terminationHandler`, not `waitUntilExit`.
enum ChildProcess {
    struct Outcome: Sendable {
        var status: Int32
        /// Standard output and standard error, interleaved as written.
        var output: String
        var timedOut: Bool
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration) async throws -> Outcome {
        // A file rather than a pipe: a chatty child cannot fill a pipe buffer nobody is reading and stall.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("agora-child-\(UUID().uuidString).log")
        try Data().write(to: log)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle

        let timedOut = Atomic(false)
        let status = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                    do {
                        try process.run()
                    } catch {
                        process.terminationHandler = nil
                        continuation.resume(throwing: error)
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            while let next = try await group.next() {
                if let status = next {
                    group.cancelAll()
                    return status
                }
                // Timed out: SIGTERM, then keep waiting for the exit the handler reports. (Foundation reports an exit
                // only once every process holding the child's descriptors is gone; our scripts start none of their own.)
                timedOut.store(true, ordering: .relaxed)
                if process.isRunning { process.terminate() }
            }
            return -1
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? "(output unreadable)"
        return Outcome(status: status, output: output, timedOut: timedOut.load(ordering: .relaxed))
    }
}
