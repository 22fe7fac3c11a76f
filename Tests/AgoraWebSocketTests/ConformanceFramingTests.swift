import AgoraTestSupport
import AgoraWebSocket
import Testing

/// Autobahn|Testsuite group 1: payload lengths around each length encoding (§5.2), unfragmented, echoed.
@Suite(.timeLimit(.minutes(1)))
struct ConformanceFramingTests {
    /// 125 is the largest 7-bit length, 126-65535 take the 16-bit form, 65536 and up the 64-bit form.
    static let lengths = [0, 125, 126, 127, 128, 65535, 65536]

    @Test(arguments: lengths)
    func textOfEveryLengthEncodingIsEchoed(length: Int) async throws {
        let payload = [UInt8](repeating: UInt8(ascii: "*"), count: length)
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, payload))
            try await socket.expectFrame(.text, payload)
        }
    }

    @Test(arguments: lengths)
    func binaryOfEveryLengthEncodingIsEchoed(length: Int) async throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 7 + 0xFE) }
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.binary, payload))
            try await socket.expectFrame(.binary, payload)
        }
    }

    @Test func textWrittenOneByteAtATimeIsEchoed() async throws {
        // 300 bytes take the 16-bit length, so the 8-byte header itself arrives in eight pieces.
        let payload = Array(String(repeating: "chop-", count: 60).utf8)
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, payload), chopsOf: 1)
            try await socket.expectFrame(.text, payload)
        }
    }

    @Test func binaryWrittenSevenBytesAtATimeIsEchoed() async throws {
        // A 64-bit length: the 14-byte header splits into two writes, and no write lines up with the 4-byte mask.
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.binary, payload), chopsOf: 7)
            try await socket.expectFrame(.binary, payload)
        }
    }

    @Test func framesBackToBackInOneWriteAreEchoedInOrder() async throws {
        let messages = (0..<20).map { "message \($0)" }
        try await Conformance.withConnection { socket in
            try await socket.send(messages.flatMap { clientFrame(Conformance.text, text: $0) })
            for message in messages { try await socket.expectText(message) }
        }
    }
}
