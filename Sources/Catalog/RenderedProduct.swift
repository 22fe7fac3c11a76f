import AgoraCore
package import Foundation

/// A product already encoded as response JSON: what the caches hold, so a cache hit is sent as bytes instead of
/// being decoded and encoded again (on this machine that round trip was 60% of a cached listing's CPU).
///
/// The JSON is the public view without `likedByMe`; `json(likedByMe:)` adds the caller's flag by replacing the
/// object's closing brace, which is safe because we produced the object ourselves and `JSONEncoder` ends it there.
package struct RenderedProduct: Sendable, Equatable {
    package var id: UUID
    package var sellerID: UUID
    package var status: ProductStatus
    var json: [UInt8]

    /// What `ProductJSONWriter` must agree with: dates as Hummingbird's response encoder writes them (ISO 8601).
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    init(_ product: Product) throws {
        var product = product
        product.likedByMe = nil
        id = product.id
        sellerID = product.seller.id
        status = product.status
        json = ProductJSONWriter.render(product)
    }

    /// The JSON, with `"likedByMe"` when the caller is logged in.
    package func json(likedByMe: Bool?) -> [UInt8] {
        guard let likedByMe, json.last == UInt8(ascii: "}") else { return json }
        var bytes = json
        bytes.removeLast()
        bytes += Array((likedByMe ? #","likedByMe":true}"# : #","likedByMe":false}"#).utf8)
        return bytes
    }

    // Cache form: one line "<id> <seller id> <status> <json>" (the JSON has no raw newlines: JSONEncoder escapes them).
    var cacheLine: [UInt8] { Array("\(id.uuidString) \(sellerID.uuidString) \(status.rawValue) ".utf8) + json }

    init?(cacheLine line: ArraySlice<UInt8>) {
        let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let id = UUID(uuidString: String(decoding: parts[0], as: UTF8.self)),
            let seller = UUID(uuidString: String(decoding: parts[1], as: UTF8.self)),
            let status = ProductStatus(rawValue: String(decoding: parts[2], as: UTF8.self))
        else { return nil }
        self.id = id
        self.sellerID = seller
        self.status = status
        self.json = Array(parts[3])
    }
}

/// A page of rendered products: `{"items": [...], "nextCursor": ...}` assembled from cached item JSON.
package struct RenderedPage: Sendable, Equatable {
    package var items: [RenderedProduct]
    package var nextCursor: String?

    /// The response body, each item with the caller's `likedByMe` (nil for anonymous callers).
    package func json(liked: Set<UUID>?) -> [UInt8] {
        var bytes = Array(#"{"items":["#.utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += item.json(likedByMe: liked.map { $0.contains(item.id) })
        }
        bytes += Array("],\"nextCursor\":".utf8)
        // Cursors are base64url, but encode it as a JSON string anyway rather than trust that.
        bytes += nextCursor.map { Array((try? JSONEncoder().encode($0)) ?? Data("null".utf8)) } ?? Array("null".utf8)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    // Cache form: the cursor (or nothing) on the first line, then one item per line.
    var cacheValue: [UInt8] {
        var bytes = Array((nextCursor ?? "").utf8)
        for item in items {
            bytes.append(UInt8(ascii: "\n"))
            bytes += item.cacheLine
        }
        return bytes
    }

    init(items: [RenderedProduct], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    init?(cacheValue bytes: [UInt8]) {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard let first = lines.first else { return nil }
        var items: [RenderedProduct] = []
        for line in lines.dropFirst() {
            guard let item = RenderedProduct(cacheLine: line) else { return nil }
            items.append(item)
        }
        self.items = items
        self.nextCursor = first.isEmpty ? nil : String(decoding: first, as: UTF8.self)
    }
}
