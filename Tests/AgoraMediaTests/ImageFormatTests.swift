import AgoraCore
import AgoraDemo
import AgoraMedia
import HTTPTypes
import Testing

/// Minimal headers of each format, built byte by byte.
enum Headers {
    /// SOI, a JFIF APP0, fill bytes, then a frame header `marker` (SOF0 baseline by default) of `width`×`height`.
    static func jpeg(width: Int, height: Int, marker: UInt8 = 0xC0) -> [UInt8] {
        var b: [UInt8] = [0xFF, 0xD8]
        b += [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
        b += [0xFF, 0xFE, 0x00, 0x06] + Array("hi!!".utf8)  // a COM segment
        b += [0xFF, 0xFF, marker, 0x00, 0x11, 8, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF)]
        b += [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]
        b += [0xFF, 0xD9]
        return b
    }

    static func riff(_ fourCC: String, _ payload: [UInt8]) -> [UInt8] {
        let chunk = Array(fourCC.utf8) + le32(payload.count) + payload
        return Array("RIFF".utf8) + le32(4 + chunk.count) + Array("WEBP".utf8) + chunk
    }

    static func vp8(width: Int, height: Int) -> [UInt8] {
        riff("VP8 ", [0x50, 0x02, 0x00, 0x9D, 0x01, 0x2A] + le16(width) + le16(height) + [0, 0, 0, 0])
    }

    static func vp8l(width: Int, height: Int) -> [UInt8] {
        riff("VP8L", [0x2F] + le32((width - 1) | (height - 1) << 14 | 1 << 28) + [0, 0, 0])
    }

    static func vp8x(width: Int, height: Int) -> [UInt8] {
        riff("VP8X", [0x10, 0, 0, 0] + Array(le32(width - 1).prefix(3)) + Array(le32(height - 1).prefix(3)))
    }

    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    static func le32(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24 & 0xFF)] }
}

@Suite struct ImageFormatTests {
    @Test func pngFromOurEncoder() {
        let png = PNGEncoder.encode(PixelBuffer(width: 3, height: 2))
        #expect(ImageFormat.sniff(png) == SniffedImage(format: .png, width: 3, height: 2))
        #expect(ImageFormat.sniff(DemoArt.png(title: "Linen tote", width: 64, height: 48)) == SniffedImage(format: .png, width: 64, height: 48))
    }

    @Test func jpegFrameHeaders() {
        #expect(ImageFormat.sniff(Headers.jpeg(width: 320, height: 240)) == SniffedImage(format: .jpeg, width: 320, height: 240))
        // Progressive (SOF2) files carry their size the same way.
        #expect(ImageFormat.sniff(Headers.jpeg(width: 4000, height: 3000, marker: 0xC2)) == SniffedImage(format: .jpeg, width: 4000, height: 3000))
    }

    @Test func webpChunks() {
        #expect(ImageFormat.sniff(Headers.vp8(width: 400, height: 300)) == SniffedImage(format: .webp, width: 400, height: 300))
        #expect(ImageFormat.sniff(Headers.vp8l(width: 1024, height: 768)) == SniffedImage(format: .webp, width: 1024, height: 768))
        #expect(ImageFormat.sniff(Headers.vp8x(width: 16383, height: 70000)) == SniffedImage(format: .webp, width: 16383, height: 70000))
    }

    @Test func truncatedOrMalformedHeadersAreNotImages() {
        let png = PNGEncoder.encode(PixelBuffer(width: 3, height: 2))
        #expect(ImageFormat.sniff(png.prefix(30)) == nil)
        var badCRC = png
        badCRC[20] ^= 1  // the height, now disagreeing with the IHDR CRC
        #expect(ImageFormat.sniff(badCRC) == nil)
        #expect(ImageFormat.sniff(Headers.jpeg(width: 320, height: 240).prefix(30)) == nil)
        #expect(ImageFormat.sniff(Headers.jpeg(width: 320, height: 0)) == nil)
        // A DHT segment (C4) is in the SOF range but is not a frame header; SOS before a frame is malformed.
        #expect(ImageFormat.sniff(Headers.jpeg(width: 320, height: 240, marker: 0xC4)) == nil)
        #expect(ImageFormat.sniff([0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]) == nil)
        #expect(ImageFormat.sniff(Headers.vp8(width: 400, height: 300).prefix(26)) == nil)
        var notKeyFrame = Headers.vp8(width: 400, height: 300)
        notKeyFrame[20] |= 1
        #expect(ImageFormat.sniff(notKeyFrame) == nil)
        var badSignature = Headers.vp8l(width: 10, height: 10)
        badSignature[20] = 0x2E
        #expect(ImageFormat.sniff(badSignature) == nil)
        #expect(ImageFormat.sniff(Headers.riff("VP8Z", Array(repeating: 0, count: 10))) == nil)
        #expect(ImageFormat.sniff([]) == nil)
    }

    @Test func formatProperties() {
        #expect(ImageFormat.allCases.map(\.contentType) == ["image/jpeg", "image/png", "image/webp"])
        #expect(ImageFormat.allCases.map(\.fileExtension) == ["jpg", "png", "webp"])
        #expect(ImageFormat(fileExtension: "webp") == .webp)
        #expect(ImageFormat(fileExtension: "jpeg") == nil)
    }
}

@Suite struct ImageUploadTests {
    @Test func acceptsEachFormat() throws {
        #expect(try ImageUpload.validate(bytes: Headers.jpeg(width: 800, height: 600)).format == .jpeg)
        #expect(try ImageUpload.validate(bytes: PNGEncoder.encode(PixelBuffer(width: 8, height: 8))).format == .png)
        #expect(try ImageUpload.validate(bytes: Headers.vp8(width: 400, height: 300)).format == .webp)
    }

    @Test func textFileNamedJPGIsUnsupported() {
        // What a `notes.txt` renamed `photo.jpg` looks like on the wire: only the bytes count.
        let error = #expect(throws: AgoraError.self) { try ImageUpload.validate(bytes: Array("Shopping list:\n- milk\n".utf8)) }
        #expect(error?.kind == .unsupportedMediaType)
        #expect(error?.kind.status == .unsupportedMediaType)
        #expect(error?.kind.status.code == 415)
        #expect(error?.code == "unsupported_image_type")
        #expect(error?.message == "Only JPEG, PNG and WebP images are accepted")
    }

    @Test func oversizeIs413() {
        let big = PNGEncoder.encode(PixelBuffer(width: 8, height: 8)) + [UInt8](repeating: 0, count: 5 << 20)
        let error = #expect(throws: AgoraError.self) { try ImageUpload.validate(bytes: big) }
        #expect(error?.kind == .payloadTooLarge)
        #expect(error?.kind.status.code == 413)
        #expect(error?.code == "image_too_large")
    }

    @Test func tooManyPixelsIsAValidationError() {
        let wide = #expect(throws: AgoraError.self) { try ImageUpload.validate(bytes: Headers.vp8x(width: 8001, height: 10)) }
        #expect(wide?.kind == .validation)
        #expect(wide?.code == "image_too_many_pixels")
        let many = #expect(throws: AgoraError.self) { try ImageUpload.validate(bytes: Headers.vp8x(width: 8000, height: 8000)) }
        #expect(many?.kind.status.code == 422)
        #expect(throws: AgoraError.self) { try ImageUpload.validate(bytes: [], limits: .init()) }
    }
}
