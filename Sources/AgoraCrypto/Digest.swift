internal import COpenSSL

/// SHA-1, which RFC 6455 needs for `Sec-WebSocket-Accept` and nothing else should use.
package enum SHA1 {
    /// The 20-byte SHA-1 digest of `data`.
    package static func hash(_ data: some Sequence<UInt8>) -> [UInt8] {
        digest(Array(data), EVP_sha1(), length: 20)
    }
}

/// SHA-256.
package enum SHA256 {
    /// The 32-byte SHA-256 digest of `data`.
    package static func hash(_ data: some Sequence<UInt8>) -> [UInt8] {
        digest(Array(data), EVP_sha256(), length: 32)
    }

    /// Lowercase hex of the SHA-256 digest; the form we store tokens and checksums in.
    package static func hexDigest(_ data: some Sequence<UInt8>) -> String {
        Hex.encode(hash(data))
    }
}

/// HMAC-SHA256 (RFC 2104 with SHA-256).
package enum HMACSHA256 {
    /// The 32-byte MAC of `message` under `key`.
    package static func authenticationCode(for message: some Sequence<UInt8>, key: some Sequence<UInt8>) -> [UInt8] {
        let key = Array(key)
        let message = Array(message)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                out.withUnsafeMutableBytes { outBytes in
                    HMAC(
                        EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
                        messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                        outBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), &outLength
                    ) != nil
                }
            }
        }
        // HMAC only fails on allocation failure or an unusable digest; neither is recoverable here.
        precondition(ok && outLength == 32, "OpenSSL HMAC-SHA256 failed")
        return Array(out.prefix(32))
    }
}

/// Hex encoding, lowercase.
package enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes`.
    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of a hex string (either case), or nil if it is not hex of even length.
    package static func decode(_ string: String) -> [UInt8]? {
        let chars = Array(string.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

private func digest(_ data: [UInt8], _ md: OpaquePointer?, length: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var outLength: UInt32 = 0
    let ok = data.withUnsafeBytes { input in
        out.withUnsafeMutableBytes { output in
            EVP_Digest(
                input.baseAddress, input.count,
                output.baseAddress?.assumingMemoryBound(to: UInt8.self), &outLength, md, nil
            ) == 1
        }
    }
    precondition(ok && Int(outLength) == length, "OpenSSL digest failed")
    return Array(out.prefix(length))
}
