package import AgoraWebSocket
import Foundation
package import NIOCore
import NIOPosix
import Synchronization

/// A deliberately plain TCP client for tests: sends exactly the bytes it is given and reads back exactly what the
/// server sent, so tests can speak broken protocol on purpose.
package final class RawSocket: Sendable {
    private final class Inbox: Sendable {
        let state = Mutex<(buffer: ByteBuffer, closed: Bool)>((ByteBuffer(), false))
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let inbox: Inbox
        init(_ inbox: Inbox) { self.inbox = inbox }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            inbox.state.withLock { $0.buffer.writeBuffer(&bytes) }
        }
        func channelInactive(context: ChannelHandlerContext) {
            inbox.state.withLock { $0.closed = true }
        }
    }

    package struct HTTPAnswer {
        package var status: Int
        package var headers: [String: String]
        package var body: String
    }

    package let channel: any Channel
    private let inbox: Inbox
    /// Reads RSV1 (compressed) frames too, so compression tests can inspect them; other tests see RSV 0 from a server
    /// that negotiated nothing.
    private let parser: Mutex<FrameParser> = {
        var parser = FrameParser(maxFrameSize: 1 << 25, requireMasked: false)
        parser.allowsCompression = true
        return Mutex(parser)
    }()

    private init(channel: any Channel, inbox: Inbox) {
        self.channel = channel
        self.inbox = inbox
    }

    package static func connect(port: Int, host: String = "127.0.0.1") async throws -> RawSocket {
        let inbox = Inbox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(inbox)) }
            }
            .connect(host: host, port: port).get()
        return RawSocket(channel: channel, inbox: inbox)
    }

    package func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
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
    package func readHTTP(timeout: Duration = .seconds(5)) async throws -> HTTPAnswer {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let answer = inbox.state.withLock { state -> HTTPAnswer? in
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
            if let answer { return answer }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw RawSocketTimeout()
    }

    /// The next frame from the server, or nil once the connection is closed with no frame left.
    package func readFrame(timeout: Duration = .seconds(5)) async throws -> WebSocketFrame? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (frame, closed) = try inbox.state.withLock { state -> (WebSocketFrame?, Bool) in
                let frame = try parser.withLock { try $0.next(&state.buffer) }
                return (frame, state.closed)
            }
            if let frame { return frame }
            if closed { return nil }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw RawSocketTimeout()
    }

    /// Reads frames until a Close (returned with its code) or the end of the connection (nil).
    package func readUntilClose(timeout: Duration = .seconds(5)) async throws -> (code: UInt16?, frames: [WebSocketFrame])? {
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
    package func waitForTCPClose(timeout: Duration = .seconds(5)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if inbox.state.withLock({ $0.closed }) { return true }
            try await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    package func close() async { try? await channel.close() }
}

package struct RawSocketTimeout: Error { package init() {} }

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
