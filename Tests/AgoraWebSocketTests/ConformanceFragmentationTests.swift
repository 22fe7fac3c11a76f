import AgoraTestSupport
import AgoraWebSocket
import Testing

/// Autobahn|Testsuite group 5: fragmented messages (§5.4). The echo server answers each reassembled message with one
/// unfragmented frame, so every fragmentation must come back as exactly that.
@Suite(.timeLimit(.minutes(1)))
struct ConformanceFragmentationTests {
    /// A message as a list of frames: the first with `opcode`, the rest continuations, FIN on the last only.
    static func fragments(_ opcode: UInt8, _ parts: [[UInt8]]) -> [UInt8] {
        parts.enumerated().flatMap { index, part in
            clientFrame(index == 0 ? opcode : Conformance.continuation, part, fin: index == parts.count - 1)
        }
    }

    @Test(arguments: [Conformance.text, Conformance.binary])
    func twoFragmentsAreEchoedAsOneMessage(opcode: UInt8) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(Self.fragments(opcode, [Array("fragment1".utf8), Array("fragment2".utf8)]))
            try await socket.expectFrame(opcode == Conformance.text ? .text : .binary, Array("fragment1fragment2".utf8))
        }
    }

    @Test(arguments: [Conformance.text, Conformance.binary])
    func oneByteFragmentsAreEchoedAsOneMessage(opcode: UInt8) async throws {
        let payload = Array("Hello, fragmented world!".utf8)
        try await Conformance.withConnection { socket in
            try await socket.send(Self.fragments(opcode, payload.map { [$0] }))
            try await socket.expectFrame(opcode == Conformance.text ? .text : .binary, payload)
        }
    }

    @Test func emptyFragmentsAreAllowedAnywhere() async throws {
        try await Conformance.withConnection { socket in
            // Autobahn 6.1.2 and 6.1.3: a message of empty fragments only, and empty fragments around a non-empty one.
            try await socket.send(Self.fragments(Conformance.text, [[], [], []]))
            try await socket.expectText("")
            try await socket.send(Self.fragments(Conformance.text, [[], Array("middle".utf8), []]))
            try await socket.expectText("middle")
            try await socket.send(Self.fragments(Conformance.binary, [[], [0xFF], []]))
            try await socket.expectFrame(.binary, [0xFF])
        }
    }

    @Test func pingsBetweenFragmentsAreAnsweredBeforeTheMessageCompletes() async throws {
        try await Conformance.withConnection { socket in
            // Autobahn 5.19: each pong must arrive while the message is still open, so wait for it before going on.
            try await socket.send(clientFrame(Conformance.text, Array("fragment1".utf8), fin: false))
            try await socket.send(clientFrame(Conformance.continuation, Array("fragment2".utf8), fin: false))
            try await socket.send(clientFrame(Conformance.ping, Array("pongme 1!".utf8)))
            try await socket.expectFrame(.pong, Array("pongme 1!".utf8))
            try await socket.send(clientFrame(Conformance.continuation, Array("fragment3".utf8), fin: false))
            try await socket.send(clientFrame(Conformance.ping, Array("pongme 2!".utf8)))
            try await socket.expectFrame(.pong, Array("pongme 2!".utf8))
            try await socket.send(clientFrame(Conformance.continuation, Array("fragment4".utf8), fin: true))
            try await socket.expectText("fragment1fragment2fragment3fragment4")
        }
    }

    @Test func manyFragmentsAreEchoedAsOneMessage() async throws {
        let parts = (0..<2000).map { Array("\($0)|".utf8) }
        try await Conformance.withConnection { socket in
            try await socket.send(Self.fragments(Conformance.text, parts))
            try await socket.expectFrame(.text, parts.flatMap { $0 })
        }
    }

    @Test(arguments: [true, false])
    func continuationWithoutAStartFailsTheConnection(fin: Bool) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(Conformance.continuation, Array("non-continuation payload".utf8), fin: fin))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test func continuationAfterACompleteMessageFailsTheConnection() async throws {
        try await Conformance.withConnection { socket in
            // Autobahn 5.15: the first message is complete, so there is nothing left for the third frame to continue.
            try await socket.send(Self.fragments(Conformance.text, [Array("fragment1".utf8), Array("fragment2".utf8)]))
            try await socket.expectText("fragment1fragment2")
            try await socket.send(clientFrame(Conformance.continuation, Array("fragment3".utf8), fin: false))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test(arguments: [Conformance.ping, Conformance.pong, Conformance.close])
    func fragmentedControlFrameFailsTheConnection(opcode: UInt8) async throws {
        let payload = opcode == Conformance.close ? closePayload(1000) : Array("fragment1".utf8)
        try await Conformance.withConnection { socket in
            // §5.5: control frames must not be fragmented; the first half alone is already the error.
            try await socket.send(clientFrame(opcode, payload, fin: false))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }

    @Test(arguments: [Conformance.text, Conformance.binary], [Conformance.text, Conformance.binary])
    func newDataFrameInsideAFragmentedMessageFailsTheConnection(first: UInt8, second: UInt8) async throws {
        try await Conformance.withConnection { socket in
            try await socket.send(clientFrame(first, Array("fragment1".utf8), fin: false))
            try await socket.send(clientFrame(second, Array("fragment2".utf8), fin: true))
            try await socket.expectFailure(WebSocketCloseCode.protocolError)
        }
    }
}
