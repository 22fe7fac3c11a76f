import AgoraCrypto

/// The name of a stored file: 128 random bits in lowercase hex, a dot and the format's extension
/// (`3f9c…e1.webp`); a thumbnail of it adds its width (`3f9c…e1-320.webp`).
///
/// Names are random rather than derived from the content or the upload, so they reveal nothing and are never
/// reused; that is what lets `MediaRoutes` tell browsers to cache them forever. `init(validating:)` accepts only
/// that exact shape, so a key taken from a URL can never hold `/`, `..` or anything else that leaves the folder.
package struct MediaKey: Sendable, Hashable, CustomStringConvertible {
    /// Random bytes in a key. 128 bits: guessing a stored name is hopeless, and collisions never happen in practice.
    static let randomByteCount = 16

    /// The key as text, e.g. for a URL path or a database column.
    package let rawValue: String
    /// The image format the key's extension names.
    package let format: ImageFormat

    private init(rawValue: String, format: ImageFormat) {
        self.rawValue = rawValue
        self.format = format
    }

    /// A new key for an image in `format`, from the CSPRNG.
    package static func random(format: ImageFormat) -> MediaKey {
        let hex = SecureRandom.bytes(randomByteCount).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }
        return MediaKey(rawValue: hex.joined() + "." + format.fileExtension, format: format)
    }

    /// The key of this image's thumbnail `width` pixels wide (always WebP).
    package func thumbnail(width: Int) -> MediaKey {
        MediaKey(rawValue: "\(rawValue.prefix(Self.randomByteCount * 2))-\(width).\(ImageFormat.webp.fileExtension)", format: .webp)
    }

    /// The key `text` spells, or nil unless it has exactly the shape `random(format:)` or `thumbnail(width:)` makes.
    package init?(validating text: String) {
        var bytes = Array(text.utf8)
        let hexCount = Self.randomByteCount * 2
        // A thumbnail's `-<width>`: 1-4 digits, no leading zero, only before `.webp`.
        if bytes.count > hexCount, bytes[hexCount] == UInt8(ascii: "-") {
            let digits = bytes[(hexCount + 1)...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            guard (1...4).contains(digits.count), digits.first != UInt8(ascii: "0"), text.hasSuffix(".webp"),
                bytes.count == hexCount + 1 + digits.count + 5
            else { return nil }
            bytes.removeSubrange(hexCount..<(hexCount + 1 + digits.count))
        }
        guard bytes.count > hexCount + 1, bytes[hexCount] == UInt8(ascii: ".") else { return nil }
        // Lowercase only: one spelling per key, so two URLs never name the same file.
        let isHex = bytes[..<hexCount].allSatisfy { c in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
        }
        guard isHex, let format = ImageFormat(fileExtension: String(decoding: bytes[(hexCount + 1)...], as: UTF8.self)) else { return nil }
        self.init(rawValue: text, format: format)
    }

    /// The first two hex digits: the subfolder that spreads files out, so no one folder grows huge.
    package var shard: String { String(rawValue.prefix(2)) }

    package var description: String { rawValue }
}
