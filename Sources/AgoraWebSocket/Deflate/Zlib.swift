import CZlib
public import NIOCore

/// Raw DEFLATE (RFC 1951, no zlib header) compressing one message at a time, as permessage-deflate needs (RFC 7692
/// §7.2.1): each message is flushed with `Z_SYNC_FLUSH`, which ends it on a byte boundary with an empty stored block
/// `00 00 FF FF`, and those four bytes are left off the wire.
///
/// zlib allocates a compressor's memory up front: (1 << (windowBits + 2)) + (1 << (memLevel + 9)) bytes plus some
/// 6 KiB of state, 262 KiB at windowBits 15 and memLevel 8. Hence who owns one matters: see `DeflateCodecs`.
///
/// A `Deflater` is used by one thread at a time (the event loop that owns it).
public final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    let windowBits: Int

    /// - Parameters:
    ///   - windowBits: 9...15. zlib cannot make a raw stream with an 8-bit window (it silently uses 9 for a zlib
    ///     stream and refuses a raw one), so a peer that asks for 8 is declined during negotiation.
    ///   - level: 0...9.
    ///   - memLevel: 1...9, the size of the match-finding hash (memory above).
    public init(windowBits: Int, level: Int, memLevel: Int) {
        precondition((9...15).contains(windowBits) && (0...9).contains(level) && (1...9).contains(memLevel))
        self.windowBits = windowBits
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(
            stream, Int32(level), Z_DEFLATED, -Int32(windowBits), Int32(memLevel), Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        // Only Z_MEM_ERROR is possible with parameters checked as above: an allocation failure, as fatal as any other.
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses one whole message.
    ///
    /// - Parameters:
    ///   - input: the message payload.
    ///   - resetAfter: forget this message afterwards (no context takeover), so the next message is compressed as
    ///     if it were the first.
    ///   - allocator: where the output comes from.
    /// - Returns: the compressed payload without the trailing `00 00 FF FF` (an empty message becomes one `00` byte,
    ///   §7.2.3.6).
    public func compress(_ input: ByteBuffer, resetAfter: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        let bound = Int(deflateBound(stream, UInt(input.readableBytes))) + 16
        var output = allocator.buffer(capacity: bound)
        input.withUnsafeReadableBytes { source in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = UInt32(source.count)
            repeat {
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 64) { destination in
                    stream.pointee.next_out = destination.bindMemory(to: Bytef.self).baseAddress
                    stream.pointee.avail_out = UInt32(destination.count)
                    // Z_SYNC_FLUSH with room to write cannot fail (Z_BUF_ERROR only means "no progress possible").
                    _ = deflate(stream, Z_SYNC_FLUSH)
                    return destination.count - Int(stream.pointee.avail_out)
                }
            } while stream.pointee.avail_out == 0
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        // A sync flush always ends with the empty stored block's LEN/NLEN: 00 00 FF FF.
        assert(output.readableBytes >= 4 && output.getInteger(at: output.writerIndex - 4, as: UInt32.self) == 0x0000_FFFF)
        output.moveWriterIndex(to: output.writerIndex - 4)
        if resetAfter { deflateReset(stream) }
        return output
    }

    /// Forgets every earlier message: the next one is compressed without references to them.
    public func reset() {
        deflateReset(stream)
    }
}

/// Raw DEFLATE decompression of permessage-deflate messages (RFC 7692 §7.2.2): the four bytes `00 00 FF FF` the
/// sender left off are put back, and the output is capped, so a small compressed message cannot inflate past the
/// message limit (a decompression bomb is refused as soon as its output passes the limit, not after).
///
/// zlib allocates an inflater's window (1 << windowBits bytes) on first use, besides some 7 KiB of state.
public final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    let windowBits: Int
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// - Parameter windowBits: 8...15; a stream made with a window up to this size inflates correctly.
    public init(windowBits: Int) {
        precondition((8...15).contains(windowBits))
        self.windowBits = windowBits
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, -Int32(windowBits), zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "inflateInit2 failed: \(status)")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Decompresses one whole message.
    ///
    /// - Parameters:
    ///   - input: the compressed payload as received (all fragments together).
    ///   - limit: the largest inflated size accepted.
    ///   - resetAfter: forget this message afterwards (the peer compresses without context takeover).
    /// - Throws: 1009 when the output passes `limit`, 1007 when the input is not valid DEFLATE. Either way the
    ///   inflater is reset, since the connection is failing.
    public func decompress(_ input: ByteBuffer, limit: Int, resetAfter: Bool, allocator: ByteBufferAllocator) throws(WebSocketError) -> ByteBuffer {
        var output = allocator.buffer(capacity: min(limit, max(4 * input.readableBytes, 256)) + 1)
        var failure: WebSocketError?
        input.withUnsafeReadableBytes { source in
            var ended = false
            failure = run(source, into: &output, limit: limit, ended: &ended)
            // A message that ended its DEFLATE stream needs no tail: the tail would begin a new stream mid-block.
            if failure == nil, !ended {
                Self.tail.withUnsafeBytes { tail in failure = run(tail, into: &output, limit: limit, ended: &ended) }
            }
        }
        if let failure {
            inflateReset(stream)
            throw failure
        }
        if resetAfter { inflateReset(stream) }
        return output
    }

    /// Feeds `source` and collects what comes out, growing `output` up to one byte past `limit`.
    /// - Parameter ended: set when the input finished exactly at the end of a DEFLATE stream.
    private func run(_ source: UnsafeRawBufferPointer, into output: inout ByteBuffer, limit: Int, ended: inout Bool) -> WebSocketError? {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
        stream.pointee.avail_in = UInt32(source.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        while true {
            if output.readableBytes > limit { return .messageTooBig("inflated message exceeds \(limit) bytes") }
            // At most one byte past the limit is ever written: enough to know the limit was passed.
            let room = min(max(output.writableBytes, 4096), limit + 1 - output.readableBytes)
            var status: Int32 = Z_OK
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { destination in
                stream.pointee.next_out = destination.bindMemory(to: Bytef.self).baseAddress
                stream.pointee.avail_out = UInt32(room)
                status = inflate(stream, Z_SYNC_FLUSH)
                return room - Int(stream.pointee.avail_out)
            }
            switch status {
            case Z_STREAM_END:
                // The sender ended its DEFLATE stream (a block with BFINAL set, §7.2.3.3): what follows, if anything,
                // starts a new one.
                inflateReset(stream)
                if stream.pointee.avail_in == 0 {
                    ended = true
                    return nil
                }
            case Z_OK, Z_BUF_ERROR:
                // A full output may hide more pending output: go round again (the limit check comes first).
                if stream.pointee.avail_out == 0 { continue }
                if stream.pointee.avail_in == 0 { return nil }
                // Input left, room left, and no progress: not a well-formed stream.
                if status == Z_BUF_ERROR { return .invalidPayload("compressed message is not valid DEFLATE") }
            default:
                return .invalidPayload("compressed message is not valid DEFLATE")
            }
        }
    }

    /// Forgets every earlier message.
    public func reset() {
        inflateReset(stream)
    }
}
