package import AgoraCore
internal import CVips
package import NIOPosix

/// What every uploaded image goes through before it is stored, with libvips (`CVips`): decoded by the loader of
/// its sniffed format only, turned upright by its EXIF orientation, converted to sRGB by its ICC profile, re-encoded
/// with **every piece of metadata stripped** (a phone photo's EXIF carries where it was taken), and, if asked,
/// scaled down to WebP thumbnails of the given widths.
///
/// Decoding bombs never reach libvips: `ImageUpload.validate` reads the declared size from the header first and
/// refuses more than `ImageLimits.maxPixels`. libvips then refuses any decoding error or truncation.
///
/// libvips blocks and is CPU-bound, so all of it runs on `threadPool` (`AGORA_IMAGE_THREADS`), one image per thread.
package struct ImagePipeline: Sendable {
    /// How images are encoded.
    package struct Settings: Sendable {
        /// Widths of the thumbnails made of product images (`AGORA_IMAGE_THUMBNAIL_WIDTHS`, 320 and 960); only
        /// those smaller than the image are made.
        package var thumbnailWidths: [Int]
        /// JPEG and WebP quality, 1–100 (`AGORA_IMAGE_QUALITY`, 85).
        package var quality: Int

        package init(thumbnailWidths: [Int] = [320, 960], quality: Int = 85) {
            self.thumbnailWidths = thumbnailWidths
            self.quality = quality
        }
    }

    /// One encoded image.
    package struct Rendition: Sendable, Equatable {
        package var bytes: [UInt8]
        package var format: ImageFormat
        package var width: Int
        package var height: Int
    }

    /// The cleaned image and its thumbnails, smallest first.
    package struct Result: Sendable, Equatable {
        package var original: Rendition
        package var thumbnails: [Rendition]
    }

    package let settings: Settings
    let threadPool: NIOThreadPool

    /// libvips starts once per process, on first use.
    private static let started: Bool = agora_vips_start() == 0

    package init(settings: Settings = .init(), threadPool: NIOThreadPool = .singleton) {
        self.settings = settings
        self.threadPool = threadPool
    }

    /// Validates `bytes` (`ImageUpload.validate`), then cleans them and makes thumbnails.
    /// - Parameters:
    ///   - bytes: the uploaded file.
    ///   - limits: size and pixel bounds, checked before anything is decoded.
    ///   - thumbnails: whether to make thumbnails (product images) or only the cleaned image (avatars, photos).
    /// - Throws: the errors of `ImageUpload.validate`, or 422 `image_unreadable` for a file libvips cannot decode.
    package func process(_ bytes: [UInt8], limits: ImageLimits, thumbnails: Bool) async throws -> Result {
        let sniffed = try ImageUpload.validate(bytes: bytes, limits: limits)
        let widths = thumbnails ? settings.thumbnailWidths.filter { $0 < sniffed.width }.sorted() : []
        let quality = settings.quality
        let outcome = try await threadPool.runIfActive { Self.run(bytes, format: sniffed.format, widths: widths, quality: quality) }
        switch outcome {
        case .success(let result): return result
        case .failure(let reason):
            throw AgoraError(.validation, code: "image_unreadable", "The image could not be decoded: \(reason)", fields: ["image": "could not be decoded"])
        }
    }

    enum Failure: Error { case vips(String) }

    /// The blocking part: decode, clean, shrink, encode.
    static func run(_ bytes: [UInt8], format: ImageFormat, widths: [Int], quality: Int) -> Swift.Result<Result, Failure> {
        guard started else { return .failure(.vips("libvips did not start")) }
        return bytes.withUnsafeBytes { raw -> Swift.Result<Result, Failure> in
            guard let base = raw.baseAddress, let image = agora_vips_load(base, raw.count, format.vipsCode) else { return .failure(lastError()) }
            defer { agora_vips_release(image) }
            guard let original = encode(image, format: format, quality: quality) else { return .failure(lastError()) }
            // Widest first, each made from the one before: shrinking 960 pixels to 320 costs a fraction of shrinking
            // the full photo again.
            var thumbnails: [Rendition] = []
            var source = image
            var made: [UnsafeMutablePointer<VipsImage>] = []
            defer { made.forEach(agora_vips_release) }
            for width in widths.sorted(by: >) where width < original.width {
                guard let small = agora_vips_shrink(source, Int32(width)) else { return .failure(lastError()) }
                made.append(small)
                guard let thumbnail = encode(small, format: .webp, quality: quality) else { return .failure(lastError()) }
                thumbnails.insert(thumbnail, at: 0)
                source = small
            }
            return .success(Result(original: original, thumbnails: thumbnails))
        }
    }

    static func encode(_ image: UnsafeMutablePointer<VipsImage>, format: ImageFormat, quality: Int) -> Rendition? {
        var output = agora_vips_output()
        guard agora_vips_save(image, format.vipsCode, Int32(quality), &output) == 0, let data = output.data else { return nil }
        defer { agora_vips_free(data) }
        var bytes = Array(UnsafeRawBufferPointer(start: data, count: output.size))
        if format == .webp { bytes = WebPMetadata.strip(bytes) }
        return Rendition(bytes: bytes, format: format, width: Int(output.width), height: Int(output.height))
    }

    static func lastError() -> Failure {
        var buffer = [CChar](repeating: 0, count: 512)
        agora_vips_take_error(&buffer, buffer.count)
        let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // libvips's messages name the loader and the problem; one line of it is enough for the client.
        let line = message.split(separator: "\n").first.map(String.init) ?? "unknown error"
        return .vips(String(line.prefix(200)))
    }
}

extension ImageFormat {
    var vipsCode: Int32 {
        switch self {
        case .jpeg: Int32(AGORA_VIPS_JPEG)
        case .png: Int32(AGORA_VIPS_PNG)
        case .webp: Int32(AGORA_VIPS_WEBP)
        }
    }
}
