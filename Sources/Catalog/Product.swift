package import AgoraCore
import AgoraPostgres
package import Foundation

/// Where a product is in its life. Only `published` products are listed and visible to everyone. `taken_down` is an
/// administrator's (or the seller's suspension's) doing: only an administrator puts it back.
package enum ProductStatus: String, Sendable, Codable, CaseIterable {
    case draft, published, unpublished, archived
    case takenDown = "taken_down"
}

/// What is sold: a thing that ships, or a digital item delivered from the seller's inventory.
package enum ProductType: String, Sendable, Codable, CaseIterable {
    case physical, key, credential, link

    package var isDigital: Bool { self != .physical }
}

/// The state of a physical item.
package enum ProductCondition: String, Sendable, Codable, CaseIterable {
    case new, likeNew = "like-new", good, fair
}

/// A point on Earth, in degrees.
package struct GeoPoint: Sendable, Codable, Equatable {
    package var lat: Double
    package var lng: Double
    package init(lat: Double, lng: Double) {
        self.lat = lat
        self.lng = lng
    }
}

/// An image of a product, in display order.
package struct ProductImage: Sendable, Codable, Equatable {
    package var id: UUID
    /// Where the bytes are served: `/media/<key>`.
    package var url: String
    package var width: Int
    package var height: Int
    package var contentType: String
    /// Smaller WebP copies, narrowest first, for `srcset`; empty for images uploaded before thumbnails existed.
    package var thumbnails: [ImageThumbnail] = []
}

/// A thumbnail of a product image: `width` pixels wide, the aspect ratio of the image.
package struct ImageThumbnail: Sendable, Codable, Equatable {
    package var width: Int
    package var url: String
}

/// A category as a product names it.
package struct CategoryRef: Sendable, Codable, Equatable {
    package var id: UUID
    package var slug: String
    package var name: String
}

/// A product, as `GET /api/products/:id` returns it and listings summarise it.
package struct Product: Sendable, Codable, Equatable {
    package var id: UUID
    /// Its shareable address, `/p/<slug>`: the title's words and the id's first 12 hex digits (migration 0017).
    package var slug: String
    package var seller: AccountSummary
    package var category: CategoryRef?
    package var title: String
    package var description: String
    package var price: Money
    package var condition: ProductCondition
    package var tags: [String]
    /// `stock - reserved`: what a buyer can still put in a cart.
    package var available: Int
    package var type: ProductType
    package var location: GeoPoint?
    package var images: [ProductImage]
    package var status: ProductStatus
    package var likeCount: Int
    package var viewCount: Int64
    /// Whether the caller likes it; nil for anonymous callers.
    package var likedByMe: Bool?
    package var publishedAt: Date?
    package var createdAt: Date
    package var updatedAt: Date
    /// Only in the seller's own view.
    package var stock: Int?
    package var lowStockThreshold: Int?
    /// Why it was taken down, while it is; only in the seller's own view.
    package var takedownReason: String?

    /// The columns `init(row:seller:)` reads; `p` is `products`, `c` a LEFT JOIN of `categories`.
    static let columns: StaticString = """
        p.id, p.slug, p.seller_id, p.title, p.description, p.price_minor, p.currency, p.condition, p.tags, p.stock, p.reserved, \
        p.low_stock_threshold, p.type, p.latitude, p.longitude, p.status, p.like_count, p.view_count, p.published_at, p.takedown_reason, \
        p.created_at, p.updated_at, c.id AS category_id, c.slug AS category_slug, c.name AS category_name, \
        (SELECT coalesce(json_agg(json_build_object('id', i.id, 'url', '/media/' || i.storage_key, 'width', i.width, \
            'height', i.height, 'contentType', i.content_type, 'thumbnails', \
            (SELECT coalesce(json_agg(json_build_object('width', w, 'url', '/media/' || left(i.storage_key, 32) || '-' || w || '.webp') \
                ORDER BY w), '[]') FROM unnest(i.thumbnail_widths) w)) ORDER BY i.position), '[]') \
         FROM product_images i WHERE i.product_id = p.id) AS images
        """

    /// The `FROM` clause that goes with `columns`.
    static let from: StaticString = "products p LEFT JOIN categories c ON c.id = p.category_id"

    init(row: PGRow, seller: AccountSummary) throws {
        id = try row.decode("id")
        slug = try row.decode("slug")
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
        takedownReason = status == .takenDown ? try row.decode("takedown_reason") : nil
    }

    /// The product as someone other than its seller sees it.
    var publicView: Product {
        var copy = self
        copy.stock = nil
        copy.lowStockThreshold = nil
        copy.takedownReason = nil
        return copy
    }

    static func enumValue<T: RawRepresentable>(_ row: PGRow, _ column: String) throws -> T where T.RawValue == String {
        let raw: String = try row.decode(column)
        guard let value = T(rawValue: raw) else { throw AgoraError(.internalError, "Unknown \(column) '\(raw)'") }
        return value
    }
}

/// One page of a listing, with the cursor of the next page (nil on the last).
///
/// Not `Page<Product>`: its response is written by `ProductJSONWriter` (CatalogRoutes), which a generic page's
/// `ResponseEncodable` conformance would bypass. Its JSON is a `Page`'s, which `encode(to:)` hands on to.
package struct ProductPage: Sendable, Codable, Equatable {
    package var items: [Product]
    package var nextCursor: String?

    package func encode(to encoder: any Encoder) throws {
        try Page(items: items, nextCursor: nextCursor).encode(to: encoder)
    }
}
