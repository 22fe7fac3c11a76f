import Hummingbird

/// One page of a cursor-paginated list: `{"items": […], "nextCursor": "…" | null}`.
package struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    package var items: [Item]
    /// Pass back as `cursor` for the next page; null on the last page.
    package var nextCursor: String?

    package init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey { case items, nextCursor }

    /// Writes `"nextCursor": null` on the last page rather than leaving the key out, as every list does.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// Every page is a response body.
extension Page: ResponseEncodable {}
