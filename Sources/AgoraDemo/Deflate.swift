/// A deflate (RFC 1951) compressor: LZ77 over a 32 KiB window with hash chains, coded with the fixed Huffman
/// tables (§3.2.6) in a single block.
///
/// Fixed codes cost a little against dynamic ones, but they need no code-length tables, and what this compresses
/// (PNG rows of flat colour and gradients, filtered) is dominated by long matches, where the codes barely matter.
enum Deflate {
    static let windowSize = 32768
    static let minMatch = 3
    static let maxMatch = 258
    /// Candidates tried per position. Longer chains find slightly longer matches on busy images and cost time on
    /// every one; 48 is plenty for drawings.
    static let maxChain = 48
    static let hashBits = 15

    /// `data` compressed as a raw deflate stream (no zlib header or checksum).
    static func compress(_ data: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out = BitWriter()
        out.write(1, bits: 1)  // BFINAL: this is the only block
        out.write(1, bits: 2)  // BTYPE 01: fixed Huffman codes
        let count = data.count
        let windowMask = windowSize - 1
        let head = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 1 << hashBits)
        let previous = UnsafeMutableBufferPointer<Int32>.allocate(capacity: windowSize)
        defer {
            head.deallocate()
            previous.deallocate()
        }
        head.initialize(repeating: -1)
        previous.initialize(repeating: -1)

        // Multiplicative (Fibonacci) hashing of the next three bytes: their top bits spread over the whole table.
        func hash(_ i: Int) -> Int {
            let key = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2])
            return Int((key &* 2_654_435_761) >> UInt32(32 - hashBits))
        }
        func insert(_ i: Int) {
            let h = hash(i)
            previous[i & windowMask] = head[h]
            head[h] = Int32(i)
        }

        var i = 0
        while i < count {
            var bestLength = 0
            var bestDistance = 0
            if i + minMatch <= count {
                let limit = min(maxMatch, count - i)
                var candidate = Int(head[hash(i)])
                var chain = maxChain
                // Positions in `previous` get overwritten as the window slides, so a chain can wander; every
                // candidate is checked against the window and the bytes themselves, so that costs only time.
                while candidate >= 0, candidate < i, i - candidate <= windowSize, chain > 0 {
                    if data[candidate + bestLength] == data[i + bestLength] {
                        var length = 0
                        while length < limit, data[candidate + length] == data[i + length] { length += 1 }
                        if length > bestLength {
                            bestLength = length
                            bestDistance = i - candidate
                            if length == limit { break }
                        }
                    }
                    candidate = Int(previous[candidate & windowMask])
                    chain -= 1
                }
                insert(i)
            }
            if bestLength >= minMatch {
                out.writeMatch(length: bestLength, distance: bestDistance)
                // Index the covered positions too, so later data can match inside this run.
                var j = i + 1
                while j < i + bestLength, j + minMatch <= count {
                    insert(j)
                    j += 1
                }
                i += bestLength
            } else {
                out.writeLiteral(data[i])
                i += 1
            }
        }
        out.writeSymbol(256)  // end of block
        out.flush()
        return out.bytes
    }
}
