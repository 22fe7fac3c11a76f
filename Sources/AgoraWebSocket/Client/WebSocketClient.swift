import AgoraCrypto
import Foundation
public import Logging
public import NIOCore
public import NIOPosix

/// A channel speaking WebSocket, as the client gets it.
public typealias WebSocketClientChannel = NIOAsyncChannel<WebSocketMessage, WebSocketOutbound>

/// The handshake did not end in a WebSocket connection.
public struct WebSocketClientError: Error, Sendable, CustomStringConvertible {
    /// The server's HTTP status, when it answered with one.
    public var status: Int?
    /// What went wrong.
    public var message: String
    /// The body of a refusal.
    public var body: String

    public var description: String { "WebSocketClientError(\(status.map(String.init) ?? "-")): \(message)" }
}

/// Our WebSocket client: opens a connection, performs the handshake (random key, accept key checked, §4.1) and
/// returns a channel whose outbound frames are masked with a fresh key each.
public enum WebSocketClient {
    /// zlib state for client connections without context takeover, shared by all of them (one compressor and one
    /// inflater per event loop), at the default level and memory level.
    static let deflateCodecs = DeflateCodecs.Registry(level: PerMessageDeflateConfiguration().level, memoryLevel: PerMessageDeflateConfiguration().memoryLevel)

    /// permessage-deflate as the handshake of `channel` (ours, client or server side) agreed it; nil when it was not.
    public static func negotiatedCompression(of channel: any Channel) async throws -> PerMessageDeflateParameters? {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: WebSocketHandler.self).negotiatedCompression
        }.get()
    }

    /// Connects to `ws://host:port/path`.
    /// - Parameters:
    ///   - headers: extra request headers (Origin, Cookie, Sec-WebSocket-Protocol, ...).
    ///   - configuration: frame and message limits for what the server sends; pings are off unless set.
    ///   - compression: offer permessage-deflate with these parameters (nil: offer nothing). Whether the server
    ///     accepted is `negotiatedCompression(of:)`.
    public static func connect(
        host: String,
        port: Int,
        path: String = "/",
        headers: [(String, String)] = [],
        configuration: WebSocketConfiguration = WebSocketConfiguration(maxFrameSize: 1 << 24, maxMessageSize: 1 << 24, pingInterval: nil, messagesPerSecond: .infinity, messageBurst: .infinity),
        compression: PerMessageDeflateConfiguration? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "agora.ws.client")
    ) async throws -> WebSocketClientChannel {
        let key = Base64.encode(SecureRandom.bytes(16))
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port).get()
        do {
            let promise = channel.eventLoop.makePromise(of: HandshakeAnswer.self)
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(HandshakeResponseReader(expectedAccept: WebSocketHandshake.acceptKey(for: key), promise: promise))
            }.get()
            var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            request += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
            if let compression { request += "Sec-WebSocket-Extensions: \(PerMessageDeflate.offer(compression))\r\n" }
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            try await channel.writeAndFlush(ByteBuffer(string: request + "\r\n"))
            let answer = try await promise.futureResult.get()
            // §9.1: a client fails the connection when the server answers with an extension it did not offer.
            var deflate: PerMessageDeflateParameters?
            do throws(WebSocketError) {
                if let compression {
                    deflate = try PerMessageDeflate.confirm(response: answer.extensions, offered: compression)
                } else if !answer.extensions.isEmpty {
                    throw .protocolError("the server answered with extensions that were not offered")
                }
            } catch {
                throw WebSocketClientError(status: 101, message: error.reason, body: "")
            }
            var configuration = configuration
            configuration.compression = compression
            let settings = WebSocketSettings(configuration: configuration, isClient: true, deflateCodecs: deflateCodecs)
            return try await channel.eventLoop.submit {
                let pipeline = channel.pipeline.syncOperations
                try pipeline.addHandler(WebSocketHandler(settings: settings, logger: logger, deflate: deflate, eventLoop: channel.eventLoop))
                let asyncChannel = try WebSocketClientChannel(wrappingChannelSynchronously: channel)
                _ = pipeline.removeHandler(context: try pipeline.context(handlerType: HandshakeResponseReader.self))
                return asyncChannel
            }.get()
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

/// What a 101 carried that the client needs after the handshake.
struct HandshakeAnswer: Sendable {
    /// Every `Sec-WebSocket-Extensions` value.
    var extensions: [String]
}

/// Reads the server's handshake answer; on 101 it leaves the pipeline, handing on bytes that followed the head.
final class HandshakeResponseReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let expectedAccept: String
    private let promise: EventLoopPromise<HandshakeAnswer>
    private var buffer: ByteBuffer?
    private var failure: (status: Int, message: String, bodyLength: Int)?
    private var done = false

    init(expectedAccept: String, promise: EventLoopPromise<HandshakeAnswer>) {
        self.expectedAccept = expectedAccept
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.setOrWriteBuffer(&bytes)
        guard !done, var current = buffer else { return }
        if let failure {
            if current.readableBytes >= failure.bodyLength { finishFailure(failure, body: &current) }
            return
        }
        let text = String(buffer: current)
        guard let end = text.range(of: "\r\n\r\n") else { return }
        let headLength = text.utf8.distance(from: text.startIndex, to: end.upperBound)
        let lines = text[..<end.lowerBound].split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ", maxSplits: 2) ?? []
        var headers: [String: String] = [:]
        var extensions: [String] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingASCIIWhitespace()
            headers[name] = value
            if name == "sec-websocket-extensions" { extensions.append(value) }
        }
        current.moveReaderIndex(forwardBy: headLength)
        buffer = current
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            return fail(WebSocketClientError(status: nil, message: "the server did not answer with HTTP", body: ""))
        }
        guard status == 101 else {
            let pending = (status, "the server refused the upgrade", Int(headers["content-length"] ?? "0") ?? 0)
            failure = pending
            if current.readableBytes >= pending.2 { finishFailure(pending, body: &current) }
            return
        }
        // §4.1: the client must fail the connection unless all of these hold.
        guard headers["upgrade"]?.lowercased() == "websocket", headers["connection"]?.lowercased().contains("upgrade") == true else {
            return fail(WebSocketClientError(status: status, message: "101 without Upgrade: websocket and Connection: Upgrade", body: ""))
        }
        guard headers["sec-websocket-accept"] == expectedAccept else {
            return fail(WebSocketClientError(status: status, message: "Sec-WebSocket-Accept does not match the key", body: ""))
        }
        done = true
        promise.succeed(HandshakeAnswer(extensions: extensions))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            var body = buffer ?? ByteBuffer()
            if let failure { finishFailure(failure, body: &body) } else {
                fail(WebSocketClientError(status: nil, message: "connection closed during the handshake", body: ""))
            }
        }
        context.fireChannelInactive()
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if let leftover = buffer, leftover.readableBytes > 0 {
            buffer = nil
            context.fireChannelRead(wrapInboundOut(leftover))
            context.fireChannelReadComplete()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    private func finishFailure(_ failure: (status: Int, message: String, bodyLength: Int), body: inout ByteBuffer) {
        let text = body.readString(length: min(failure.bodyLength, body.readableBytes)) ?? ""
        fail(WebSocketClientError(status: failure.status, message: failure.message, body: text))
    }

    private func fail(_ error: WebSocketClientError) {
        guard !done else { return }
        done = true
        promise.fail(error)
    }
}

@available(*, unavailable)
extension HandshakeResponseReader: Sendable {}  // belongs to one event loop

