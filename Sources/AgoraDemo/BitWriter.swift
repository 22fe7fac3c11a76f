/// Packs deflate codes into bytes, least significant bit first (RFC 1951 §3.1.1).
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var buffer: UInt64 = 0
    private var count = 0

    /// Appends the low `bits` bits of `value`.
    mutating func write(_ value: UInt32, bits: Int) {
        buffer |= UInt64(value) << UInt64(count)
        count += bits
        while count >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: buffer))
            buffer >>= 8
            count -= 8
        }
    }

    /// Pads the last byte with zero bits.
    mutating func flush() {
        if count > 0 { bytes.append(UInt8(truncatingIfNeeded: buffer)) }
        buffer = 0
        count = 0
    }

    // MARK: Fixed Huffman codes (RFC 1951 §3.2.6)

    mutating func writeLiteral(_ byte: UInt8) { writeSymbol(Int(byte)) }

    /// Literal/length symbol `symbol` (0–287) in its fixed code.
    mutating func writeSymbol(_ symbol: Int) {
        let code = FixedCodes.literal[symbol]
        write(UInt32(code.bits), bits: Int(code.length))
    }

    /// A back-reference: length 3–258, distance 1–32768.
    mutating func writeMatch(length: Int, distance: Int) {
        let l = FixedCodes.lengthIndex[length]
        writeSymbol(257 + l)
        if FixedCodes.lengthExtra[l] > 0 { write(UInt32(length - FixedCodes.lengthBase[l]), bits: FixedCodes.lengthExtra[l]) }
        let d = FixedCodes.distanceIndex(distance)
        // Distance codes are five bits each, written most significant bit first like every Huffman code.
        write(UInt32(FixedCodes.reversed(UInt32(d), length: 5)), bits: 5)
        if FixedCodes.distanceExtra[d] > 0 { write(UInt32(distance - FixedCodes.distanceBase[d]), bits: FixedCodes.distanceExtra[d]) }
    }
}

/// The fixed code tables, bit-reversed ready for `BitWriter` (Huffman codes go out most significant bit first,
/// the rest of the stream least significant first).
enum FixedCodes {
    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// For each match length 0–258, the index of its length code (only 3–258 are meaningful).
    static let lengthIndex: [Int] = (0...258).map { length in
        lengthBase.lastIndex { $0 <= length } ?? 0
    }

    /// The literal/length alphabet's codes: (reversed bits, length).
    static let literal: [(bits: UInt16, length: UInt8)] = (0..<288).map { symbol in
        let (code, length): (UInt32, Int) =
            switch symbol {
            case 0...143: (0x30 + UInt32(symbol), 8)
            case 144...255: (0x190 + UInt32(symbol - 144), 9)
            case 256...279: (UInt32(symbol - 256), 7)
            default: (0xC0 + UInt32(symbol - 280), 8)
            }
        return (UInt16(reversed(code, length: length)), UInt8(length))
    }

    /// The index of the distance code covering `distance`.
    static func distanceIndex(_ distance: Int) -> Int {
        // 30 codes: a binary search would save little over this short scan from the top.
        var index = distanceBase.count - 1
        while distanceBase[index] > distance { index -= 1 }
        return index
    }

    static func reversed(_ code: UInt32, length: Int) -> UInt32 {
        var result: UInt32 = 0
        for bit in 0..<length where code & (1 << UInt32(bit)) != 0 { result |= 1 << UInt32(length - 1 - bit) }
        return result
    }
}
