package import AgoraCore

/// Bounds on an uploaded image.
package struct ImageLimits: Sendable {
    /// The most bytes a file may have. 5 MiB holds a sharp phone photo at full size.
    package var maxBytes: Int
    /// The most pixels on either side.
    package var maxDimension: Int
    /// The most pixels in all. A few kilobytes of PNG or WebP can claim a huge canvas, and whoever decodes it
    /// (a thumbnailer, a browser) allocates about four bytes per pixel: 40 million pixels caps that near 160 MB.
    package var maxPixels: Int

    /// Makes limits.
    /// - Parameters:
    ///   - maxBytes: the largest file, in bytes.
    ///   - maxDimension: the widest or tallest image, in pixels.
    ///   - maxPixels: the most pixels, width times height.
    package init(maxBytes: Int = 5 << 20, maxDimension: Int = 8000, maxPixels: Int = 40_000_000) {
        self.maxBytes = maxBytes
        self.maxDimension = maxDimension
        self.maxPixels = maxPixels
    }
}

/// Checks an uploaded file before it is stored.
package enum ImageUpload {
    /// The image in `bytes`, if it is a JPEG, PNG or WebP within `limits`.
    ///
    /// The format comes from the bytes alone (see `ImageFormat.sniff`), so a file's name or declared type cannot
    /// smuggle anything else in; store it under a key made from the returned format.
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - limits: size and pixel bounds.
    /// - Throws: `AgoraError` with `.payloadTooLarge` (`image_too_large`), `.unsupportedMediaType`
    ///   (`unsupported_image_type`) or `.validation` (`image_empty`, `image_too_many_pixels`).
    package static func validate(bytes: [UInt8], limits: ImageLimits = .init()) throws(AgoraError) -> SniffedImage {
        guard !bytes.isEmpty else {
            throw AgoraError(.validation, code: "image_empty", "The image file is empty", fields: ["image": "is empty"])
        }
        guard bytes.count <= limits.maxBytes else {
            throw AgoraError(.payloadTooLarge, code: "image_too_large", "The image is \(bytes.count) bytes; the limit is \(limits.maxBytes) bytes")
        }
        guard let image = ImageFormat.sniff(bytes) else {
            throw AgoraError(.unsupportedMediaType, code: "unsupported_image_type", "Only JPEG, PNG and WebP images are accepted")
        }
        let size = "\(image.width)x\(image.height)"
        guard image.width <= limits.maxDimension, image.height <= limits.maxDimension else {
            throw AgoraError(
                .validation, code: "image_too_many_pixels", "The image is \(size) pixels; each side may be at most \(limits.maxDimension)",
                fields: ["image": "at most \(limits.maxDimension) pixels per side"])
        }
        guard image.pixelCount <= limits.maxPixels else {
            throw AgoraError(
                .validation, code: "image_too_many_pixels", "The image is \(size) pixels; the limit is \(limits.maxPixels) pixels in all",
                fields: ["image": "at most \(limits.maxPixels) pixels"])
        }
        return image
    }
}
