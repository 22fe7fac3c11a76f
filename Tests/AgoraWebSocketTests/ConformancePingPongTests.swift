import AgoraTestSupport
import AgoraWebSocket
import Testing

/// Autobahn|Testsuite group 2: a ping is answered with a pong carrying its payload (§5.5.2), a pong nobody asked for
/// is ignored (§5.5.3), and a control frame over 125 bytes fails the connection (§5.5).
@Suite(.timeLimit(.minutes(1)))
struct ConformancePingPongTests {
    @Test(arguments: [
        ConformanceSample("no payload", []),
        ConformanceSample("text payload", Array("Hello, world!".utf8)),
        ConformanceSample("binary payload", [0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF]),
        ConformanceSample("125 bytes", [UInt8](repeating: 0xFE, count: 125)),
    ])
    func pingIsAnsweredWithItsPayload(sample: ConformanceSample) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.ping, sample.bytes))
            try await socket.expectFrame(.pong, sample.bytes)
        }
    }

    @Test func pingWrittenOneByteAtATimeIsAnswered() async throws {
        let payload = [UInt8](repeating: 0xFE, count: 125)
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.ping, payload), chopsOf: 1)
            try await socket.expectFrame(.pong, payload)
        }
    }

    @Test func pingOf126BytesFailsTheConnection() async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.ping, [UInt8](repeating: 0xFE, count: 126)))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test func unsolicitedPongsAreIgnored() async throws {
        try await Conformance.withConnection { socket in
            // The ping's pong must be the very next frame: nothing answered the pongs, and the connection is alive.
            try await socket.send(clientFrame(Conformance.pong, []) + clientFrame(Conformance.pong, Array("unsolicited".utf8)))
            try await socket.send(clientFrame(Conformance.ping, Array("solicited".utf8)))
            try await socket.expectFrame(.pong, Array("solicited".utf8))
            try await socket.send(clientFrame(Conformance.text, text: "still open"))
            try await socket.expectText("still open")
        }
    }

    @Test(arguments: [nil, 1] as [Int?])
    func tenPingsGetTenPongsInOrder(chopSize: Int?) async throws {
        let payloads = (0..<10).map { Array("payload-\($0)".utf8) }
        let bytes = payloads.flatMap { clientFrame(Conformance.ping, $0) }
        try await Conformance.withConnection { socket in
            if let chopSize {
                try await socket.send(bytes, chopsOf: chopSize)
            } else {
                try await socket.send(bytes)
            }
            for payload in payloads { try await socket.expectFrame(.pong, payload) }
        }
    }
}
