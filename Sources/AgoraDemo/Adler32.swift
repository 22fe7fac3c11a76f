/// Adler-32 (RFC 1950 §8.2), the checksum a zlib stream ends with.
enum Adler32 {
    /// The Adler-32 of `bytes`.
    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        var i = 0
        // 5552 is the most bytes after which `b` still fits in 32 bits, so the modulo runs once per block, not per byte.
        while i < bytes.count {
            let end = min(i + 5552, bytes.count)
            while i < end {
                a &+= UInt32(bytes[i])
                b &+= a
                i += 1
            }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }
}
