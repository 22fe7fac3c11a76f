import AgoraTestSupport
import AgoraWebSocket
import Testing

/// Autobahn|Testsuite group 4: opcodes 0x3-0x7 (data) and 0xB-0xF (control) are reserved for extensions we never
/// negotiate, so they fail the connection with 1002 (§5.2).
@Suite(.timeLimit(.minutes(1)))
struct ConformanceOpcodeTests {
    static let reserved: [UInt8] = [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF]

    @Test(arguments: reserved, [0, 13])
    func reservedOpcodeFailsTheConnection(opcode: UInt8, payloadLength: Int) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(opcode, [UInt8](repeating: 0x2A, count: payloadLength)))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test(arguments: reserved)
    func theConnectionWorksUntilTheReservedOpcode(opcode: UInt8) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, text: "Hello, world!"))
            try await socket.expectText("Hello, world!")
            // The ping behind the bad frame must go unanswered.
            try await socket.send(clientFrame(opcode, []) + clientFrame(Conformance.ping, []))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }
}
