import AgoraTestSupport
import AgoraWebSocket
import NIOCore
import Testing

/// Length encodings at every boundary of §5.2, and input arriving in arbitrary pieces.
@Suite struct CodecLengthTests {
    typealias Support = CodecTestSupport

    /// Every length where the encoding changes: 7-bit up to 125, 16-bit from 126 to 65535, 64-bit after.
    static let boundaries = [0, 1, 125, 126, 127, 65535, 65536]

    /// The length field as it must appear on the wire, after the first byte.
    static func lengthField(_ length: Int, maskBit: UInt8) -> [UInt8] {
        switch length {
        case ..<126:
            return [maskBit | UInt8(length)]
        case ...65535:
            return [maskBit | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        default:
            return [maskBit | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: length >> ($0 * 8)) }
        }
    }

    @Test(arguments: boundaries)
    func unmaskedRoundTrip(length: Int) throws {
        let frame = WebSocketFrame(opcode: .binary, payload: Support.buffer(Support.pattern(length)))
        let bytes = Support.encode(frame)
        #expect(Array(bytes.prefix(1)) == [0x82])
        #expect(Array(bytes.dropFirst().prefix(Self.lengthField(length, maskBit: 0).count)) == Self.lengthField(length, maskBit: 0))
        #expect(bytes.count == 1 + Self.lengthField(length, maskBit: 0).count + length)
        #expect(try Support.parseAll(bytes, requireMasked: false) == [frame])
    }

    @Test(arguments: boundaries)
    func maskedRoundTrip(length: Int) throws {
        let frame = WebSocketFrame(opcode: .binary, payload: Support.buffer(Support.pattern(length)))
        let key: UInt32 = 0xA1B2_C3D4
        let bytes = Support.encode(frame, maskingKey: key)
        let field = Self.lengthField(length, maskBit: 0x80)
        #expect(Array(bytes.dropFirst().prefix(field.count)) == field)
        #expect(Array(bytes.dropFirst(1 + field.count).prefix(4)) == [0xA1, 0xB2, 0xC3, 0xD4])
        #expect(bytes.count == 1 + field.count + 4 + length)
        if length > 0 {
            #expect(Array(bytes.suffix(length)) != Support.pattern(length), "payload went out unmasked")
        }
        #expect(try Support.parseAll(bytes, requireMasked: true) == [frame])
    }

    @Test(arguments: [1, 7, 8, 9, 15, 16, 17, 1000])
    func maskingMatchesTheBytewiseDefinition(length: Int) {
        // §5.3: octet i of the masked data is octet i of the payload XOR octet (i mod 4) of the key.
        let payload = Support.pattern(length)
        let key: [UInt8] = [0x01, 0x80, 0xFE, 0x7F]
        let expected = payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        let frame = WebSocketFrame(opcode: .binary, payload: Support.buffer(payload))
        #expect(Array(Support.encode(frame, maskingKey: 0x0180_FE7F).suffix(length)) == expected)
    }

    @Test func partialFrameConsumesNothing() throws {
        var parser = FrameParser(maxFrameSize: 1 << 20, requireMasked: true)
        let full = Support.encode(WebSocketFrame(opcode: .binary, payload: Support.buffer(Support.pattern(300))), maskingKey: 7)
        for cut in [0, 1, 2, 3, 4, 7, 8, full.count - 1] {
            var buffer = Support.buffer(Array(full.prefix(cut)))
            #expect(try parser.next(&buffer) == nil)
            #expect(buffer.readableBytes == cut)
        }
    }

    @Test func byteAtATimeGivesTheSameFrames() throws {
        let key: UInt32 = 0x1234_5678
        let frames = [
            WebSocketFrame(fin: false, opcode: .text, payload: Support.buffer("Hel")),
            WebSocketFrame(opcode: .ping, payload: Support.buffer("are you there")),
            WebSocketFrame(opcode: .continuation, payload: Support.buffer("lo")),
            WebSocketFrame(opcode: .binary, payload: Support.buffer(Support.pattern(0))),
            WebSocketFrame(opcode: .binary, payload: Support.buffer(Support.pattern(126))),
            WebSocketFrame(opcode: .binary, payload: Support.buffer(Support.pattern(70000))),
            WebSocketFrame(opcode: .pong, payload: Support.buffer("")),
            WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(code: 1000, reason: "bye")),
        ]
        let masked = frames.flatMap { Support.encode($0, maskingKey: key) }
        let unmasked = frames.flatMap { Support.encode($0) }

        #expect(try Support.parseAll(masked, requireMasked: true) == frames)
        #expect(try Support.parseByteAtATime(masked, requireMasked: true) == frames)
        #expect(try Support.parseAll(unmasked, requireMasked: false) == frames)
        #expect(try Support.parseByteAtATime(unmasked, requireMasked: false) == frames)
    }

    @Test func randomSplitsGiveTheSameFrames() throws {
        var random = CodecTestRandom(seed: 6455)
        let frames = (0..<40).map { index in
            let length = [0, 5, 125, 126, 300, 65536][index % 6]
            return WebSocketFrame(opcode: index % 2 == 0 ? .binary : .text, payload: Support.buffer(Support.pattern(length)))
        }
        let stream = frames.flatMap { Support.encode($0, maskingKey: UInt32.random(in: 0...UInt32.max, using: &random)) }
        for _ in 0..<20 {
            var parser = FrameParser(maxFrameSize: 1 << 20, requireMasked: true)
            var buffer = ByteBuffer()
            var parsed: [WebSocketFrame] = []
            var offset = 0
            while offset < stream.count {
                let chunk = min(Int.random(in: 1...4000, using: &random), stream.count - offset)
                buffer.writeBytes(stream[offset..<offset + chunk])
                offset += chunk
                while let frame = try parser.next(&buffer) { parsed.append(frame) }
            }
            #expect(parsed == frames)
        }
    }
}
