import AgoraTestSupport
import AgoraWebSocket
import NIOCore
import Testing

/// Encoder details not covered by the RFC examples: header bits, Close payloads and masking keys.
@Suite struct CodecFrameEncoderTests {
    typealias Support = CodecTestSupport

    @Test func headerBitsAreEncoded() {
        let frame = WebSocketFrame(fin: false, rsv: 0b101, opcode: .binary, payload: Support.buffer([0xAB]))
        #expect(Support.encode(frame) == [0x52, 0x01, 0xAB])
    }

    @Test func encodedMatchesEncode() {
        let frame = WebSocketFrame(opcode: .text, payload: Support.buffer(String(repeating: "x", count: 300)))
        #expect(Support.bytes(FrameEncoder.encoded(frame)) == Support.encode(frame))
    }

    @Test func encodeAppendsAndLeavesThePayloadAlone() {
        let payload = Support.buffer("Hello")
        var buffer = Support.buffer([0xEE])
        FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: payload), maskingKey: 0x37FA_213D, into: &buffer)
        #expect(Support.bytes(buffer) == [0xEE, 0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        #expect(payload == Support.buffer("Hello"))
    }

    @Test func shortClosePayloadIsCodeThenReason() {
        #expect(Support.bytes(FrameEncoder.closePayload(code: 1000, reason: "bye")) == [0x03, 0xE8] + Array("bye".utf8))
        #expect(Support.bytes(FrameEncoder.closePayload(code: 4000, reason: "")) == [0x0F, 0xA0])
    }

    @Test(arguments: [
        String(repeating: "é", count: 100),
        String(repeating: "a", count: 122) + "€",
        String(repeating: "👩‍👩‍👧", count: 20),
        String(repeating: "x", count: 123),
        String(repeating: "x", count: 124),
    ])
    func longCloseReasonIsTruncatedOnACharacterBoundary(reason: String) throws {
        let payload = FrameEncoder.closePayload(code: 1011, reason: reason)
        #expect(payload.readableBytes <= 125)
        var view = payload
        #expect(view.readInteger(as: UInt16.self) == 1011)
        let text = try #require(String(validating: Array(view.readableBytesView), as: UTF8.self))
        #expect(reason.hasPrefix(text))
        #expect(reason.utf8.count <= 123 || text.utf8.count > 123 - 25, "cut far more than one character")

        // What we send must be what a peer's assembler accepts.
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(WebSocketFrame(opcode: .close, payload: payload)) == .close(code: 1011, reason: text))
    }

    @Test func maskingKeysVary() {
        var source = MaskingKeySource()
        let keys = (0..<200).map { _ in source.next() }
        // 200 draws from 2^32 collide with probability about 5e-6; a stuck or repeating source would not.
        #expect(Set(keys).count >= 199)
    }
}
