import NIOCore
import NIOPosix
import Synchronization

/// A TCP server that accepts connections and never says a word: the far end of a mail or API server that hangs.
///
/// Clients connect at once (the kernel completes the handshake) and then wait for a greeting or a response that
/// never comes, until their own timeouts. `close()` ends every accepted connection, which frees them.
package final class SilentServer: Sendable {
    /// The port it listens on, on 127.0.0.1.
    package let port: Int
    private let listener: any Channel
    private let accepted: Accepted

    private final class Accepted: Sendable {
        let channels = Mutex<[any Channel]>([])
    }

    private init(port: Int, listener: any Channel, accepted: Accepted) {
        self.port = port
        self.listener = listener
        self.accepted = accepted
    }

    /// Starts listening on an ephemeral port of 127.0.0.1.
    package static func start() async throws -> SilentServer {
        let accepted = Accepted()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                accepted.channels.withLock { $0.append(channel) }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return SilentServer(port: listener.localAddress?.port ?? 0, listener: listener, accepted: accepted)
    }

    /// Connections accepted so far.
    package var connections: Int { accepted.channels.withLock { $0.count } }

    /// Stops listening and closes every accepted connection.
    package func close() async {
        try? await listener.close()
        for channel in accepted.channels.withLock({ $0 }) { try? await channel.close() }
    }
}
