import AgoraTestSupport
import AgoraWebSocket
import NIOCore
import Testing

/// Fragmentation (RFC 6455 §5.4), text validation across fragments (§8.1) and Close payloads (§5.5.1).
@Suite struct CodecMessageAssemblerTests {
    typealias Support = CodecTestSupport

    static func frame(_ opcode: WebSocketOpcode, fin: Bool = true, _ bytes: [UInt8]) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, payload: Support.buffer(bytes))
    }

    static func frame(_ opcode: WebSocketOpcode, fin: Bool = true, _ text: String) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, payload: Support.buffer(text))
    }

    static func close(code: UInt16, reason: [UInt8] = []) -> WebSocketFrame {
        frame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + reason)
    }

    @Test func unfragmentedMessages() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.frame(.text, "héllo 👋")) == .text("héllo 👋"))
        #expect(try assembler.receive(Self.frame(.binary, [0xFF, 0x00])) == .binary(Support.buffer([0xFF, 0x00])))
        #expect(try assembler.receive(Self.frame(.text, "")) == .text(""))
    }

    @Test func fragmentedBinaryMessage() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.frame(.binary, fin: false, [1, 2])) == nil)
        #expect(try assembler.receive(Self.frame(.continuation, fin: false, [])) == nil)
        #expect(try assembler.receive(Self.frame(.continuation, [3])) == .binary(Support.buffer([1, 2, 3])))
        // The assembler is ready for the next message afterwards.
        #expect(try assembler.receive(Self.frame(.text, "next")) == .text("next"))
    }

    @Test func continuationWithoutStartIsProtocolError() {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        Support.expectError(WebSocketCloseCode.protocolError) { _ = try assembler.receive(Self.frame(.continuation, "x")) }
    }

    @Test func newTextDuringFragmentedMessageIsProtocolError() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.frame(.text, fin: false, "Hel")) == nil)
        Support.expectError(WebSocketCloseCode.protocolError) { _ = try assembler.receive(Self.frame(.text, "lo")) }
    }

    @Test func newBinaryDuringFragmentedMessageIsProtocolError() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.frame(.binary, fin: false, [1])) == nil)
        Support.expectError(WebSocketCloseCode.protocolError) { _ = try assembler.receive(Self.frame(.binary, [2])) }
    }

    @Test func controlFramesBetweenFragmentsComeStraightBack() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.frame(.text, fin: false, "Hel")) == nil)
        #expect(try assembler.receive(Self.frame(.ping, "p")) == .ping(Support.buffer("p")))
        #expect(try assembler.receive(Self.frame(.pong, "q")) == .pong(Support.buffer("q")))
        #expect(try assembler.receive(Self.close(code: 1000)) == .close(code: 1000, reason: ""))
        #expect(try assembler.receive(Self.frame(.continuation, "lo")) == .text("Hello"))
    }

    @Test func invalidUTF8FailsOnTheFirstFragmentThatContainsIt() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.frame(.text, fin: false, "valid")) == nil)
        // 0xC0 0x80 is an overlong NUL; FIN has not been seen, but this fragment already proves the text invalid.
        Support.expectError(WebSocketCloseCode.invalidPayload) {
            _ = try assembler.receive(Self.frame(.continuation, fin: false, [0x61, 0xC0, 0x80]))
        }
    }

    @Test func invalidUTF8InAnUnfragmentedTextIsInvalidPayload() {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        Support.expectError(WebSocketCloseCode.invalidPayload) { _ = try assembler.receive(Self.frame(.text, [0xED, 0xA0, 0x80])) }
    }

    @Test func utf8SequenceSplitAcrossFragmentsIsAccepted() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        let face: [UInt8] = Array("😀".utf8)
        #expect(try assembler.receive(Self.frame(.text, fin: false, [0x41, euro[0]])) == nil)
        #expect(try assembler.receive(Self.frame(.continuation, fin: false, [euro[1]])) == nil)
        #expect(try assembler.receive(Self.frame(.continuation, fin: false, [euro[2]] + face.prefix(2))) == nil)
        #expect(try assembler.receive(Self.frame(.continuation, Array(face.suffix(2)))) == .text("A€😀"))
    }

    @Test func textEndingMidSequenceAtFinIsInvalidPayload() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.frame(.text, fin: false, [0x41, 0xE2])) == nil)
        Support.expectError(WebSocketCloseCode.invalidPayload) { _ = try assembler.receive(Self.frame(.continuation, [0x82])) }
    }

    @Test func messageOverMaxSizeFailsOnTheFragmentThatExceedsIt() throws {
        var assembler = MessageAssembler(maxMessageSize: 10)
        #expect(try assembler.receive(Self.frame(.binary, fin: false, Support.pattern(6))) == nil)
        #expect(try assembler.receive(Self.frame(.continuation, fin: false, Support.pattern(4))) == nil)
        Support.expectError(WebSocketCloseCode.messageTooBig) {
            _ = try assembler.receive(Self.frame(.continuation, fin: false, Support.pattern(1)))
        }
    }

    @Test func unfragmentedMessageOverMaxSizeIsMessageTooBig() throws {
        var assembler = MessageAssembler(maxMessageSize: 10)
        #expect(try assembler.receive(Self.frame(.text, String(repeating: "a", count: 10))) == .text(String(repeating: "a", count: 10)))
        Support.expectError(WebSocketCloseCode.messageTooBig) { _ = try assembler.receive(Self.frame(.text, String(repeating: "a", count: 11))) }
    }

    @Test func emptyClosePayloadHasNoCode() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.frame(.close, [])) == .close(code: nil, reason: ""))
    }

    @Test func closeWithCodeAndReason() throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(try assembler.receive(Self.close(code: 1001, reason: Array("à bientôt".utf8))) == .close(code: 1001, reason: "à bientôt"))
    }

    @Test func closePayloadOfOneByteIsProtocolError() {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        Support.expectError(WebSocketCloseCode.protocolError) { _ = try assembler.receive(Self.frame(.close, [0x03])) }
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
    func closeCodeNotAllowedOnTheWireIsProtocolError(code: UInt16) {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(!WebSocketCloseCode.isValidOnWire(code))
        Support.expectError(WebSocketCloseCode.protocolError) { _ = try assembler.receive(Self.close(code: code)) }
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1014, 3000, 4000, 4999])
    func closeCodeAllowedOnTheWireIsAccepted(code: UInt16) throws {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        #expect(WebSocketCloseCode.isValidOnWire(code))
        #expect(try assembler.receive(Self.close(code: code)) == .close(code: code, reason: ""))
    }

    @Test func closeReasonThatIsNotUTF8IsInvalidPayload() {
        var assembler = MessageAssembler(maxMessageSize: 1024)
        Support.expectError(WebSocketCloseCode.invalidPayload) { _ = try assembler.receive(Self.close(code: 1000, reason: [0x6F, 0xFF])) }
        Support.expectError(WebSocketCloseCode.invalidPayload) { _ = try assembler.receive(Self.close(code: 1000, reason: [0xE2, 0x82])) }
    }
}
