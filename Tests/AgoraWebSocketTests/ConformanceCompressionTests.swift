import AgoraTestSupport
import Foundation
import NIOCore
import Testing

@testable import AgoraWebSocket

/// permessage-deflate (RFC 7692) on the `agora ws-echo` endpoint, modelled on Autobahn|Testsuite groups 12 (message
/// sizes and fragmentation under the default offer) and 13 (each parameter and window size, with and without context
/// takeover), plus the failures a server must produce. The peer here compresses and inflates with
/// `ReferenceDeflate`/`ReferenceInflate` (zlib driven directly, not the server's code) and builds frames by hand.
@Suite(.timeLimit(.minutes(3)))
struct ConformanceCompressionTests {
    /// The server's default: no context takeover, threshold 128.
    static let threshold = PerMessageDeflateConfiguration().threshold

    // MARK: Group 12: sizes and fragmentation, default offer

    struct SizeCase: Sendable, CustomTestStringConvertible {
        var size: Int
        var binary: Bool
        /// Bytes of compressed payload per frame; nil: one frame.
        var fragment: Int?
        var testDescription: String { "\(binary ? "binary" : "text") \(size) B, \(fragment.map { "fragments of \($0) B" } ?? "one frame")" }
    }

    static let sizeCases: [SizeCase] = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131_072].flatMap { size in
        [false, true].flatMap { binary in [nil, 256, 4096].map { SizeCase(size: size, binary: binary, fragment: $0) } }
    }

    @Test(arguments: sizeCases)
    func messagesOfEverySizeRoundTripCompressed(_ sizeCase: SizeCase) async throws {
        try await Conformance.withEcho { port in
            let peer = try await DeflatePeer.connect(port: port, offer: "permessage-deflate; client_max_window_bits")
            #expect(peer.agreed == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
            var messages: [[UInt8]] = []
            for index in 0..<10 {
                let message = sizeCase.binary ? Samples.random(sizeCase.size) : Samples.json(sizeCase.size, seed: index)
                messages.append(message)
                try await peer.send(sizeCase.binary ? Conformance.binary : Conformance.text, message, fragment: sizeCase.fragment)
            }
            for message in messages {
                let echo = try await peer.receive()
                #expect(echo.opcode == (sizeCase.binary ? .binary : .text))
                // Compressed exactly when at or over the threshold; never split by the server.
                #expect(echo.compressed == (message.count >= Self.threshold))
                #expect(echo.message == message, "echo differs")
                if !sizeCase.binary, echo.compressed { #expect(echo.wireBytes < message.count / 2, "JSON should compress well") }
            }
            await peer.socket.close()
        }
    }

    // MARK: Group 13: parameters, window sizes, context takeover

    struct ParameterCase: Sendable, CustomTestStringConvertible {
        var name: String
        var offer: String
        var server = PerMessageDeflateConfiguration()
        /// The expected answer; nil: declined (the connection goes on uncompressed).
        var answer: String?
        var testDescription: String { name }
    }

    static let contextServer = PerMessageDeflateConfiguration(serverNoContextTakeover: false, clientNoContextTakeover: false)

    static let parameterCases: [ParameterCase] =
        [
            ParameterCase(name: "13.1 no parameters", offer: "permessage-deflate", answer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            ParameterCase(
                name: "13.2 client_no_context_takeover", offer: "permessage-deflate; client_no_context_takeover",
                answer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            ParameterCase(name: "13.3 server window 8 is declined", offer: "permessage-deflate; server_max_window_bits=8", answer: nil),
            ParameterCase(
                name: "13.4 server window 15", offer: "permessage-deflate; server_max_window_bits=15",
                answer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15"),
            ParameterCase(
                name: "13.5 no client context and server window 8 is declined", offer: "permessage-deflate; client_no_context_takeover; server_max_window_bits=8",
                answer: nil),
            ParameterCase(
                name: "13.6 no client context and server window 15", offer: "permessage-deflate; client_no_context_takeover; server_max_window_bits=15",
                answer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15"),
            ParameterCase(
                name: "13.7 the first offer the server can honour wins",
                offer: "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=12, permessage-deflate",
                answer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12"),
            ParameterCase(
                name: "context takeover both ways", offer: "permessage-deflate", server: contextServer, answer: "permessage-deflate"),
            ParameterCase(
                name: "context takeover, client asks the server not to keep it", offer: "permessage-deflate; server_no_context_takeover",
                server: contextServer, answer: "permessage-deflate; server_no_context_takeover"),
        ]
        + (9...15).flatMap { bits in
            [
                ParameterCase(
                    name: "window \(bits) both ways, no context", offer: "permessage-deflate; server_max_window_bits=\(bits); client_max_window_bits=\(bits)",
                    answer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=\(bits); client_max_window_bits=\(bits)"),
                ParameterCase(
                    name: "window \(bits) both ways, context takeover",
                    offer: "permessage-deflate; server_max_window_bits=\(bits); client_max_window_bits=\(bits)", server: contextServer,
                    answer: "permessage-deflate; server_max_window_bits=\(bits); client_max_window_bits=\(bits)"),
            ]
        }

    @Test(arguments: parameterCases)
    func eachParameterIsNegotiatedAndHonoured(_ parameterCase: ParameterCase) async throws {
        try await Conformance.withEcho(compression: parameterCase.server) { port in
            let peer = try await DeflatePeer.connect(port: port, offer: parameterCase.offer)
            #expect(peer.agreed == parameterCase.answer)
            // Similar messages of many sizes, some fragmented, some repeated: a context that is kept (or wrongly
            // dropped, or wrongly kept) shows up as an echo that does not inflate to what was sent.
            var sent: [[UInt8]] = []
            for index in 0..<30 {
                let message = Samples.json([16, 100, 128, 300, 1000, 5000, 20000][index % 7], seed: index / 2)
                sent.append(message)
                try await peer.send(Conformance.text, message, fragment: index % 3 == 0 ? 64 : nil)
            }
            var echoes: [DeflatePeer.Received] = []
            for message in sent {
                let echo = try await peer.receive()
                #expect(echo.message == message, "echo differs")
                #expect(echo.compressed == (peer.agreed != nil && message.count >= Self.threshold))
                echoes.append(echo)
            }
            // The same message twice in a row: with server context takeover the second refers back to the first and
            // is far smaller; without, both compress alike.
            let repeated = Samples.hexText(3000)
            try await peer.send(Conformance.text, repeated, fragment: nil)
            try await peer.send(Conformance.text, repeated, fragment: nil)
            let first = try await peer.receive()
            let second = try await peer.receive()
            #expect(first.message == repeated && second.message == repeated)
            if peer.agreed != nil {
                if peer.serverKeepsContext {
                    // Only a window that reaches back over the whole first message can refer to it.
                    if peer.serverWindowBits >= 12 { #expect(second.wireBytes < first.wireBytes / 4) }
                } else {
                    #expect(second.wireBytes == first.wireBytes)
                }
            }
            await peer.socket.close()
        }
    }

    // MARK: What a server must refuse

    @Test func aDecompressionBombIsRefusedByTheLimitOnTheInflatedSize() async throws {
        try await Conformance.withEcho(maxMessageSize: 64 << 10) { port in
            // 64 KiB exactly inflates and echoes; one byte more is 1009, though it is some 70 bytes on the wire.
            let peer = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            let atLimit = [UInt8](repeating: 0x61, count: 64 << 10)
            try await peer.send(Conformance.binary, atLimit, fragment: nil)
            #expect(try await peer.receive().message == atLimit)
            let bomb = ReferenceDeflate(windowBits: 15, keepContext: false).compress([UInt8](repeating: 0x61, count: (64 << 10) + 1))
            #expect(bomb.count < 200)
            try await peer.socket.send(clientFrame(Conformance.binary, bomb, rsv: 0b100))
            try await peer.socket.expectFailure(WebSocketCloseCode.messageTooBig)

            // A megabyte of zeros from a kilobyte, fragmented: refused the same way.
            let big = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            try await big.send(Conformance.binary, [UInt8](repeating: 0, count: 1 << 20), fragment: 100)
            try await big.socket.expectFailure(WebSocketCloseCode.messageTooBig)
        }
    }

    @Test func invalidDeflateDataIs1007() async throws {
        try await Conformance.withEcho { port in
            let peer = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            // BFINAL=1 with the reserved block type 11.
            try await peer.socket.send(clientFrame(Conformance.binary, [0x07, 0x00, 0x01], rsv: 0b100))
            try await peer.socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }

    @Test func compressedTextThatIsNotUTF8Is1007() async throws {
        try await Conformance.withEcho { port in
            let peer = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            try await peer.send(Conformance.text, Array("agora".utf8) + [0xC3, 0x28] + Array(String(repeating: "x", count: 200).utf8), fragment: nil)
            try await peer.socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }

    @Test func rsv1OnAControlFrameOrAContinuationIs1002() async throws {
        try await Conformance.withEcho { port in
            let ping = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            try await ping.socket.send(clientFrame(Conformance.ping, [0x00], rsv: 0b100))
            try await ping.socket.expectFailure(WebSocketCloseCode.protocolError)

            let continuation = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            let compressed = ReferenceDeflate(windowBits: 15, keepContext: false).compress(Samples.json(1000, seed: 1))
            try await continuation.socket.send(clientFrame(Conformance.text, Array(compressed[..<10]), fin: false, rsv: 0b100))
            try await continuation.socket.send(clientFrame(Conformance.continuation, Array(compressed[10...]), rsv: 0b100))
            try await continuation.socket.expectFailure(WebSocketCloseCode.protocolError)

            let rsv2 = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            try await rsv2.socket.send(clientFrame(Conformance.text, Array("hello".utf8), rsv: 0b010))
            try await rsv2.socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test func rsv1WithoutNegotiationIs1002AndTheServerNeverSetsIt() async throws {
        try await Conformance.withEcho { port in
            // No offer: the answer has no extension and plain frames come back.
            let plain = try await DeflatePeer.connect(port: port, offer: nil)
            #expect(plain.agreed == nil)
            try await plain.send(Conformance.text, Samples.json(5000, seed: 3), fragment: nil)
            let echo = try await plain.receive()
            #expect(!echo.compressed && echo.message == Samples.json(5000, seed: 3))
            try await plain.socket.send(clientFrame(Conformance.text, ReferenceDeflate(windowBits: 15, keepContext: false).compress(Array("x".utf8)), rsv: 0b100))
            try await plain.socket.expectFailure(WebSocketCloseCode.protocolError)
        }
        // A server configured without compression declines every offer.
        try await Conformance.withEcho(compression: nil) { port in
            let peer = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            #expect(peer.agreed == nil)
            await peer.socket.close()
        }
    }

    @Test func controlFramesInterleaveWithACompressedMessageAndSmallMessagesGoPlain() async throws {
        try await Conformance.withEcho { port in
            let peer = try await DeflatePeer.connect(port: port, offer: "permessage-deflate")
            let message = Samples.json(2000, seed: 5)
            let compressed = ReferenceDeflate(windowBits: 15, keepContext: false).compress(message)
            try await peer.socket.send(clientFrame(Conformance.text, Array(compressed[..<20]), fin: false, rsv: 0b100))
            try await peer.socket.send(clientFrame(Conformance.ping, Array("mid".utf8)))
            try await peer.socket.send(clientFrame(Conformance.continuation, Array(compressed[20...])))
            try await peer.socket.expectFrame(.pong, Array("mid".utf8))
            #expect(try await peer.receive().message == message)
            // An empty compressed message is the single byte 00 (§7.2.3.6); an uncompressed one is fine too.
            try await peer.socket.send(clientFrame(Conformance.text, [0x00], rsv: 0b100))
            let empty = try await peer.receive()
            #expect(empty.message.isEmpty && !empty.compressed)
            try await peer.socket.send(clientFrame(Conformance.text, Array("short".utf8)))
            let short = try await peer.receive()
            #expect(short.message == Array("short".utf8) && !short.compressed)
            await peer.socket.close()
        }
    }

    @Test func aBroadcastIsCompressedOnceForMembersWithTheSameWindow() async throws {
        try await Conformance.withEcho { port in
            let members = [
                try await DeflatePeer.connect(port: port, path: "/broadcast", offer: "permessage-deflate"),
                try await DeflatePeer.connect(port: port, path: "/broadcast", offer: "permessage-deflate; client_max_window_bits"),
                try await DeflatePeer.connect(port: port, path: "/broadcast", offer: "permessage-deflate; server_max_window_bits=10"),
                try await DeflatePeer.connect(port: port, path: "/broadcast", offer: nil),
            ]
            try await Task.sleep(for: .milliseconds(100))  // every member joined
            let message = Samples.json(4000, seed: 8)
            try await members[3].send(Conformance.text, message, fragment: nil)
            var frames: [DeflatePeer.Received] = []
            for member in members {
                let received = try await member.receive()
                #expect(received.message == message)
                frames.append(received)
            }
            #expect(frames[0].compressed && frames[1].compressed && frames[2].compressed && !frames[3].compressed)
            // The same bytes for the same parameters (that they are compressed once is PreparedMessageTests'); the
            // member with a 10-bit window inflated its own with a 10-bit window.
            #expect(frames[0].payload == frames[1].payload)
            for member in members { await member.socket.close() }
        }
    }
}

/// A permessage-deflate peer over `RawSocket`: offers, reads the answer, compresses what it sends and inflates what
/// it receives as the answer says.
struct DeflatePeer {
    let socket: RawSocket
    /// The server's `Sec-WebSocket-Extensions`, nil when it declined.
    let agreed: String?
    let serverKeepsContext: Bool
    let serverWindowBits: Int
    private let deflater: ReferenceDeflate
    private let inflater: ReferenceInflate

    struct Received {
        var opcode: WebSocketOpcode
        var compressed: Bool
        /// The payload as it crossed the wire.
        var payload: [UInt8]
        var wireBytes: Int { payload.count }
        var message: [UInt8]
    }

    static func connect(port: Int, path: String = "/", offer: String?) async throws -> DeflatePeer {
        let socket = try await RawSocket.connect(port: port)
        let answer = try await socket.handshake(path: path, headers: offer.map { ["Sec-WebSocket-Extensions: \($0)"] } ?? [])
        try #require(answer.status == 101)
        let agreed = answer.headers["sec-websocket-extensions"]
        let parameters = (agreed ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        func bits(_ name: String) -> Int {
            parameters.first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) } ?? 15
        }
        let serverKeepsContext = !parameters.contains("server_no_context_takeover")
        return DeflatePeer(
            socket: socket, agreed: agreed, serverKeepsContext: serverKeepsContext, serverWindowBits: bits("server_max_window_bits"),
            deflater: ReferenceDeflate(windowBits: max(bits("client_max_window_bits"), 9), keepContext: !parameters.contains("client_no_context_takeover")),
            inflater: ReferenceInflate(windowBits: bits("server_max_window_bits"), keepContext: serverKeepsContext))
    }

    /// Sends a message, compressed when the extension was agreed, in frames of `fragment` payload bytes.
    func send(_ opcode: UInt8, _ message: [UInt8], fragment: Int?) async throws {
        let compressed = agreed != nil
        let payload = compressed ? deflater.compress(message) : message
        guard let fragment, payload.count > fragment else {
            return try await socket.send(Conformance.largeClientFrame(opcode, payload, rsv: compressed ? 0b100 : 0))
        }
        var frames: [UInt8] = []
        for start in stride(from: 0, to: payload.count, by: fragment) {
            let end = min(start + fragment, payload.count)
            frames += clientFrame(
                start == 0 ? opcode : Conformance.continuation, Array(payload[start..<end]), fin: end == payload.count,
                rsv: start == 0 && compressed ? 0b100 : 0)
        }
        try await socket.send(frames)
    }

    /// The next data message, which the server always sends as one frame.
    func receive() async throws -> Received {
        let frame = try #require(try await socket.readFrame(timeout: .seconds(20)), "the connection closed")
        #expect(frame.fin, "the server fragmented its answer")
        let payload = Array(frame.payload.readableBytesView)
        let compressed = frame.rsv & 0b100 != 0
        return Received(opcode: frame.opcode, compressed: compressed, payload: payload, message: compressed ? try inflater.inflate(payload) : payload)
    }
}

/// Messages that look like what Agora sends (JSON events) or like nothing at all (random bytes).
enum Samples {
    /// JSON text of exactly `size` bytes, varying with `seed`.
    static func json(_ size: Int, seed: Int) -> [UInt8] {
        var text = ""
        var index = 0
        while text.utf8.count < size {
            text += #"{"type":"event","seq":\#(seed * 1000 + index),"event":{"kind":"chat:message","data":{"body":"hello number \#(index)","from":"seller-\#(seed)"}}},"#
            index += 1
        }
        return Array(text.utf8.prefix(size))
    }

    /// Random hex digits: text that DEFLATE halves at best, unless it has seen it before.
    static func hexText(_ size: Int) -> [UInt8] {
        random(size).map { Array("0123456789abcdef".utf8)[Int($0 & 15)] }
    }

    static func random(_ size: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
