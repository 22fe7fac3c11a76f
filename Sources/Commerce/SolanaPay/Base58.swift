/// Base58 as Bitcoin and Solana write it (alphabet without `0`, `O`, `I`, `l`); public keys, signatures and
/// Solana Pay references travel in it.
package enum Base58 {
    static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
    /// Each ASCII byte's digit, or 0xFF when it is not in the alphabet.
    static let digits: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Encodes bytes; every leading zero byte is a leading `1`.
    package static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        // Base-58 digits, least significant first: each input byte is folded in as `digits * 256 + byte`.
        var digits: [UInt8] = []
        digits.reserveCapacity(bytes.count * 138 / 100 + 1)
        for byte in bytes[zeros...] {
            var carry = Int(byte)
            for index in digits.indices {
                carry += Int(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        var text = [UInt8](repeating: alphabet[0], count: zeros)
        text.append(contentsOf: digits.reversed().map { alphabet[Int($0)] })
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes text, or nil when it holds a character outside the alphabet or is longer than `maxLength`
    /// characters (the work is quadratic in the length, so the caller bounds it before anything is computed).
    package static func decode(_ text: String, maxLength: Int = 128) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count <= maxLength else { return nil }
        let ones = characters.prefix { $0 == alphabet[0] }.count
        var bytes: [UInt8] = []  // least significant first
        for character in characters[ones...] {
            let digit = digits[Int(character)]
            guard digit != 0xFF else { return nil }
            var carry = Int(digit)
            for index in bytes.indices {
                carry += Int(bytes[index]) * 58
                bytes[index] = UInt8(carry & 0xFF)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xFF))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: ones) + bytes.reversed()
    }
}

/// A Solana public key (an account, a wallet, a token mint or a Solana Pay reference): 32 bytes, written in base58.
/// Whether it lies on the ed25519 curve is not checked (a program-derived address does not, and may hold tokens).
package struct SolanaPublicKey: Sendable, Hashable, CustomStringConvertible {
    package let bytes: [UInt8]

    /// Parses a base58 key: 32 to 44 characters of the alphabet that decode to exactly 32 bytes.
    package init?(base58 text: String) {
        guard (32...44).contains(text.utf8.count), let bytes = Base58.decode(text, maxLength: 44), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    package init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// The canonical base58 form (a key given with needless leading `1`s could not decode to 32 bytes, so parsing
    /// and printing round-trip).
    package var base58: String { Base58.encode(bytes) }
    package var description: String { base58 }
}
