/// The XOR masking of RFC 6455 §5.3, shared by the parser (unmasking) and the encoder (masking).
///
/// Masking is its own inverse, so one function does both. It is the only per-byte work on every
/// frame a server receives, so it runs eight bytes per step.
enum WebSocketMask {
    /// Writes `source` XOR the masking key into `destination`, starting at key byte 0.
    ///
    /// - Parameters:
    ///   - key: the masking key as a big-endian number, so `0x37FA213D` is the wire bytes 37 FA 21 3D.
    ///   - source: the bytes to transform.
    ///   - destination: at least `source.count` bytes; may be the same memory as `source`.
    static func apply(key: UInt32, from source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count >= source.count, "mask destination is too small")
        let count = source.count
        guard count > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }

        // `key.bigEndian` has the wire byte order in memory on any host. Repeating it in both halves
        // of a UInt64 gives the key for eight consecutive bytes, and because the halves are equal the
        // host's byte order does not matter when loading and storing words.
        let keyInMemoryOrder = key.bigEndian
        let wideKey = UInt64(keyInMemoryOrder) << 32 | UInt64(keyInMemoryOrder)

        var offset = 0
        while offset + 8 <= count {
            let word = src.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            dst.storeBytes(of: word ^ wideKey, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        // Fewer than eight bytes remain and `offset` is a multiple of 8, so the key phase is `offset & 3`.
        withUnsafeBytes(of: keyInMemoryOrder) { keyBytes in
            while offset < count {
                let byte = src.load(fromByteOffset: offset, as: UInt8.self)
                dst.storeBytes(of: byte ^ keyBytes[offset & 3], toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
        }
    }
}
