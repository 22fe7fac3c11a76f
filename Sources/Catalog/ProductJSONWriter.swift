import AgoraCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a product as JSON by hand: the same object `JSONEncoder` (with ISO 8601 dates, as Hummingbird answers)
/// makes of `Product`, at a fraction of the cost. Rendering was most of a cold listing's CPU; the tests compare this
/// output with the `Codable` encoding, field by field, so the two cannot drift apart silently.
struct ProductJSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    static func render(_ product: Product) -> [UInt8] {
        var writer = ProductJSONWriter()
        writer.product(product)
        return writer.bytes
    }

    /// `{"items": [...], "nextCursor": ...}`.
    static func render(_ page: ProductPage) -> [UInt8] {
        var writer = ProductJSONWriter(capacity: 64 + 1024 * page.items.count)
        writer.raw("{\"items\":[")
        for (index, product) in page.items.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.product(product)
        }
        writer.raw("],\"nextCursor\":")
        if let cursor = page.nextCursor { writer.string(cursor) } else { writer.raw("null") }
        writer.raw("}")
        return writer.bytes
    }

    mutating func product(_ p: Product) {
        raw("{\"id\":"); uuid(p.id)
        raw(",\"slug\":"); string(p.slug)
        raw(",\"seller\":{\"id\":"); uuid(p.seller.id)
        raw(",\"username\":"); string(p.seller.username)
        raw(",\"displayName\":"); string(p.seller.displayName)
        if let avatar = p.seller.avatarUrl { raw(",\"avatarUrl\":"); string(avatar) }
        raw("}")
        if let category = p.category {
            raw(",\"category\":{\"id\":"); uuid(category.id)
            raw(",\"slug\":"); string(category.slug)
            raw(",\"name\":"); string(category.name)
            raw("}")
        }
        raw(",\"title\":"); string(p.title)
        raw(",\"description\":"); string(p.description)
        raw(",\"price\":{\"amount\":"); integer(p.price.amount)
        raw(",\"currency\":"); string(p.price.currency)
        raw("},\"condition\":"); string(p.condition.rawValue)
        raw(",\"tags\":[")
        for (index, tag) in p.tags.enumerated() {
            if index > 0 { raw(",") }
            string(tag)
        }
        raw("],\"available\":"); integer(p.available)
        raw(",\"type\":"); string(p.type.rawValue)
        if let location = p.location {
            raw(",\"location\":{\"lat\":"); number(location.lat)
            raw(",\"lng\":"); number(location.lng)
            raw("}")
        }
        raw(",\"images\":[")
        for (index, image) in p.images.enumerated() {
            if index > 0 { raw(",") }
            raw("{\"id\":"); uuid(image.id)
            raw(",\"url\":"); string(image.url)
            raw(",\"width\":"); integer(image.width)
            raw(",\"height\":"); integer(image.height)
            raw(",\"contentType\":"); string(image.contentType)
            raw(",\"thumbnails\":[")
            for (position, thumbnail) in image.thumbnails.enumerated() {
                if position > 0 { raw(",") }
                raw("{\"width\":"); integer(thumbnail.width)
                raw(",\"url\":"); string(thumbnail.url)
                raw("}")
            }
            raw("]}")
        }
        raw("],\"status\":"); string(p.status.rawValue)
        raw(",\"likeCount\":"); integer(p.likeCount)
        raw(",\"viewCount\":"); integer(p.viewCount)
        if let liked = p.likedByMe { raw(liked ? ",\"likedByMe\":true" : ",\"likedByMe\":false") }
        if let published = p.publishedAt { raw(",\"publishedAt\":"); date(published) }
        raw(",\"createdAt\":"); date(p.createdAt)
        raw(",\"updatedAt\":"); date(p.updatedAt)
        if let stock = p.stock { raw(",\"stock\":"); integer(stock) }
        if let threshold = p.lowStockThreshold { raw(",\"lowStockThreshold\":"); integer(threshold) }
        if let reason = p.takedownReason { raw(",\"takedownReason\":"); string(reason) }
        raw("}")
    }

    // MARK: - Values

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7); everything else as UTF-8.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [0x5C, 0x22]
            case UInt8(ascii: "\\"): bytes += [0x5C, 0x5C]
            case 0x0A: bytes += [0x5C, UInt8(ascii: "n")]
            case 0x0D: bytes += [0x5C, UInt8(ascii: "r")]
            case 0x09: bytes += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ value: some BinaryInteger) {
        bytes += Array(String(value).utf8)
    }

    /// A finite double in Swift's shortest round-tripping form (validation keeps NaN and infinities out).
    mutating func number(_ value: Double) {
        guard value.isFinite else { return raw("null") }
        if value == value.rounded(), abs(value) < 1e15 {
            integer(Int64(value))
        } else {
            bytes += Array(value.description.utf8)
        }
    }

    mutating func uuid(_ id: UUID) {
        bytes.append(UInt8(ascii: "\""))
        bytes += Array(id.uuidString.utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `2026-12-02T10:00:00Z`: whole seconds in UTC, as `JSONEncoder.DateEncodingStrategy.iso8601` writes.
    mutating func date(_ date: Date) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> [UInt8] { [UInt8(48 + value / 10), UInt8(48 + value % 10)] }
        let year = parts.tm_year + 1900
        bytes.append(UInt8(ascii: "\""))
        bytes += two(year / 100) + two(year % 100)
        bytes.append(UInt8(ascii: "-")); bytes += two(parts.tm_mon + 1)
        bytes.append(UInt8(ascii: "-")); bytes += two(parts.tm_mday)
        bytes.append(UInt8(ascii: "T")); bytes += two(parts.tm_hour)
        bytes.append(UInt8(ascii: ":")); bytes += two(parts.tm_min)
        bytes.append(UInt8(ascii: ":")); bytes += two(parts.tm_sec)
        bytes += Array("Z\"".utf8)
    }
}
