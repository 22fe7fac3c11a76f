import NIOCore

/// Bytes to frames with `FrameParser`; errors go down the pipeline to `WebSocketHandler`, which fails the
/// connection with the error's close code.
final class FrameDecoderHandler: ByteToMessageDecoder {
    typealias InboundOut = WebSocketFrame
    private var parser: FrameParser

    init(maxFrameSize: Int, requireMasked: Bool) {
        parser = FrameParser(maxFrameSize: maxFrameSize, requireMasked: requireMasked)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try parser.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A half frame at EOF is simply dropped: the connection is going away (abnormal closure, 1006, is implicit).
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

@available(*, unavailable)
extension FrameDecoderHandler: Sendable {}  // belongs to one event loop
