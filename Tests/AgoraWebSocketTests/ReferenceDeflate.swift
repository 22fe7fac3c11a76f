import CZlib
import Foundation

/// The peer's half of permessage-deflate, written for the tests straight on zlib's API and independent of the
/// server's `Deflater`/`Inflater`, so a mistake in those (a missing tail, a lost context, a reset at the wrong time)
/// cannot hide itself by being made twice.
final class ReferenceDeflate: @unchecked Sendable {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let keepContext: Bool

    init(windowBits: Int, keepContext: Bool) {
        self.keepContext = keepContext
        stream.initialize(to: z_stream())
        let status = deflateInit2_(stream, 6, Z_DEFLATED, -Int32(windowBits), 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK)
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// One message as RFC 7692 §7.2.1 has it: DEFLATE, sync flush, the final `00 00 FF FF` removed.
    func compress(_ message: [UInt8]) -> [UInt8] {
        var input = message
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.pointee.next_out = buffer.baseAddress
                    stream.pointee.avail_out = UInt32(buffer.count)
                    _ = deflate(stream, Z_SYNC_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.pointee.avail_out))]
            } while stream.pointee.avail_out == 0
        }
        precondition(output.suffix(4) == [0, 0, 0xFF, 0xFF])
        if !keepContext { deflateReset(stream) }
        return Array(output.dropLast(4))
    }
}

/// Inflates what the server sends, the tail put back; keeps the window between messages when the server does.
final class ReferenceInflate: @unchecked Sendable {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let keepContext: Bool

    struct Invalid: Error {}

    init(windowBits: Int, keepContext: Bool) {
        self.keepContext = keepContext
        stream.initialize(to: z_stream())
        precondition(inflateInit2_(stream, -Int32(windowBits), zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func inflate(_ payload: [UInt8]) throws -> [UInt8] {
        var input = payload + [0, 0, 0xFF, 0xFF]
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.pointee.next_out = buffer.baseAddress
                    stream.pointee.avail_out = UInt32(buffer.count)
                    status = CZlib.inflate(stream, Z_SYNC_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.pointee.avail_out))]
            } while (stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0) && status == Z_OK
        }
        guard status == Z_OK || status == Z_BUF_ERROR, stream.pointee.avail_in == 0 else { throw Invalid() }
        if !keepContext { inflateReset(stream) }
        return output
    }
}
