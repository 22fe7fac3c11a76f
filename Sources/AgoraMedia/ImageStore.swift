package import Logging

/// Uploaded images from bytes to stored files: `ImagePipeline` cleans them (and makes thumbnails), `MediaStorage`
/// keeps them. The one way product images, avatars, banners and dispute photos are stored.
package struct ImageStore: Sendable {
    package let storage: any MediaStorage
    package let pipeline: ImagePipeline

    package init(storage: any MediaStorage, pipeline: ImagePipeline) {
        self.storage = storage
        self.pipeline = pipeline
    }

    /// What was stored: the cleaned image under `key`, its thumbnails under `key.thumbnail(width:)`.
    package struct Stored: Sendable, Equatable {
        package var key: MediaKey
        package var format: ImageFormat
        package var width: Int
        package var height: Int
        package var byteSize: Int
        /// Widths of the thumbnails stored, smallest first.
        package var thumbnailWidths: [Int]

        /// `/media/<key>`.
        package var url: String { "/media/\(key.rawValue)" }
    }

    /// Validates and cleans `bytes`, then stores the result under a new random key.
    ///
    /// If a file cannot be stored, those already stored are removed again, and the error is thrown.
    /// - Throws: the pipeline's 413/415/422 before anything is stored; storage errors.
    /// - Parameter check: looks at the cleaned image's size (upright) before anything is stored, and may refuse it.
    package func store(
        _ bytes: [UInt8], limits: ImageLimits, thumbnails: Bool, logger: Logger, check: (_ width: Int, _ height: Int) throws -> Void = { _, _ in }
    ) async throws -> Stored {
        let result = try await pipeline.process(bytes, limits: limits, thumbnails: thumbnails)
        try check(result.original.width, result.original.height)
        let key = MediaKey.random(format: result.original.format)
        let stored = Stored(
            key: key, format: result.original.format, width: result.original.width, height: result.original.height,
            byteSize: result.original.bytes.count, thumbnailWidths: result.thumbnails.map(\.width))
        do {
            try await storage.put(result.original.bytes, key: key, contentType: key.format.contentType)
            for thumbnail in result.thumbnails {
                let thumbnailKey = key.thumbnail(width: thumbnail.width)
                try await storage.put(thumbnail.bytes, key: thumbnailKey, contentType: thumbnailKey.format.contentType)
            }
        } catch {
            await remove(key, thumbnailWidths: stored.thumbnailWidths, logger: logger)
            throw error
        }
        return stored
    }

    /// Removes an image and its thumbnails. Failures are logged, not thrown: the rows that named the files are gone
    /// already, and a leftover file is only space.
    package func remove(_ key: MediaKey, thumbnailWidths: [Int], logger: Logger) async {
        for file in [key] + thumbnailWidths.map(key.thumbnail(width:)) {
            do {
                try await storage.delete(file)
            } catch {
                logger.warning("An image file was not removed", metadata: ["agora.media_key": "\(file.rawValue)", "error": "\(error)"])
            }
        }
    }
}
