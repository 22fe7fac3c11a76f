import AgoraNet
package import AgoraWebSocket
import Foundation
package import NIOCore
import NIOPosix
import Synchronization

/// A deliberately plain TCP client for tests: sends exactly the bytes it is given and reads back exactly what the
/// server sent, so tests can speak broken protocol on purpose.
package final class RawSocket: Sendable {
    /// How long a read waits for what a test expects before it fails. A liveness bound, not a speed claim: an answer
    /// that comes returns at once, and only a broken server waits this long. It is generous because Swift Testing runs
    /// every parameterized case at once, and on 2 cores several hundred echo servers starting together have left a
    /// correct answer more than 5 s late.
    package static let patience: Duration = .seconds(30)

    /// What the server sent so far, for readers to wait on.
    ///
    /// Readers sleep until bytes arrive or the connection ends instead of polling: several hundred sockets polling
    /// every millisecond kept the two cooperative threads of a CI machine so busy that answers came seconds late.
    private struct Inbox: Sendable {
        var buffer = ByteBuffer()
        var closed = false
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let inbox: Awaitable<Inbox>
        init(_ inbox: Awaitable<Inbox>) { self.inbox = inbox }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            inbox.change { $0.buffer.writeBuffer(&bytes) }
        }
        func channelInactive(context: ChannelHandlerContext) {
            inbox.change { $0.closed = true }
        }
    }

    package struct HTTPAnswer: Sendable {
        package var status: Int
        package var headers: [String: String]
        package var body: String
    }

    package let channel: any Channel
    private let inbox: Awaitable<Inbox>
    /// Reads RSV1 (compressed) frames too, so compression tests can inspect them; other tests see RSV 0 from a server
    /// that negotiated nothing.
    private let parser: Mutex<FrameParser> = {
        var parser = FrameParser(maxFrameSize: 1 << 25, requireMasked: false)
        parser.allowsCompression = true
        return Mutex(parser)
    }()

    private init(channel: any Channel, inbox: Awaitable<Inbox>) {
        self.channel = channel
        self.inbox = inbox
    }

    package static func connect(port: Int, host: String = "127.0.0.1") async throws -> RawSocket {
        let inbox = Awaitable(Inbox())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(inbox)) }
            }
            .connect(host: host, port: port).get()
        return RawSocket(channel: channel, inbox: inbox)
    }

    package func send(_ bytes: [UInt8]) async throws {
        do {
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        } catch ChannelError.ioOnClosedChannel {
            // Say what the server sent before it closed (a Close frame names its code), not only that it did.
            let unread = inbox.withValue { inbox in inbox.buffer.readableBytesView.suffix(64).map { String(format: "%02x", $0) } }
            throw RawSocketClosed(unreadTail: unread.joined(separator: " "))
        }
    }

    package func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Sends a WebSocket handshake for `path` and reads the answer.
    package func handshake(path: String = "/", headers: [String] = []) async throws -> HTTPAnswer {
        let lines = ["GET \(path) HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"] + headers
        try await send(lines.joined(separator: "\r\n") + "\r\n\r\n")
        return try await readHTTP()
    }

    /// Reads one HTTP response (head and a Content-Length body).
    package func readHTTP(timeout: Duration = RawSocket.patience) async throws -> HTTPAnswer {
        try await awaitResult(timeout: timeout) { state -> HTTPAnswer? in
            let text = String(buffer: state.buffer)
            guard let end = text.range(of: "\r\n\r\n") else { return nil }
            let lines = text[..<end.lowerBound].split(separator: "\r\n")
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let headLength = text.utf8.distance(from: text.startIndex, to: end.upperBound)
            let bodyLength = Int(headers["content-length"] ?? "0") ?? 0
            guard state.buffer.readableBytes >= headLength + bodyLength else { return nil }
            state.buffer.moveReaderIndex(forwardBy: headLength)
            let body = state.buffer.readString(length: bodyLength) ?? ""
            let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
            return HTTPAnswer(status: status, headers: headers, body: body)
        }
    }

    /// The next frame from the server, or nil once the connection is closed with no frame left.
    package func readFrame(timeout: Duration = RawSocket.patience) async throws -> WebSocketFrame? {
        let next = try await awaitResult(timeout: timeout) { state -> WebSocketFrame?? in
            if let frame = try parser.withLock({ try $0.next(&state.buffer) }) { return .some(frame) }
            return state.closed ? .some(nil) : nil
        }
        return next
    }

    /// Reads frames until a Close (returned with its code) or the end of the connection (nil).
    package func readUntilClose(timeout: Duration = RawSocket.patience) async throws -> (code: UInt16?, frames: [WebSocketFrame])? {
        var frames: [WebSocketFrame] = []
        while let frame = try await readFrame(timeout: timeout) {
            if frame.opcode == .close {
                var payload = frame.payload
                return (payload.readInteger(as: UInt16.self), frames)
            }
            frames.append(frame)
        }
        return nil
    }

    /// True once the server has closed the TCP connection.
    package func waitForTCPClose(timeout: Duration = RawSocket.patience) async throws -> Bool {
        do {
            return try await awaitResult(timeout: timeout) { $0.closed ? true : nil }
        } catch is RawSocketTimeout {
            return false
        }
    }

    /// The first non-nil answer of `check`, asked now and after each arrival; `RawSocketTimeout` after `timeout`.
    private func awaitResult<Answer: Sendable>(timeout: Duration, _ check: (inout Inbox) throws -> Answer?) async throws -> Answer {
        let answer = try await inbox.first(before: NIODeadline.now() + TimeAmount(timeout), on: channel.eventLoop, check)
        guard let answer else { throw RawSocketTimeout() }
        return answer
    }

    /// Stops taking bytes from the kernel, so the server meets a client that does not read: its writes fill the
    /// socket buffers and then its own queue. The channel reads eagerly otherwise, which over loopback can drain a
    /// server faster than it writes.
    package func pauseReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: false)
    }

    /// Takes bytes again after `pauseReading()`.
    package func resumeReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: true)
        channel.read()
    }

    package func close() async { try? await channel.close() }
}

package struct RawSocketTimeout: Error { package init() {} }

/// A send on a connection the server had closed, with the last unread bytes it sent (hex).
package struct RawSocketClosed: Error, CustomStringConvertible {
    package var unreadTail: String
    package var description: String { "the server closed the connection; unread bytes before that: [\(unreadTail)]" }
}

/// A client frame built by hand (not with our encoder), masked unless `masked` is false.
package func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true, key: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    switch payload.count {
    case 0...125: bytes.append(maskBit | UInt8(payload.count))
    case 126...0xFFFF: bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default: bytes += [maskBit | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
    }
    guard masked else { return bytes + payload }
    return bytes + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
}

package func clientFrame(_ opcode: UInt8, text: String, fin: Bool = true) -> [UInt8] { clientFrame(opcode, Array(text.utf8), fin: fin) }

package func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] { [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8) }
