import AgoraTestSupport
import AgoraWebSocket
import Foundation
import Synchronization
import Testing

/// Our echo endpoint against WebSocket clients nobody here wrote: each script in `Tests/interop` exchanges text and
/// binary messages up to 1 MiB, fragments, pings, and closes with 1000, and exits non-zero on any mismatch.
///
/// The clients that speak permessage-deflate (python websockets, node ws) also connect with compression offered in
/// several ways, to the endpoint as `agora ws-echo` runs it (no context takeover, threshold 128) and to a second one
/// that keeps its context both ways (`--server-context --client-context`): negotiated parameters, which messages went
/// compressed, windows, context rules, and the 8-bit window the server must decline.
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
    /// Whether the script also takes a second port, of an endpoint that keeps its compression context both ways.
    var testsContextTakeover = false

    static let pythonWebsockets = InteropPeer(
        name: "python websockets", runtime: python, probe: ["-c", "import websockets.asyncio.client"],
        script: "python_websockets_client.py",
        installHint: "PyPI websockets (13 or later) for \(python() ?? "python3 (none on PATH)")",
        testsContextTakeover: true
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
        installHint: "Debian nodejs and node-ws",
        testsContextTakeover: true
    )

    static func python() -> String? { TestTools.python() }
    static func onPath(_ name: String) -> String? { TestTools.onPath(name) }
    static var repositoryRoot: URL { TestTools.repositoryRoot }

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
        let name = name
        let environment = environment
        let runScript: @Sendable ([Int]) async throws -> Void = { ports in
            let run = try await ChildProcess.run(runtime, [script] + ports.map(String.init), environment: environment, timeout: .seconds(90))
            #expect(!run.timedOut, "\(name) took over 90 s; its output:\n\(run.output)", sourceLocation: sourceLocation)
            #expect(run.status == 0, "\(name) exited with \(run.status); its output:\n\(run.output)", sourceLocation: sourceLocation)
        }
        // The endpoint as `agora ws-echo` runs it: permessage-deflate without context takeover, threshold 128.
        try await Conformance.withEcho { port in
            guard testsContextTakeover else { return try await runScript([port]) }
            // And as `agora ws-echo --server-context --client-context`.
            let keepsContext = PerMessageDeflateConfiguration(serverNoContextTakeover: false, clientNoContextTakeover: false)
            try await Conformance.withEcho(compression: keepsContext) { contextPort in try await runScript([port, contextPort]) }
        }
    }
}
