/// Base64 (RFC 4648 §4) and base64url (§5), strict on decode.
package enum Base64 {
    private static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes `bytes`.
    /// - Parameters:
    ///   - url: use the URL- and filename-safe alphabet.
    ///   - padding: append `=` to a multiple of four characters.
    package static func encode(_ bytes: some Collection<UInt8>, url: Bool = false, padding: Bool = true) -> String {
        let table = url ? urlSafe : standard
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(table[Int(n >> 18 & 63)])
            out.append(table[Int(n >> 12 & 63)])
            out.append(table[Int(n >> 6 & 63)])
            out.append(table[Int(n & 63)])
            i += 3
        }
        let rest = input.count - i
        if rest > 0 {
            var n = UInt32(input[i]) << 16
            if rest == 2 { n |= UInt32(input[i + 1]) << 8 }
            out.append(table[Int(n >> 18 & 63)])
            out.append(table[Int(n >> 12 & 63)])
            if rest == 2 { out.append(table[Int(n >> 6 & 63)]) }
            if padding { out.append(contentsOf: Array(repeating: UInt8(ascii: "="), count: 3 - rest)) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `string`, or returns nil if it is not canonical base64 of the chosen alphabet.
    ///
    /// Padding is required for the standard alphabet and optional for base64url. Bits left over in the
    /// last character must be zero, so each byte string has exactly one accepted encoding.
    package static func decode(_ string: String, url: Bool = false) -> [UInt8]? {
        var chars = Array(string.utf8)
        var padded = 0
        while chars.last == UInt8(ascii: "=") {
            chars.removeLast()
            padded += 1
        }
        guard padded <= 2 else { return nil }
        if padded > 0 || !url {
            guard (chars.count + padded) % 4 == 0 else { return nil }
        }
        let rest = chars.count % 4
        guard rest != 1 else { return nil }
        if padded > 0 { guard padded == 4 - rest else { return nil } }
        var out = [UInt8]()
        out.reserveCapacity(chars.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for c in chars {
            guard let v = value(of: c, url: url) else { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero (RFC 4648 §3.5 lets decoders reject otherwise; we do).
        guard acc & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }

    private static func value(of c: UInt8, url: Bool) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+") where !url: 62
        case UInt8(ascii: "/") where !url: 63
        case UInt8(ascii: "-") where url: 62
        case UInt8(ascii: "_") where url: 63
        default: nil
        }
    }
}
