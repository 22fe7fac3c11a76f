import AgoraTestSupport
import AgoraWebSocket
import NIOCore
import Testing

/// Autobahn|Testsuite group 3: no extension is ever negotiated, so any RSV bit fails the connection with 1002 (§5.2).
@Suite(.timeLimit(.minutes(1)))
struct ConformanceReservedBitsTests {
    @Test(arguments: 1...7, [Conformance.text, Conformance.binary, Conformance.ping, Conformance.close])
    func reservedBitsFailTheConnection(rsv: UInt8, opcode: UInt8) async throws {
        let payload = opcode == Conformance.close ? closePayload(1000) : Array("Hello, world!".utf8)
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(opcode, payload, rsv: rsv))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test func aMessageBeforeTheBadFrameIsStillEchoed() async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, text: "before"))
            try await socket.expectText("before")
            // The ping after the bad frame must go unanswered: the connection failed before it was read.
            try await socket.send(clientFrame(Conformance.text, Array("bad".utf8), rsv: 2) + clientFrame(Conformance.ping, []))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test func nothingBehindTheBadFrameIsAnswered() async throws {
        // Autobahn 3.2 sends all three frames at once. The ping must go unanswered. The echo of the first message
        // may be lost (Autobahn rates that NON-STRICT): the connection fails before the echo server gets its turn.
        try await Conformance.withConnection { socket in
            let bytes = clientFrame(Conformance.text, text: "Hello, world!")
                + clientFrame(Conformance.text, Array("Hello, world!".utf8), rsv: 2)
                + clientFrame(Conformance.ping, [])
            try await socket.send(bytes)
            let closing = try #require(try await socket.readUntilClose(), "TCP closed without a Close frame")
            #expect(closing.frames.map(\.opcode) == [] || closing.frames.map(\.opcode) == [.text])
            #expect(closing.frames.allSatisfy { String(buffer: $0.payload) == "Hello, world!" })
            #expect(closing.code == WebSocketCloseCode.protocolError)
            #expect(try await socket.waitForTCPClose())
        }
    }
}
