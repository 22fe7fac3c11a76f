import AgoraWebSocket
import NIOCore
import Testing

/// One test per per-frame rule of RFC 6455 §5, each checking the close code the violation maps to.
@Suite struct FrameParserErrorTests {
    typealias Support = CodecTestSupport

    /// A masking key for hand-written client frames; its value does not matter to these rules.
    static let key: [UInt8] = [0x11, 0x22, 0x33, 0x44]

    /// Parses `bytes` as the server does (masked frames required).
    static func parseAsServer(_ bytes: [UInt8], maxFrameSize: Int = 1 << 16) throws {
        var parser = FrameParser(maxFrameSize: maxFrameSize, requireMasked: true)
        var buffer = Support.buffer(bytes)
        while try parser.next(&buffer) != nil {}
    }

    @Test(arguments: [UInt8(0x40), 0x20, 0x10, 0x70])
    func rsvBitsSetIsProtocolError(rsvBits: UInt8) {
        Support.expectError(WebSocketCloseCode.protocolError) {
            try Self.parseAsServer([0x81 | rsvBits, 0x80] + Self.key)
        }
    }

    @Test func rsv1IsRejectedFromTheFirstByteAlone() {
        // No need to wait for the rest of the header: the first byte already breaks §5.2.
        Support.expectError(WebSocketCloseCode.protocolError) { try Self.parseAsServer([0xC1]) }
    }

    @Test(arguments: [UInt8(0x3), 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF])
    func reservedOpcodeIsProtocolError(opcode: UInt8) {
        Support.expectError(WebSocketCloseCode.protocolError) {
            try Self.parseAsServer([0x80 | opcode, 0x80] + Self.key)
        }
    }

    @Test(arguments: [UInt8(0x8), 0x9, 0xA])
    func fragmentedControlFrameIsProtocolError(opcode: UInt8) {
        // FIN clear on a control frame: §5.5 says control frames MUST NOT be fragmented.
        Support.expectError(WebSocketCloseCode.protocolError) {
            try Self.parseAsServer([opcode, 0x80] + Self.key)
        }
    }

    @Test func pingOf126BytesIsProtocolError() {
        let header: [UInt8] = [0x89, 0x80 | 126, 0x00, 126] + Self.key
        Support.expectError(WebSocketCloseCode.protocolError) {
            try Self.parseAsServer(header + [UInt8](repeating: 0, count: 126))
        }
    }

    @Test func pingOf125BytesIsAccepted() throws {
        let header: [UInt8] = [0x89, 0x80 | 125] + Self.key
        let frames = try Support.parseAll(header + [UInt8](repeating: 0, count: 125), requireMasked: true)
        #expect(frames.first?.payload.readableBytes == 125)
    }

    @Test func nonMinimal16BitLengthIsProtocolError() {
        // 125 fits in the 7-bit field, so sending it as a 16-bit length breaks §5.2's minimal-encoding rule.
        Support.expectError(WebSocketCloseCode.protocolError) {
            try Self.parseAsServer([0x82, 0x80 | 126, 0x00, 125] + Self.key + [UInt8](repeating: 0, count: 125))
        }
    }

    @Test func nonMinimal64BitLengthIsProtocolError() {
        Support.expectError(WebSocketCloseCode.protocolError) {
            try Self.parseAsServer([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + Self.key)
        }
    }

    @Test func sixtyFourBitLengthWithMostSignificantBitIsProtocolError() {
        Support.expectError(WebSocketCloseCode.protocolError) {
            try Self.parseAsServer([0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 1, 0, 0] + Self.key)
        }
    }

    @Test func unmaskedClientFrameIsProtocolError() {
        Support.expectError(WebSocketCloseCode.protocolError) {
            try Self.parseAsServer([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        }
    }

    @Test func maskedServerFrameIsProtocolError() {
        Support.expectError(WebSocketCloseCode.protocolError) {
            _ = try Support.parseAll([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58], requireMasked: false)
        }
    }

    @Test func frameOverMaxSizeFailsBeforeItsPayloadArrives() {
        // Only the header and key: the parser must refuse from the length alone, not buffer 1001 bytes first.
        Support.expectError(WebSocketCloseCode.messageTooBig) {
            try Self.parseAsServer([0x82, 0x80 | 126, 0x03, 0xE9] + Self.key, maxFrameSize: 1000)
        }
        Support.expectError(WebSocketCloseCode.messageTooBig) {
            try Self.parseAsServer([0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0], maxFrameSize: 1000)
        }
    }

    @Test func frameAtMaxSizeIsAccepted() throws {
        var parser = FrameParser(maxFrameSize: 1000, requireMasked: true)
        var buffer = Support.buffer([0x82, 0x80 | 126, 0x03, 0xE8] + Self.key)
        #expect(try parser.next(&buffer) == nil)
        buffer.writeBytes([UInt8](repeating: 0, count: 1000))
        #expect(try parser.next(&buffer)?.payload.readableBytes == 1000)
    }

    @Test func errorsCarryTheirCloseCodes() {
        #expect(WebSocketError.protocolError("x").closeCode == 1002)
        #expect(WebSocketError.invalidPayload("x").closeCode == 1007)
        #expect(WebSocketError.policyViolation("x").closeCode == 1008)
        #expect(WebSocketError.messageTooBig("x").closeCode == 1009)
        #expect(WebSocketError.protocolError("bad").description == "WebSocket 1002: bad")
    }
}
