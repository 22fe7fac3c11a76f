/// Removes the metadata chunks (`EXIF`, `XMP `, `ICCP`) from a WebP file, without touching the image data.
///
/// libvips 8.14's WebP saver ignores `strip` and writes an EXIF chunk of its own (orientation and resolution, after
/// the pipeline removed everything else). This walks the RIFF container (RFC 9649 §2), keeps every other chunk as it
/// is, clears the matching flags of the `VP8X` header and fixes the RIFF size. A file it cannot parse is returned
/// unchanged, and the caller's tests check the result with an independent reader.
enum WebPMetadata {
    static let dropped: Set<String> = ["EXIF", "XMP ", "ICCP"]

    static func strip(_ file: [UInt8]) -> [UInt8] {
        guard file.count >= 12, file[0..<4] == [0x52, 0x49, 0x46, 0x46], file[8..<12] == [0x57, 0x45, 0x42, 0x50] else { return file }
        var out = Array(file[0..<12])
        var offset = 12
        var vp8xAt: Int?
        while offset + 8 <= file.count {
            let name = String(decoding: file[offset..<(offset + 4)], as: UTF8.self)
            let size = Int(file[offset + 4]) | Int(file[offset + 5]) << 8 | Int(file[offset + 6]) << 16 | Int(file[offset + 7]) << 24
            // Chunks are padded to an even size.
            let end = offset + 8 + size + (size & 1)
            guard end <= file.count || (end == file.count + 1 && size & 1 == 1) else { return file }
            if !dropped.contains(name) {
                if name == "VP8X" { vp8xAt = out.count }
                out += file[offset..<min(end, file.count)]
            }
            offset = end
        }
        guard offset >= file.count else { return file }
        // VP8X flags (byte 8 of the chunk): ICC 0x20, EXIF 0x08, XMP 0x04.
        if let at = vp8xAt, at + 8 < out.count { out[at + 8] &= ~UInt8(0x20 | 0x08 | 0x04) }
        let riffSize = out.count - 8
        out[4] = UInt8(riffSize & 0xFF)
        out[5] = UInt8(riffSize >> 8 & 0xFF)
        out[6] = UInt8(riffSize >> 16 & 0xFF)
        out[7] = UInt8(riffSize >> 24 & 0xFF)
        return out
    }
}
