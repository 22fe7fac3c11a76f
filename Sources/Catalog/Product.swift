public import AgoraCore
import AgoraPostgres
public import Foundation

/// Where a product is in its life. Only `published` products are listed and visible to everyone.
public enum ProductStatus: String, Sendable, Codable, CaseIterable {
    case draft, published, unpublished, archived
}

/// What is sold: a thing that ships, or a digital item delivered from the seller's inventory.
public enum ProductType: String, Sendable, Codable, CaseIterable {
    case physical, key, credential, link

    public var isDigital: Bool { self != .physical }
}

/// The state of a physical item.
public enum ProductCondition: String, Sendable, Codable, CaseIterable {
    case new, likeNew = "like-new", good, fair
}

/// A point on Earth, in degrees.
public struct GeoPoint: Sendable, Codable, Equatable {
    public var lat: Double
    public var lng: Double
    public init(lat: Double, lng: Double) {
        self.lat = lat
        self.lng = lng
    }
}

/// An image of a product, in display order.
public struct ProductImage: Sendable, Codable, Equatable {
    public var id: UUID
    /// Where the bytes are served: `/media/<key>`.
    public var url: String
    public var width: Int
    public var height: Int
    public var contentType: String
}

/// A category as a product names it.
public struct CategoryRef: Sendable, Codable, Equatable {
    public var id: UUID
    public var slug: String
    public var name: String
}

/// A product, as `GET /api/products/:id` returns it and listings summarise it.
public struct Product: Sendable, Codable, Equatable {
    public var id: UUID
    public var seller: AccountSummary
    public var category: CategoryRef?
    public var title: String
    public var description: String
    public var price: Money
    public var condition: ProductCondition
    public var tags: [String]
    /// `stock - reserved`: what a buyer can still put in a cart.
    public var available: Int
    public var type: ProductType
    public var location: GeoPoint?
    public var images: [ProductImage]
    public var status: ProductStatus
    public var likeCount: Int
    public var viewCount: Int64
    /// Whether the caller likes it; nil for anonymous callers.
    public var likedByMe: Bool?
    public var publishedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    /// Only in the seller's own view.
    public var stock: Int?
    public var lowStockThreshold: Int?

    /// The columns `init(row:seller:)` reads; `p` is `products`, `c` a LEFT JOIN of `categories`.
    static let columns: StaticString = """
        p.id, p.seller_id, p.title, p.description, p.price_minor, p.currency, p.condition, p.tags, p.stock, p.reserved, \
        p.low_stock_threshold, p.type, p.latitude, p.longitude, p.status, p.like_count, p.view_count, p.published_at, \
        p.created_at, p.updated_at, c.id AS category_id, c.slug AS category_slug, c.name AS category_name, \
        (SELECT coalesce(json_agg(json_build_object('id', i.id, 'url', '/media/' || i.storage_key, 'width', i.width, \
            'height', i.height, 'contentType', i.content_type) ORDER BY i.position), '[]') \
         FROM product_images i WHERE i.product_id = p.id) AS images
        """

    /// The `FROM` clause that goes with `columns`.
    static let from: StaticString = "products p LEFT JOIN categories c ON c.id = p.category_id"

    init(row: PGRow, seller: AccountSummary) throws {
        id = try row.decode("id")
        self.seller = seller
        if let categoryID: UUID = try row.decode("category_id") {
            category = CategoryRef(id: categoryID, slug: try row.decode("category_slug"), name: try row.decode("category_name"))
        }
        title = try row.decode("title")
        description = try row.decode("description")
        price = Money(amount: try row.decode("price_minor"), currency: try row.decode("currency"))
        condition = try Self.enumValue(row, "condition")
        tags = try row.decode("tags")
        let stock: Int = try row.decode("stock")
        available = stock - (try row.decode("reserved") as Int)
        type = try Self.enumValue(row, "type")
        if let lat: Double = try row.decode("latitude"), let lng: Double = try row.decode("longitude") {
            location = GeoPoint(lat: lat, lng: lng)
        }
        images = try row.decode("images", as: PGJSON<[ProductImage]>.self).value
        status = try Self.enumValue(row, "status")
        likeCount = try row.decode("like_count")
        viewCount = try row.decode("view_count")
        publishedAt = try row.decode("published_at")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
        self.stock = stock
        lowStockThreshold = try row.decode("low_stock_threshold")
    }

    /// The product as someone other than its seller sees it.
    var publicView: Product {
        var copy = self
        copy.stock = nil
        copy.lowStockThreshold = nil
        return copy
    }

    static func enumValue<T: RawRepresentable>(_ row: PGRow, _ column: String) throws -> T where T.RawValue == String {
        let raw: String = try row.decode(column)
        guard let value = T(rawValue: raw) else { throw AgoraError(.internalError, "Unknown \(column) '\(raw)'") }
        return value
    }
}

/// One page of a listing, with the cursor of the next page (nil on the last).
public struct ProductPage: Sendable, Codable, Equatable {
    public var items: [Product]
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey { case items, nextCursor }

    /// Writes `"nextCursor": null` on the last page rather than leaving the key out, as every list does.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
