import AgoraWebSocket
import NIOCore
import Testing

/// The examples of RFC 6455 §5.7, byte for byte, in both directions.
@Suite struct CodecRFCExampleTests {
    typealias Support = CodecTestSupport

    /// §5.7 writes the masking key as 0x37 0xfa 0x21 0x3d; our API takes it as a big-endian number.
    static let rfcKey: UInt32 = 0x37FA_213D
    static let unmaskedHello: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
    static let maskedHello: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]

    @Test func singleFrameUnmaskedText() throws {
        let frames = try Support.parseAll(Self.unmaskedHello, requireMasked: false)
        #expect(frames == [WebSocketFrame(opcode: .text, payload: Support.buffer("Hello"))])
        #expect(Support.encode(frames[0]) == Self.unmaskedHello)
    }

    @Test func singleFrameMaskedText() throws {
        let frames = try Support.parseAll(Self.maskedHello, requireMasked: true)
        #expect(frames == [WebSocketFrame(opcode: .text, payload: Support.buffer("Hello"))])
        #expect(Support.encode(frames[0], maskingKey: Self.rfcKey) == Self.maskedHello)
    }

    @Test func fragmentedUnmaskedText() throws {
        let first: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6C]
        let second: [UInt8] = [0x80, 0x02, 0x6C, 0x6F]
        let frames = try Support.parseAll(first + second, requireMasked: false)
        #expect(
            frames == [
                WebSocketFrame(fin: false, opcode: .text, payload: Support.buffer("Hel")),
                WebSocketFrame(opcode: .continuation, payload: Support.buffer("lo")),
            ]
        )
        #expect(Support.encode(frames[0]) == first)
        #expect(Support.encode(frames[1]) == second)

        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(frames[0]) == nil)
        #expect(try assembler.receive(frames[1]) == .text("Hello"))
    }

    @Test func unmaskedPing() throws {
        let bytes: [UInt8] = [0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
        let frames = try Support.parseAll(bytes, requireMasked: false)
        #expect(frames == [WebSocketFrame(opcode: .ping, payload: Support.buffer("Hello"))])
        #expect(Support.encode(frames[0]) == bytes)
    }

    @Test func maskedPong() throws {
        let bytes: [UInt8] = [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        let frames = try Support.parseAll(bytes, requireMasked: true)
        #expect(frames == [WebSocketFrame(opcode: .pong, payload: Support.buffer("Hello"))])
        #expect(Support.encode(frames[0], maskingKey: Self.rfcKey) == bytes)
    }

    @Test func binary256BytesUses16BitLength() throws {
        let payload = Support.pattern(256)
        let bytes: [UInt8] = [0x82, 0x7E, 0x01, 0x00] + payload
        let frames = try Support.parseAll(bytes, requireMasked: false)
        #expect(frames == [WebSocketFrame(opcode: .binary, payload: Support.buffer(payload))])
        #expect(Support.encode(frames[0]) == bytes)
    }

    @Test func binary64KiBUses64BitLength() throws {
        let payload = Support.pattern(65536)
        let bytes: [UInt8] = [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00] + payload
        let frames = try Support.parseAll(bytes, requireMasked: false)
        #expect(frames == [WebSocketFrame(opcode: .binary, payload: Support.buffer(payload))])
        #expect(Support.encode(frames[0]) == bytes)
    }
}
