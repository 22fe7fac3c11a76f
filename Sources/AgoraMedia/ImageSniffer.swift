/// The header readers behind `ImageFormat.sniff`. Each returns nil unless its format's header is complete and sane.
enum ImageSniffer {
    /// Segments walked before giving up on finding a JPEG frame header. Real files have a dozen or so (APPn, DQT,
    /// DHT) before SOF; the cap bounds the work a crafted file of tiny segments can cause.
    static let maxJPEGSegments = 256

    // MARK: PNG

    /// PNG (ISO/IEC 15948): the 8-byte signature, then an IHDR chunk that must come first, with a valid CRC.
    static func png(_ b: [UInt8]) -> SniffedImage? {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard b.count >= 33, b.starts(with: signature) else { return nil }
        guard be32(b, 8) == 13, b[12..<16].elementsEqual("IHDR".utf8) else { return nil }
        guard let crc = be32(b, 29), CRC32.checksum(b[12..<29]) == UInt32(crc) else { return nil }
        guard let width = be32(b, 16), let height = be32(b, 20) else { return nil }
        // The spec caps both at 2^31 - 1 and forbids zero.
        guard (1...0x7FFF_FFFF).contains(width), (1...0x7FFF_FFFF).contains(height) else { return nil }
        return SniffedImage(format: .png, width: width, height: height)
    }

    // MARK: JPEG

    /// JPEG (ITU T.81 / JFIF): SOI, then marker segments up to the first SOFn frame header, which has the size.
    static func jpeg(_ b: [UInt8]) -> SniffedImage? {
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return nil }
        var i = 2
        for _ in 0..<maxJPEGSegments {
            guard i < b.count, b[i] == 0xFF else { return nil }
            // Any number of 0xFF fill bytes may precede a marker (T.81 §B.1.1.2).
            while i < b.count, b[i] == 0xFF { i += 1 }
            guard i < b.count else { return nil }
            let marker = b[i]
            i += 1
            switch marker {
            case 0x01, 0xD0...0xD7:
                continue  // TEM and RSTn stand alone, without a length
            case 0xD8, 0xD9, 0xDA:
                return nil  // a second SOI, or EOI or scan data before any frame header
            default:
                break
            }
            guard let length = be16(b, i), length >= 2 else { return nil }
            // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard length >= 8, let height = be16(b, i + 3), let width = be16(b, i + 5) else { return nil }
                // Height 0 defers the size to a DNL marker after the first scan; we want it up front.
                guard width > 0, height > 0 else { return nil }
                return SniffedImage(format: .jpeg, width: width, height: height)
            }
            i += length
        }
        return nil
    }

    // MARK: WebP

    /// WebP: a RIFF container of form `WEBP` whose first chunk is `VP8 ` (lossy), `VP8L` (lossless) or `VP8X`
    /// (extended, with the canvas size).
    static func webp(_ b: [UInt8]) -> SniffedImage? {
        guard b.count >= 20, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WEBP".utf8) else { return nil }
        guard let riffSize = le32(b, 4), let chunkSize = le32(b, 16), riffSize >= 4 + 8 + chunkSize else { return nil }
        let data = 20
        switch String(decoding: b[12..<16], as: UTF8.self) {
        case "VP8 ":
            // RFC 6386 §9.1: a 3-byte frame tag (bit 0 clear on a key frame), the start code 9D 01 2A, then
            // 14-bit width and height, each with a 2-bit scale above it.
            guard chunkSize >= 10, b.count >= data + 10, b[data] & 1 == 0 else { return nil }
            guard b[(data + 3)..<(data + 6)].elementsEqual([0x9D, 0x01, 0x2A]) else { return nil }
            guard let w = le16(b, data + 6), let h = le16(b, data + 8), w & 0x3FFF > 0, h & 0x3FFF > 0 else { return nil }
            return SniffedImage(format: .webp, width: w & 0x3FFF, height: h & 0x3FFF)
        case "VP8L":
            // The lossless bitstream: signature 0x2F, then 14 bits of width - 1, 14 of height - 1, an alpha bit and
            // a 3-bit version that must be 0.
            guard chunkSize >= 5, b.count >= data + 5, b[data] == 0x2F, let bits = le32(b, data + 1) else { return nil }
            guard bits >> 29 == 0 else { return nil }
            return SniffedImage(format: .webp, width: bits & 0x3FFF + 1, height: (bits >> 14) & 0x3FFF + 1)
        case "VP8X":
            // Flags (1 byte), 3 reserved bytes, then 24-bit canvas width - 1 and height - 1.
            guard chunkSize >= 10, b.count >= data + 10, let w = le24(b, data + 4), let h = le24(b, data + 7) else { return nil }
            return SniffedImage(format: .webp, width: w + 1, height: h + 1)
        default:
            return nil
        }
    }

    // MARK: Reading integers, nil past the end

    static func be16(_ b: [UInt8], _ i: Int) -> Int? {
        guard i >= 0, i + 2 <= b.count else { return nil }
        return Int(b[i]) << 8 | Int(b[i + 1])
    }

    static func be32(_ b: [UInt8], _ i: Int) -> Int? {
        guard i >= 0, i + 4 <= b.count else { return nil }
        return Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    static func le16(_ b: [UInt8], _ i: Int) -> Int? {
        guard i >= 0, i + 2 <= b.count else { return nil }
        return Int(b[i]) | Int(b[i + 1]) << 8
    }

    static func le24(_ b: [UInt8], _ i: Int) -> Int? {
        guard i >= 0, i + 3 <= b.count else { return nil }
        return Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16
    }

    static func le32(_ b: [UInt8], _ i: Int) -> Int? {
        guard i >= 0, i + 4 <= b.count else { return nil }
        return Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24
    }
}
