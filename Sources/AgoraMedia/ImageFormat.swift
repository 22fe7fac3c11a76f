/// The image formats Agora accepts for uploads.
package enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg
    case png
    case webp

    /// The media type to serve the image with.
    package var contentType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        }
    }

    /// The file name extension, without a dot; also the one a `MediaKey` carries.
    package var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .png: "png"
        case .webp: "webp"
        }
    }

    /// The format whose `fileExtension` is `fileExtension`, exactly.
    package init?(fileExtension: String) {
        guard let format = Self.allCases.first(where: { $0.fileExtension == fileExtension }) else { return nil }
        self = format
    }

    /// The format and pixel size of `bytes`, from their magic numbers and headers alone.
    ///
    /// File names and declared types are never consulted: a client can say anything, the bytes are what a browser
    /// will decode. Returns nil for anything else, and for a truncated or malformed header.
    /// - Parameter bytes: the start of the file, or all of it.
    package static func sniff(_ bytes: some Collection<UInt8>) -> SniffedImage? {
        let bytes = (bytes as? [UInt8]) ?? Array(bytes)
        return ImageSniffer.png(bytes) ?? ImageSniffer.jpeg(bytes) ?? ImageSniffer.webp(bytes)
    }
}

/// What sniffing found: the real format and the pixel size.
package struct SniffedImage: Sendable, Hashable {
    /// The format the bytes are in.
    package var format: ImageFormat
    /// Width in pixels.
    package var width: Int
    /// Height in pixels.
    package var height: Int

    /// Makes a result.
    package init(format: ImageFormat, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }

    /// Width times height, the number a decoder has to allocate for.
    package var pixelCount: Int { width * height }
}
