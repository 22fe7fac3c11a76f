import AgoraWebSocket
import ArgumentParser
import Hummingbird
import Logging

/// `agora ws-echo`: a WebSocket endpoint with our codec and nothing else, for conformance suites, interoperability
/// tests and benchmarks. Off unless started by hand; it never runs inside `agora serve`.
struct WebSocketEchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws-echo",
        abstract: "Serve a WebSocket echo endpoint (every path except /broadcast) and a broadcast endpoint (/broadcast)."
    )

    @Option(help: "Port to listen on.") var port = 9001
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Largest frame and message, in bytes (16 MiB by default, for the large-message conformance cases).")
    var maxMessageSize = 16 << 20
    @Option(help: "Log level.") var logLevel = "info"
    @Flag(help: "Serve each connection with a task of its own (the async API) instead of from its pipeline.")
    var tasks = false
    @Flag(inversion: .prefixedNo, help: "Accept permessage-deflate (RFC 7692) when a client offers it.")
    var compression = true
    @Flag(help: "Keep the server's compression context between messages (more memory per connection, smaller messages).")
    var serverContext = false
    @Flag(help: "Let clients keep their compression context (the server then keeps an inflater per connection).")
    var clientContext = false
    @Option(help: "The server's largest compression window, 9...15.") var windowBits = 15
    @Option(help: "Messages shorter than this many bytes go uncompressed.") var compressionThreshold = 128

    func run() async throws {
        var logger = Logger(label: "agora.ws-echo")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let router = Router()
        router.get("/") { _, _ in "Agora WebSocket echo: connect with ws://\(host):\(port)/ (echo) or /broadcast\n" }
        let app = Application(
            router: router,
            server: WebSocketEcho.server(
                maxMessageSize: maxMessageSize, tasks: tasks,
                compression: compression
                    ? PerMessageDeflateConfiguration(
                        serverMaxWindowBits: windowBits, serverNoContextTakeover: !serverContext, clientNoContextTakeover: !clientContext,
                        threshold: compressionThreshold)
                    : nil),
            configuration: .init(address: .hostname(host, port: port), serverName: "agora-ws-echo"),
            logger: logger
        )
        try await app.runService()
    }
}
