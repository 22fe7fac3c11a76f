import AgoraTestSupport
import AgoraWebSocket
import Testing

/// Autobahn|Testsuite group 9 (limits and performance): large messages, as one frame and in 64 KiB fragments, echoed
/// byte for byte. 16 MiB, the echo endpoint's limit, runs once per type to keep the group fast on two cores.
@Suite(.timeLimit(.minutes(2)))
struct ConformanceLargeMessageTests {
    static let sizes = [64 << 10, 256 << 10, 1 << 20, 4 << 20]
    static let fragmentSize = 64 << 10

    /// Text of exactly `size` bytes that mixes 1- to 4-byte characters, so 64 KiB fragment boundaries fall inside
    /// characters and the validator has to carry its state across them.
    static func text(size: Int) -> [UInt8] {
        filled(size, with: Array("Agora κόσμε 中文 𝄞 ".utf8))
    }

    /// Binary of exactly `size` bytes; the 251-byte period never lines up with the 4-byte mask or a fragment.
    static func binary(size: Int) -> [UInt8] {
        filled(size, with: (0..<251).map { UInt8(255 - $0) })
    }

    /// Whole copies of `unit` up to `size`, padded with dots. Built by doubling, because a per-byte closure over
    /// 16 MiB takes seconds in a debug build.
    static func filled(_ size: Int, with unit: [UInt8]) -> [UInt8] {
        var bytes = unit
        while bytes.count < size { bytes += bytes }
        return Array(bytes.prefix(size / unit.count * unit.count)) + [UInt8](repeating: UInt8(ascii: "."), count: size % unit.count)
    }

    /// The payload as a text or binary message: one frame, or `fragmentSize` fragments.
    static func message(_ opcode: UInt8, _ payload: [UInt8], fragmented: Bool) -> [UInt8] {
        guard fragmented else { return Conformance.largeClientFrame(opcode, payload) }
        let starts = Array(stride(from: 0, to: payload.count, by: fragmentSize))
        return starts.enumerated().flatMap { index, start in
            Conformance.largeClientFrame(
                index == 0 ? opcode : Conformance.continuation,
                Array(payload[start..<min(start + fragmentSize, payload.count)]),
                fin: index == starts.count - 1
            )
        }
    }

    static func roundTrip(_ opcode: UInt8, _ payload: [UInt8], fragmented: Bool) async throws {
        let bytes = message(opcode, payload, fragmented: fragmented)
        try await Conformance.withConnection { socket in
            try await socket.send(bytes)
            try await socket.expectFrame(opcode == Conformance.text ? .text : .binary, payload)
        }
    }

    @Test(arguments: sizes, [false, true])
    func textIsEchoed(size: Int, fragmented: Bool) async throws {
        try await Self.roundTrip(Conformance.text, Self.text(size: size), fragmented: fragmented)
    }

    @Test(arguments: sizes, [false, true])
    func binaryIsEchoed(size: Int, fragmented: Bool) async throws {
        try await Self.roundTrip(Conformance.binary, Self.binary(size: size), fragmented: fragmented)
    }

    @Test func sixteenMebibytesOfTextInOneFrameAreEchoed() async throws {
        try await Self.roundTrip(Conformance.text, Self.text(size: 16 << 20), fragmented: false)
    }

    @Test func sixteenMebibytesOfBinaryIn64KiBFragmentsAreEchoed() async throws {
        try await Self.roundTrip(Conformance.binary, Self.binary(size: 16 << 20), fragmented: true)
    }

    @Test(arguments: [0, 1, 125, 126, 65535, 65536, 70001])
    func theFastFrameBuilderAgreesWithClientFrame(length: Int) {
        let payload = Self.binary(size: length)
        #expect(Conformance.largeClientFrame(Conformance.binary, payload, fin: false) == clientFrame(Conformance.binary, payload, fin: false))
    }
}
