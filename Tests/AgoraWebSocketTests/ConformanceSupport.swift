import AgoraTestSupport
import AgoraWebSocket
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle
import Testing

/// What every conformance group needs: the endpoint `agora ws-echo` serves, and the checks the Autobahn|Testsuite
/// cases repeat. The cases speak through `RawSocket` with frames built by `clientFrame`, never with our own encoder or
/// client, so a bug shared by both halves of the codec cannot hide itself.
enum Conformance {
    /// Opcodes as the wire carries them, for `clientFrame`.
    static let continuation: UInt8 = 0x0
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA

    /// Runs `body` with the port of an in-process copy of the `agora ws-echo` endpoint.
    ///
    /// The server runs in a `ServiceGroup` of its own rather than `TestServer.with`: the live test client there keeps
    /// an idle connection open, and a connection that never sends a request holds graceful shutdown for the whole
    /// handshake timeout (10 s), which over some 250 cases would dominate the run.
    static func withEcho(
        maxMessageSize: Int = 16 << 20, compression: PerMessageDeflateConfiguration? = PerMessageDeflateConfiguration(),
        _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: Router(),
            server: WebSocketEcho.server(maxMessageSize: maxMessageSize, compression: compression),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: TestServer.logger
        )
        let services = ServiceGroup(configuration: .init(services: [app], logger: TestServer.logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Finishing the stream wakes the wait below if the server stops (or fails) before it ever listens.
                defer { portContinuation.finish() }
                try await services.run()
            }
            do {
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next(), "the echo server stopped before it listened")
                try await body(port)
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// Runs `body` with a connection past the handshake on `/`.
    ///
    /// The socket is closed even when `body` throws: the server's shutdown would otherwise wait up to 5 s for it to
    /// answer a 1001 Close.
    static func withSocket(port: Int, _ body: (RawSocket) async throws -> Void) async throws {
        let socket = try await RawSocket.connect(port: port)
        do {
            let answer = try await socket.handshake(path: "/")
            try #require(answer.status == 101, "handshake answered \(answer.status)")
            try await body(socket)
        } catch {
            await socket.close()
            throw error
        }
        await socket.close()
    }

    /// One server and one connection, as each Autobahn case uses.
    static func withConnection(_ body: @Sendable (RawSocket) async throws -> Void) async throws {
        try await withEcho { port in try await withSocket(port: port, body) }
    }

    /// The frame `clientFrame` builds, built fast enough for megabytes: it masks eight bytes at a time, where
    /// `clientFrame` runs a closure per byte (seconds for 16 MiB in a debug build). Checked against `clientFrame`
    /// in `ConformanceLargeMessageTests`.
    static func largeClientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]  // clientFrame's default key
        var frame: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
        switch payload.count {
        case 0...125: frame.append(0x80 | UInt8(payload.count))
        case 126...0xFFFF: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame += [0x80 | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        frame += key
        let start = frame.count
        frame += payload
        // The key twice over, in memory order whatever the byte order: both halves of the word are the same.
        let word = key.withUnsafeBytes { UInt64($0.loadUnaligned(as: UInt32.self)) } * 0x1_0000_0001
        frame.withUnsafeMutableBytes { raw in
            let body = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
            let words = body.count / 8
            for index in 0..<words {
                let offset = index * 8
                body.storeBytes(of: body.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ word, toByteOffset: offset, as: UInt64.self)
            }
            for offset in words * 8..<body.count { body[offset] ^= key[offset % 4] }
        }
        return frame
    }

    /// Nil when `buffer` holds exactly `expected`, else where they part. Large payloads are compared this way so a
    /// failure names one offset instead of printing megabytes.
    static func difference(_ buffer: ByteBuffer, _ expected: [UInt8]) -> String? {
        guard buffer.readableBytes == expected.count else { return "\(buffer.readableBytes) bytes, expected \(expected.count)" }
        guard !expected.isEmpty else { return nil }
        // memcmp, because a byte-by-byte comparison of 16 MiB in a debug build takes seconds.
        let mismatch = buffer.withUnsafeReadableBytes { got in
            expected.withUnsafeBytes { want in memcmp(got.baseAddress!, want.baseAddress!, expected.count) != 0 }
        }
        guard mismatch else { return nil }
        let offset = zip(buffer.readableBytesView, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1
        return "first difference at byte \(offset)"
    }
}

extension RawSocket {
    /// Writes `bytes` in pieces of `size`, each flushed on its own, so the server sees frames (and their headers)
    /// split at every kind of boundary.
    func send(_ bytes: [UInt8], chopsOf size: Int) async throws {
        for start in stride(from: 0, to: bytes.count, by: size) {
            try await send(Array(bytes[start..<min(start + size, bytes.count)]))
        }
    }

    /// Expects the next frame to be a complete `opcode` frame carrying exactly `payload`.
    func expectFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let frame = try #require(try await readFrame(), "the connection closed instead", sourceLocation: sourceLocation)
        #expect(frame.opcode == opcode, sourceLocation: sourceLocation)
        #expect(frame.fin, "the server fragmented its answer", sourceLocation: sourceLocation)
        #expect(Conformance.difference(frame.payload, payload) == nil, sourceLocation: sourceLocation)
    }

    /// Expects the echo of a text message.
    func expectText(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectFrame(.text, Array(text.utf8), sourceLocation: sourceLocation)
    }

    /// Expects the server to fail the connection (§7.1.7): a Close with `code` and nothing before it, then the end
    /// of TCP.
    func expectFailure(_ code: UInt16, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let closing = try #require(try await readUntilClose(), "TCP closed without a Close frame", sourceLocation: sourceLocation)
        #expect(closing.frames.map(\.opcode) == [], "frames before the Close", sourceLocation: sourceLocation)
        #expect(closing.code == code, sourceLocation: sourceLocation)
        #expect(try await waitForTCPClose(), "TCP still open after the Close", sourceLocation: sourceLocation)
    }

    /// Expects a Close echoing `code` (nil: an empty Close), then nothing more: no frame and a closed TCP connection.
    func expectCloseEcho(_ code: UInt16?, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let frame = try #require(try await readFrame(), "TCP closed without a Close frame", sourceLocation: sourceLocation)
        #expect(frame.opcode == .close, sourceLocation: sourceLocation)
        var payload = frame.payload
        if let code {
            #expect(payload.readInteger(as: UInt16.self) == code, sourceLocation: sourceLocation)
        } else {
            #expect(payload.readableBytes == 0, "an empty Close must be answered with an empty Close", sourceLocation: sourceLocation)
        }
        #expect(try await readFrame() == nil, "a frame after the Close", sourceLocation: sourceLocation)
        #expect(try await waitForTCPClose(), "TCP still open after the Close", sourceLocation: sourceLocation)
    }
}

/// A named byte sequence, so parameterized cases read as what they test rather than as hex.
struct ConformanceSample: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var testDescription: String { name }

    init(_ name: String, _ bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}
