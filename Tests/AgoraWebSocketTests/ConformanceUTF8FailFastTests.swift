import AgoraTestSupport
import AgoraWebSocket
import Testing

/// Autobahn|Testsuite 6.4: invalid text fails the connection on the fragment that makes it invalid, before FIN, so a
/// peer cannot make us buffer a message that is already doomed. Each case sends no fragment after the bad one: the
/// 1007 Close must come anyway.
@Suite(.timeLimit(.minutes(1)))
struct ConformanceUTF8FailFastTests {
    static let doomedFirstFragments = [
        // Autobahn 6.4.1: F4 90 80 80 would be U+110000.
        ConformanceSample("κόσμε, U+110000, edited", Array("κόσμε".utf8) + [0xF4, 0x90, 0x80, 0x80] + Array("edited".utf8)),
        // F4 can only be followed by 80-8F, so the fragment is doomed although it ends inside the sequence.
        ConformanceSample("κόσμε, F4 90", Array("κόσμε".utf8) + [0xF4, 0x90]),
        ConformanceSample("surrogate U+D800", Array("κόσμε".utf8) + [0xED, 0xA0, 0x80]),
        ConformanceSample("overlong /", [0xC0, 0xAF]),
        ConformanceSample("lone continuation", Array("abc".utf8) + [0x80]),
        ConformanceSample("byte F5", [0xF5]),
    ]

    @Test(arguments: doomedFirstFragments)
    func aDoomedFirstFragmentFailsAtOnce(sample: ConformanceSample) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.text, sample.bytes, fin: false))
            try await socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }

    @Test func aDoomedMiddleFragmentFailsAtOnce() async throws {
        try await Conformance.withConnection { socket in
            // Autobahn 6.4.1 as three fragments: the valid first one, the bad one, and a third we never send.
            try await socket.send(clientFrame(Conformance.text, Array("κόσμε".utf8), fin: false))
            try await socket.send(clientFrame(Conformance.continuation, [0xF4, 0x90, 0x80, 0x80], fin: false))
            try await socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }

    @Test func aSequenceThatGoesWrongAcrossTheFragmentBoundaryFailsAtOnce() async throws {
        try await Conformance.withConnection { socket in
            // F4 is a fine last byte for now; the 90 at the start of the next fragment is what dooms it.
            try await socket.send(clientFrame(Conformance.text, Array("κόσμε".utf8) + [0xF4], fin: false))
            try await socket.send(clientFrame(Conformance.continuation, [0x90], fin: false))
            try await socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }

    @Test func aFragmentEndingInsideAValidSequenceIsNotAnErrorUntilFIN() async throws {
        try await Conformance.withConnection { socket in
            // E2 82 could still become €: the connection stays open (the ping is answered) until FIN ends the text.
            try await socket.send(clientFrame(Conformance.text, Array("price: ".utf8) + [0xE2, 0x82], fin: false))
            try await socket.send(clientFrame(Conformance.ping, Array("still open?".utf8)))
            try await socket.expectFrame(.pong, Array("still open?".utf8))
            try await socket.send(clientFrame(Conformance.continuation, [], fin: true))
            try await socket.expectFailure(WebSocketCloseCode.invalidPayload)
        }
    }
}
