/// HKDF with HMAC-SHA-256 (RFC 5869): what Web Push's payload encryption (RFC 8291) derives its keys with.
package enum HKDF {
    /// Extract: a pseudorandom key from `inputKeyMaterial` and `salt`.
    package static func extract(salt: [UInt8], inputKeyMaterial: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(for: inputKeyMaterial, key: salt)
    }

    /// Expand: `length` bytes (at most 255 × 32) of output keying material from `prk` and `info`.
    package static func expand(prk: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        precondition((0...255 * 32).contains(length), "HKDF-SHA-256 makes at most 8,160 bytes")
        var output: [UInt8] = []
        output.reserveCapacity(length + 32)
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < length {
            block = HMACSHA256.authenticationCode(for: block + info + [counter], key: prk)
            output += block
            counter &+= 1
        }
        return Array(output.prefix(length))
    }

    /// Extract then expand.
    package static func deriveKey(inputKeyMaterial: [UInt8], salt: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        expand(prk: extract(salt: salt, inputKeyMaterial: inputKeyMaterial), info: info, length: length)
    }
}
