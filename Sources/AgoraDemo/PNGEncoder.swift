import AgoraMedia

/// Writes 8-bit RGB and RGBA images as PNG (ISO/IEC 15948), with a deflate of our own: no zlib to link, and
/// no binary images in the repository for the demo data.
package enum PNGEncoder {
    /// `image` as a complete PNG file.
    ///
    /// Each row gets the filter (None, Sub, Up, Average or Paeth) whose output has the smallest sum of absolute
    /// values, the heuristic libpng uses: it turns flat runs and gradients into runs of zeros and small numbers,
    /// which the LZ77 stage then folds into long matches.
    package static func encode(_ image: PixelBuffer) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(image.width))
        header.appendBigEndian(UInt32(image.height))
        // Bit depth 8; colour type 2 (RGB) or 6 (RGBA); deflate; adaptive filtering; no interlace.
        header += [8, image.channels == 4 ? 6 : 2, 0, 0, 0]
        appendChunk("IHDR", header, to: &png)

        let filtered = filterRows(image)
        let zlib = filtered.withUnsafeBufferPointer { data -> [UInt8] in
            // CMF 0x78: deflate with a 32 KiB window; FLG 0x01 makes the pair a multiple of 31 (RFC 1950 §2.2).
            var stream: [UInt8] = [0x78, 0x01]
            stream += Deflate.compress(data)
            stream.appendBigEndian(Adler32.checksum(data))
            return stream
        }
        // Several IDATs of 64 KiB rather than one: decoders that stream chunk by chunk like it, and it costs 12 bytes each.
        var offset = 0
        repeat {
            let end = min(offset + 65536, zlib.count)
            appendChunk("IDAT", zlib[offset..<end], to: &png)
            offset = end
        } while offset < zlib.count
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// Every row prefixed with its filter type byte and filtered (PNG §9).
    static func filterRows(_ image: PixelBuffer) -> [UInt8] {
        let stride = image.width * image.channels
        let bpp = image.channels
        var out = [UInt8](repeating: 0, count: (stride + 1) * image.height)
        var candidates = [[UInt8]](repeating: [UInt8](repeating: 0, count: stride), count: 5)
        let zeros = [UInt8](repeating: 0, count: stride)
        image.pixels.withUnsafeBufferPointer { pixels in
            zeros.withUnsafeBufferPointer { zeros in
                for y in 0..<image.height {
                    let row = UnsafeBufferPointer(rebasing: pixels[(y * stride)..<((y + 1) * stride)])
                    let up = y == 0 ? zeros : UnsafeBufferPointer(rebasing: pixels[((y - 1) * stride)..<(y * stride)])
                    var best = 0
                    var bestCost = Int.max
                    for type in 0..<5 {
                        let cost = candidates[type].withUnsafeMutableBufferPointer { filter(type, row: row, up: up, bpp: bpp, into: $0) }
                        if cost < bestCost {
                            best = type
                            bestCost = cost
                        }
                    }
                    out[y * (stride + 1)] = UInt8(best)
                    out.replaceSubrange((y * (stride + 1) + 1)..<((y + 1) * (stride + 1)), with: candidates[best])
                }
            }
        }
        return out
    }

    /// Applies filter `type` to `row`; returns the sum of the outputs read as signed bytes' magnitudes.
    private static func filter(
        _ type: Int, row: UnsafeBufferPointer<UInt8>, up: UnsafeBufferPointer<UInt8>, bpp: Int, into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        var cost = 0
        for i in 0..<row.count {
            let a = i >= bpp ? row[i - bpp] : 0
            let b = up[i]
            let predictor: UInt8
            switch type {
            case 0: predictor = 0
            case 1: predictor = a
            case 2: predictor = b
            case 3: predictor = UInt8((Int(a) + Int(b)) >> 1)
            default: predictor = paeth(a, b, i >= bpp ? up[i - bpp] : 0)
            }
            let value = row[i] &- predictor
            out[i] = value
            cost += value < 128 ? Int(value) : 256 - Int(value)
        }
        return cost
    }

    /// PNG §9.4: the neighbour (left, above, upper left) nearest to left + above - upper left.
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a))
        let pb = abs(p - Int(b))
        let pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    /// Length, type, data and a CRC over type and data.
    private static func appendChunk(_ type: String, _ data: some Collection<UInt8>, to png: inout [UInt8]) {
        png.appendBigEndian(UInt32(data.count))
        let start = png.count
        png += type.utf8
        png += data
        png.appendBigEndian(CRC32.checksum(png[start...]))
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt32) {
        for shift: UInt32 in [24, 16, 8, 0] { append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}
