package import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A TCP connection to a line-based server (SMTP), on SwiftNIO, that may turn to TLS at once or midway (STARTTLS).
///
/// A caller awaits each line and each write, holding no thread while the server takes its time; every step is bounded
/// by `timeout`, after which the connection is closed. Connecting tries every address the name resolves to, within
/// `timeout` as well. Lines are bounded by `maxLineLength`, so a server cannot make us buffer without end.
package final class LineConnection: Sendable {
    package let host: String
    package let port: Int
    package let timeout: Duration
    package let maxLineLength: Int
    private let channel: any Channel
    private let inbox: Inbox

    private init(host: String, port: Int, timeout: Duration, maxLineLength: Int, channel: any Channel, inbox: Inbox) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.maxLineLength = maxLineLength
        self.channel = channel
        self.inbox = inbox
    }

    deinit {
        // A connection dropped without `close()` (a caller that threw past it) does not stay open until the server
        // gives up on it.
        channel.close(promise: nil)
    }

    /// Connects to `host:port`, with TLS from the first byte when `tls` is given (implicit TLS, e.g. port 465).
    /// - Throws: `LineConnectionError` `.connect`, `.timeout` or `.tls`.
    package static func connect(
        host: String, port: Int, timeout: Duration, maxLineLength: Int = 4096, tls: ClientTLSContext? = nil
    ) async throws(LineConnectionError) -> LineConnection {
        let context = tls?.context
        let inbox = Inbox()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: LineConnection.sniName(host)))
                        }
                        try channel.pipeline.syncOperations.addHandler(inbox)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw classifyConnect(error, host: host, port: port)
        }
        let connection = LineConnection(host: host, port: port, timeout: timeout, maxLineLength: maxLineLength, channel: channel, inbox: inbox)
        if tls != nil { try await connection.awaitHandshake() }
        return connection
    }

    /// Whether the connection is encrypted (from the start, or since `startTLS`).
    package var isTLS: Bool { inbox.state.withValue { $0.tls } }

    /// Turns the connection to TLS after the server agreed to it (STARTTLS), and returns once the handshake is done.
    ///
    /// Whatever the server sent before is thrown away: nothing read before the handshake may be trusted (RFC 3207
    /// §4.2).
    /// - Throws: `LineConnectionError` `.tls` for a refused certificate or a failed handshake.
    package func startTLS(_ tls: ClientTLSContext) async throws(LineConnectionError) {
        let context = tls.context
        inbox.state.withValue { $0.buffer.clear() }
        let host = self.host
        let channel = self.channel
        do {
            try await channel.eventLoop.submit {
                let handler = try NIOSSLClientHandler(context: context, serverHostname: Self.sniName(host))
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch {
            throw LineConnectionError(.tls, "cannot start TLS with \(host):\(port): \(error)")
        }
        try await awaitHandshake()
    }

    /// Writes `bytes` as they are.
    /// - Throws: `LineConnectionError` `.timeout` when the server does not take them within `timeout`, `.closed`.
    package func write(_ bytes: [UInt8]) async throws(LineConnectionError) {
        let channel = self.channel
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
        do {
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
            timer.cancel()
        } catch {
            timer.cancel()
            if let failure = inbox.state.withValue({ $0.failure }) { throw failure }
            if NIODeadline.now() >= deadline { throw LineConnectionError(.timeout, "timed out writing to \(host):\(port)") }
            throw LineConnectionError(.closed, "the connection to \(host):\(port) closed while writing")
        }
    }

    /// The next line the server sends, without its CR LF.
    /// - Throws: `LineConnectionError` `.timeout`, `.closed`, `.lineTooLong`, or `.tls` when the handshake failed.
    package func readLine() async throws(LineConnectionError) -> String {
        let limit = maxLineLength
        let outcome = await inbox.state.first(before: NIODeadline.now() + TimeAmount(timeout), on: channel.eventLoop) { state in
            Self.nextLine(&state, limit: limit)
        }
        switch outcome {
        case .success(let line): return line
        case .failure(let error):
            if error.kind == .lineTooLong { await close() }
            throw error
        case nil:
            await close()
            throw LineConnectionError(.timeout, "timed out waiting for \(host):\(port)")
        }
    }

    /// A whole line taken from the buffer, an error that ends reading, or nil: wait for more.
    private static func nextLine(_ state: inout Inbox.State, limit: Int) -> Result<String, LineConnectionError>? {
        if let newline = state.buffer.readableBytesView.firstIndex(of: 0x0A) {
            var line = state.buffer.readBytes(length: newline - state.buffer.readerIndex + 1) ?? []
            line.removeLast()
            if line.last == 0x0D { line.removeLast() }
            return .success(String(decoding: line, as: UTF8.self))
        }
        if state.buffer.readableBytes > limit {
            return .failure(LineConnectionError(.lineTooLong, "the server sent a line longer than \(limit) bytes"))
        }
        if let failure = state.failure { return .failure(failure) }
        if state.closed { return .failure(LineConnectionError(.closed, "the server closed the connection")) }
        return nil
    }

    /// Closes the connection (after TLS's close_notify when encrypted). Safe to call more than once.
    package func close() async {
        try? await channel.close()
    }

    // MARK: Internals

    /// Waits for the TLS handshake to end, well or badly, within `timeout`.
    private func awaitHandshake() async throws(LineConnectionError) {
        let outcome = await inbox.state.first(before: NIODeadline.now() + TimeAmount(timeout), on: channel.eventLoop) { state in
            Self.handshakeOutcome(state)
        }
        switch outcome {
        case .success: return
        case .failure(let error):
            await close()
            throw error
        case nil:
            await close()
            throw LineConnectionError(.timeout, "the TLS handshake with \(host):\(port) timed out")
        }
    }

    /// Done, failed, or nil: still under way.
    private static func handshakeOutcome(_ state: Inbox.State) -> Result<Void, LineConnectionError>? {
        if state.tls { return .success(()) }
        if let failure = state.failure { return .failure(failure) }
        if state.closed { return .failure(LineConnectionError(.tls, "the server closed the connection during the TLS handshake")) }
        return nil
    }

    /// The name for SNI and certificate checks: nil for an IP address, which NIOSSL then checks against the
    /// certificate's IP entries.
    private static func sniName(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    private static func classifyConnect(_ error: any Error, host: String, port: Int) -> LineConnectionError {
        let target = "\(host):\(port)"
        switch error {
        case ChannelError.connectTimeout:
            return LineConnectionError(.timeout, "cannot connect to \(target): timed out")
        case let error as NIOConnectionError:
            if error.connectionErrors.isEmpty, let dns = error.dnsAError ?? error.dnsAAAAError {
                return LineConnectionError(.connect, "cannot resolve \(host): \(dns)")
            }
            let reason = error.connectionErrors.first.map { "\($0.error)" } ?? "no address"
            return LineConnectionError(.connect, "cannot connect to \(target): \(reason)")
        default:
            return LineConnectionError(.connect, "cannot connect to \(target): \(error)")
        }
    }

    /// What arrived so far and how the connection stands, for the reader to wait on.
    private final class Inbox: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        struct State: Sendable {
            var buffer = ByteBuffer()
            var tls = false
            var closed = false
            var failure: LineConnectionError?
        }

        let state = Awaitable(State())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            state.change { $0.buffer.writeBuffer(&bytes) }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent { state.change { $0.tls = true } }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            let failure: LineConnectionError =
                error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
                ? LineConnectionError(.tls, "the TLS handshake failed: \(ClientTLS.explain(error))")
                : LineConnectionError(.closed, "the connection failed: \(error)")
            state.change { state in if state.failure == nil { state.failure = failure } }
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.change { $0.closed = true }
        }
    }
}

/// Why a line connection failed. The message names the host and the reason, never what was written.
package struct LineConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// The name does not resolve, or no address accepts.
        case connect
        /// The TLS setup or handshake failed, e.g. an untrusted certificate or one for another name.
        case tls
        /// A step took longer than the connection's timeout; the connection is closed.
        case timeout
        /// The server closed the connection, or it broke.
        case closed
        /// The server sent a line longer than allowed; the connection is closed.
        case lineTooLong
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
