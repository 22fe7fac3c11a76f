package import AgoraPostgres
package import Foundation
package import Logging

/// What the shareable pages (`/p/<slug>`, `sitemap.xml`) ask of the catalog. Slugs are made by the database
/// (`agora_slug`, a generated column) and retired slugs kept by a trigger (migration 0017), so every way a product's
/// title changes keeps its old links working.
extension ProductService {
    /// Where `/p/<key>` points: a product by its current slug, a retired slug or its id.
    package struct Address: Sendable, Equatable {
        package var id: UUID
        /// The product's current slug.
        package var slug: String
        /// Whether `key` is that slug (else the page answers 301 to it).
        package var isCurrent: Bool
    }

    /// Whether `key` has the shape of a slug: 1 to 120 of a–z, 0–9 and hyphens. Anything else is never looked up.
    package static func isSlug(_ key: some StringProtocol) -> Bool {
        (1...120).contains(key.utf8.count)
            && key.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
    }

    /// The product `key` names (a slug, current or retired, or an id), whatever its status; nil when none.
    package func address(_ key: String, logger: Logger) async throws -> Address? {
        if let id = UUID(uuidString: key) {
            let rows = try await db.query("SELECT slug FROM products WHERE id = \(id)", logger: logger)
            return try rows.first.map { Address(id: id, slug: try $0.decode("slug"), isCurrent: false) }
        }
        guard Self.isSlug(key) else { return nil }
        let rows = try await db.query(
            """
            SELECT id, slug, true AS current FROM products WHERE slug = \(key)
            UNION ALL
            SELECT p.id, p.slug, false FROM product_slugs h JOIN products p ON p.id = h.product_id WHERE h.slug = \(key)
            LIMIT 1
            """,
            logger: logger
        )
        return try rows.first.map { Address(id: try $0.decode("id"), slug: try $0.decode("slug"), isCurrent: try $0.decode("current")) }
    }

    /// A published product as anyone sees it; nil for any other status or an unknown id.
    package func publishedProduct(_ id: UUID, logger: Logger) async throws -> Product? {
        let rows = try await db.query(
            "SELECT \(literal: Product.columns) FROM \(literal: Product.from) WHERE p.id = \(id) AND p.status = 'published'", logger: logger
        )
        guard let row = rows.first else { return nil }
        return try await products(from: [row], logger: logger).first?.publicView
    }

    /// A seller's published listings, newest first, for their shop page.
    package func publishedListings(of seller: UUID, limit: Int, logger: Logger) async throws -> [Product] {
        let rows = try await db.query(
            """
            SELECT \(literal: Product.columns) FROM \(literal: Product.from)
            WHERE p.seller_id = \(seller) AND p.status = 'published' ORDER BY p.published_at DESC, p.id DESC LIMIT \(limit)
            """,
            logger: logger
        )
        return try await products(from: rows, logger: logger).map(\.publicView)
    }

    /// One entry of a sitemap.
    package struct SitemapEntry: Sendable, Equatable {
        package var slug: String
        package var updatedAt: Date
    }

    /// How many products are published (for the sitemap index).
    package func publishedCount(logger: Logger) async throws -> Int {
        try await db.query("SELECT count(*) AS n FROM products WHERE status = 'published'", logger: logger).one().decode("n")
    }

    /// Page `page` (from 1) of the published products, oldest first, `size` to a page.
    package func sitemapPage(_ page: Int, size: Int, logger: Logger) async throws -> [SitemapEntry] {
        let offset = (page - 1).multipliedReportingOverflow(by: size)
        guard page >= 1, !offset.overflow else { return [] }
        return try await db.query(
            """
            SELECT slug, updated_at FROM products WHERE status = 'published'
            ORDER BY published_at, id OFFSET \(offset.partialValue) LIMIT \(size)
            """,
            logger: logger
        ).map { SitemapEntry(slug: try $0.decode("slug"), updatedAt: try $0.decode("updated_at")) }
    }

    /// How many sellers have a published listing.
    package func shopCount(logger: Logger) async throws -> Int {
        try await db.query("SELECT count(DISTINCT seller_id) AS n FROM products WHERE status = 'published'", logger: logger).one().decode("n")
    }

    /// Page `page` (from 1) of the sellers with a published listing, with their latest listing's time.
    package func shopsPage(_ page: Int, size: Int, logger: Logger) async throws -> [(seller: UUID, updatedAt: Date)] {
        let offset = (page - 1).multipliedReportingOverflow(by: size)
        guard page >= 1, !offset.overflow else { return [] }
        return try await db.query(
            """
            SELECT seller_id, max(updated_at) AS updated_at FROM products WHERE status = 'published'
            GROUP BY seller_id ORDER BY seller_id OFFSET \(offset.partialValue) LIMIT \(size)
            """,
            logger: logger
        ).map { (try $0.decode("seller_id"), try $0.decode("updated_at")) }
    }
}
