internal import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's CSPRNG.
package enum SecureRandom {
    /// `count` random bytes.
    package static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let ok = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(count)) }
        // RAND_bytes fails only if the CSPRNG cannot be seeded; handing out weak bytes instead would be worse.
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        return out
    }

    /// A random token of `byteCount` bytes, base64url without padding (URL- and cookie-safe).
    package static func token(byteCount: Int = 32) -> String {
        Base64.encode(bytes(byteCount), url: true, padding: false)
    }
}

/// Comparison that takes the same time wherever the inputs differ, for MACs and tokens.
package enum ConstantTime {
    /// True when `a` and `b` are equal. Lengths are not secret: unequal lengths return at once.
    package static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let a = Array(a)
        let b = Array(b)
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 } }
    }
}
