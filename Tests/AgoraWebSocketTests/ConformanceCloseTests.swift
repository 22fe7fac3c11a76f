import AgoraTestSupport
import AgoraWebSocket
import NIOCore
import Testing

/// Autobahn|Testsuite group 7: the closing handshake (§5.5.1, §7). The server echoes a valid Close and closes TCP
/// first (§7.1.1); a malformed Close fails the connection.
@Suite(.timeLimit(.minutes(1)))
struct ConformanceCloseTests {
    /// Codes a peer may send: the defined ones, and the edges of the library and application ranges (§7.4).
    static let validCodes: [UInt16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
    /// Unused (0-999), reserved (1004, 1016-2999), local-only (1005, 1006, 1015), and past the registry (5000 up).
    static let invalidCodes: [UInt16] = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]

    @Test func anEmptyCloseIsAnsweredWithAnEmptyClose() async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.close, []))
            try await socket.expectCloseEcho(nil)
        }
    }

    @Test(arguments: ["", "Hello World!", String(repeating: "*", count: 123)])
    func a1000CloseIsEchoed(reason: String) async throws {
        // 123 bytes of reason plus the code is 125, the most a control frame carries.
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.close, closePayload(1000, reason)))
            try await socket.expectCloseEcho(1000)
        }
    }

    @Test(arguments: validCodes)
    func aValidCodeIsEchoed(code: UInt16) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.close, closePayload(code)))
            try await socket.expectCloseEcho(code)
        }
    }

    @Test(arguments: invalidCodes)
    func anInvalidCodeFailsTheConnection(code: UInt16) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.close, closePayload(code)))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test func aOneBytePayloadFailsTheConnection() async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.close, [0x03]))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test func aReasonOf124BytesFailsTheConnection() async throws {
        // Autobahn 7.3.6: 126 bytes of payload is over the control-frame limit.
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.close, closePayload(1000, String(repeating: "*", count: 124))))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test func aReasonThatIsNotUTF8FailsTheConnectionWith1007() async throws {
        // Autobahn 7.5.1: "κόσμε", a surrogate, "edited".
        let reason: [UInt8] = Array("κόσμε".utf8) + [0xED, 0xA0, 0x80] + Array("edited".utf8)
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.close, closePayload(1000) + reason))
            try await socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }

    @Test(arguments: [
        ConformanceSample("text", clientFrame(Conformance.text, text: "Hello World!")),
        ConformanceSample("ping", clientFrame(Conformance.ping, Array("Hello World!".utf8))),
        ConformanceSample("second close", clientFrame(Conformance.close, closePayload(1000))),
    ])
    func nothingAfterTheCloseIsAnswered(after: ConformanceSample) async throws {
        // Autobahn 7.1.2-7.1.4: the frame follows the Close in the same write, and gets no answer of its own.
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.close, closePayload(1000)) + after.bytes)
            try await socket.expectCloseEcho(1000)
        }
    }

    @Test func aCloseInTheMiddleOfAFragmentedMessageIsEchoed() async throws {
        // Autobahn 7.1.5: the unfinished message is dropped, never echoed.
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, Array("fragment1".utf8), fin: false))
            try await socket.send(clientFrame(Conformance.close, closePayload(1000)))
            try await socket.expectCloseEcho(1000)
        }
    }

    @Test func aMessageIsEchoedThenTheCloseIsEchoed() async throws {
        // Autobahn 7.1.1: the suite sends the message and closes once the echo is in.
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, text: "Hello World!"))
            try await socket.expectText("Hello World!")
            try await socket.send(clientFrame(Conformance.close, closePayload(1000)))
            try await socket.expectCloseEcho(1000)
        }
    }

    @Test func aMessageAndACloseInOneWriteEndCleanly() async throws {
        // The server answers the Close at once (§5.5.1: "as soon as practical"), so the echo of the message may or
        // may not get out first; what must hold is a clean 1000 with nothing else before it.
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, text: "Hello World!") + clientFrame(Conformance.close, closePayload(1000)))
            let closing = try #require(try await socket.readUntilClose(), "TCP closed without a Close frame")
            #expect(closing.frames.allSatisfy { $0.opcode == .text && String(buffer: $0.payload) == "Hello World!" })
            #expect(closing.frames.count <= 1)
            #expect(closing.code == 1000)
            #expect(try await socket.waitForTCPClose())
        }
    }
}
