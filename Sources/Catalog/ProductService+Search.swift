import AgoraCore
import AgoraPostgres
package import Foundation
package import Logging

extension ProductService {
    /// One page of published products matching `query`, in its order, as response JSON for `viewer` (who gets
    /// `likedByMe`).
    ///
    /// First pages are cached (`CatalogCache`) as rendered items; later pages are cheap keyset scans on the
    /// indexes of `0004_catalog.sql`.
    /// - Throws: 400 for a cursor of another query.
    package func search(_ query: ProductQuery, viewer: UUID?, logger: Logger) async throws -> [UInt8] {
        var page: RenderedPage?
        if query.cursor == nil {
            let keys = cache.listingKeys(query.fingerprint)
            let lookup = await cache.lookup(keys, logger: logger)
            if case .hit(let bytes) = lookup { page = RenderedPage(cacheValue: bytes) }
            if page == nil {
                let fresh = try await renderedPage(query, logger: logger)
                if case .miss(let version) = lookup { await cache.store(fresh.cacheValue, keys, seen: version, logger: logger) }
                page = fresh
            }
        }
        let result: RenderedPage
        if let page { result = page } else { result = try await renderedPage(query, logger: logger) }
        guard let viewer else { return result.json(liked: nil) }
        let liked = result.items.isEmpty ? [] : try await likedSet(of: viewer, among: result.items.map(\.id), logger: logger)
        return result.json(liked: liked)
    }

    func renderedPage(_ query: ProductQuery, logger: Logger) async throws -> RenderedPage {
        let page = try await searchDatabase(query, logger: logger)
        return RenderedPage(items: try page.items.map(RenderedProduct.init), nextCursor: page.nextCursor)
    }

    /// A page of `query` without the listing cache (the feed: one list per person, not worth sharing).
    package func feed(_ query: ProductQuery, viewer: UUID, logger: Logger) async throws -> ProductPage {
        var page = try await searchDatabase(query, logger: logger)
        let liked = page.items.isEmpty ? [] : try await likedSet(of: viewer, among: page.items.map(\.id), logger: logger)
        for index in page.items.indices { page.items[index].likedByMe = liked.contains(page.items[index].id) }
        return page
    }

    func searchDatabase(_ query: ProductQuery, logger: Logger) async throws -> ProductPage {
        let cursor = try query.cursor.map { raw throws(AgoraError) in try ProductCursor.decode(raw, for: query) }
        guard let sql = try await statement(for: query, after: cursor, logger: logger) else { return ProductPage(items: [], nextCursor: nil) }
        let rows = try await db.query(sql, logger: logger)
        let items = try await products(from: Array(rows.prefix(query.limit)), logger: logger).map(\.publicView)
        var next: String?
        if rows.count > query.limit, let last = rows.prefix(query.limit).last {
            next = try Self.cursor(after: last, query: query).encoded
        }
        return ProductPage(items: items, nextCursor: next)
    }

    /// The statement of a search, or nil when it cannot match anything (an unknown category or seller).
    func statement(for query: ProductQuery, after cursor: ProductCursor?, logger: Logger) async throws -> PGQuery? {
        var filters: [PGQuery] = ["p.status = 'published'"]
        var tsquery: PGQuery?
        if let text = query.text {
            let query = try await textQuery(text, logger: logger)
            filters.append("p.search @@ \(fragment: query)")
            tsquery = query
        }
        if let category = query.category {
            guard let id = try await categoryID(category, logger: logger) else { return nil }
            if query.includeDescendants {
                filters.append(
                    """
                    p.category_id IN (WITH RECURSIVE tree AS (SELECT \(id)::uuid AS id
                        UNION ALL SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id) SELECT id FROM tree)
                    """
                )
            } else {
                filters.append("p.category_id = \(id)")
            }
        }
        if let min = query.minPrice { filters.append("p.price_minor >= \(min)") }
        if let max = query.maxPrice { filters.append("p.price_minor <= \(max)") }
        if let currency = query.currency { filters.append("p.currency = \(currency)") }
        if !query.conditions.isEmpty { filters.append("p.condition = ANY(\(query.conditions.map(\.rawValue)))") }
        if !query.types.isEmpty { filters.append("p.type = ANY(\(query.types.map(\.rawValue)))") }
        if let seller = query.seller {
            guard let id = try await sellers.accountID(username: seller, logger: logger) else { return nil }
            filters.append("p.seller_id = \(id)")
        }
        if let ids = query.sellerIDs {
            guard !ids.isEmpty else { return nil }
            filters.append("p.seller_id = ANY(\(ids))")
        }
        if query.inStockOnly { filters.append("p.stock > p.reserved") }
        if let near = query.near, let radius = query.radiusKm { filters.append(Self.radiusFilter(near, km: radius)) }

        // Title matches (weight A) outrank tags (B) and descriptions (C).
        let score: PGQuery = tsquery.map { "ts_rank(p.search, \(fragment: $0))::float8" } ?? "0::float8"
        let (order, after) = Self.order(query.sort, score: score, cursor: cursor)
        if let after { filters.append(after) }
        return """
            SELECT \(literal: Product.columns), \(fragment: score) AS score
            FROM \(literal: Product.from)
            WHERE \(fragment: PGQuery.joined(filters, separator: " AND "))
            ORDER BY \(fragment: order)
            LIMIT \(query.limit + 1)
            """
    }

    /// The text as a tsquery: what people type (websearch syntax: quotes, `or`, `-`), or else the same words with
    /// each one the catalog does not know replaced by its closest known word (typos: "iphnoe" finds "iPhone").
    ///
    /// Candidates come from `catalog_words` by trigram similarity (its GIN index, threshold
    /// `pg_trgm.similarity_threshold`); the closest by edit distance wins, within 1 edit for words of up to 4
    /// letters, 2 up to 8, 3 beyond. A word that is in the catalog is never "corrected".
    func textQuery(_ text: String, logger: Logger) async throws -> PGQuery {
        let words = Array(text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init).filter { (3...40).contains($0.count) }.prefix(8))
        guard !words.isEmpty else { return "websearch_to_tsquery('english', \(text))" }
        let rows = try await db.query(
            """
            SELECT w.stem, c.word FROM (
                SELECT input.ordinality, (SELECT coalesce(min(t.lexeme), '') FROM unnest(to_tsvector('english', input.word)) AS t) AS stem
                FROM unnest(\(words)) WITH ORDINALITY AS input(word, ordinality)
            ) w
            LEFT JOIN LATERAL (
                SELECT k.word FROM catalog_words k
                WHERE length(w.stem) >= 3 AND NOT EXISTS (SELECT 1 FROM catalog_words e WHERE e.word = w.stem)
                  AND k.word % w.stem
                  AND levenshtein(k.word, w.stem) <= CASE WHEN length(w.stem) <= 4 THEN 1 WHEN length(w.stem) <= 8 THEN 2 ELSE 3 END
                ORDER BY levenshtein(k.word, w.stem), similarity(k.word, w.stem) DESC, k.word
                LIMIT 1
            ) c ON TRUE
            ORDER BY w.ordinality
            """,
            logger: logger
        )
        var corrected = false
        var lexemes: [String] = []
        for row in rows {
            let stem: String = try row.decode("stem")
            if let word: String = try row.decode("word") {
                corrected = true
                lexemes.append(word)
            } else if !stem.isEmpty {
                lexemes.append(stem)
            }
        }
        guard corrected else { return "websearch_to_tsquery('english', \(text))" }
        // Stems of letter-only words: quoting (with quotes doubled) keeps tsquery syntax out of them.
        let alternative = lexemes.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: " & ")
        return "(websearch_to_tsquery('english', \(text)) || \(alternative)::tsquery)"
    }

    /// The ORDER BY of a sort, and the keyset condition for rows after `cursor`.
    static func order(_ sort: ProductQuery.Sort, score: PGQuery, cursor: ProductCursor?) -> (PGQuery, PGQuery?) {
        switch sort {
        case .newest:
            let after = cursor.map { c -> PGQuery in
                "(p.published_at, p.id) < (\(Date(timeIntervalSince1970: Double(c.integer ?? 0) / 1_000_000)), \(c.id))"
            }
            return ("p.published_at DESC, p.id DESC", after)
        case .priceAsc:
            return ("p.price_minor ASC, p.id ASC", cursor.map { "(p.price_minor, p.id) > (\($0.integer ?? 0), \($0.id))" })
        case .priceDesc:
            return ("p.price_minor DESC, p.id DESC", cursor.map { "(p.price_minor, p.id) < (\($0.integer ?? 0), \($0.id))" })
        case .likes:
            return ("p.like_count DESC, p.id DESC", cursor.map { "(p.like_count, p.id) < (\(Int32(clamping: $0.integer ?? 0)), \($0.id))" })
        case .relevance:
            return ("score DESC, p.id DESC", cursor.map { "(\(fragment: score), p.id) < (\($0.key ?? 0), \($0.id))" })
        }
    }

    static func cursor(after row: PGRow, query: ProductQuery) throws -> ProductCursor {
        let tag = ProductCursor.queryTag(query)
        let id: UUID = try row.decode("id")
        switch query.sort {
        case .newest:
            let date: Date = try row.decode("published_at")
            return ProductCursor(integer: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()), id: id, query: tag)
        case .priceAsc, .priceDesc:
            return ProductCursor(integer: try row.decode("price_minor"), id: id, query: tag)
        case .likes:
            return ProductCursor(integer: Int64(try row.decode("like_count") as Int), id: id, query: tag)
        case .relevance:
            return ProductCursor(key: try row.decode("score"), id: id, query: tag)
        }
    }

    /// Products within `km` of `center`: a bounding box the GiST index on point(lng, lat) answers, then the exact
    /// haversine distance. Near the poles or across the antimeridian the box spans every longitude.
    static func radiusFilter(_ center: GeoPoint, km: Double) -> PGQuery {
        let earthRadius = 6371.0088
        let dLat = km / 111.195
        let minLat = max(-90, center.lat - dLat)
        let maxLat = min(90, center.lat + dLat)
        var minLng = -180.0
        var maxLng = 180.0
        let cosLat = cos(center.lat * .pi / 180)
        if cosLat > 0.01 {
            let dLng = km / (111.195 * cosLat)
            if center.lng - dLng >= -180, center.lng + dLng <= 180 {
                minLng = center.lng - dLng
                maxLng = center.lng + dLng
            }
        }
        return """
            point(p.longitude, p.latitude) <@ box(point(\(minLng), \(minLat)), point(\(maxLng), \(maxLat)))
            AND \(2 * earthRadius) * asin(sqrt(
                power(sin(radians(p.latitude - \(center.lat)) / 2), 2)
                + cos(radians(\(center.lat))) * cos(radians(p.latitude)) * power(sin(radians(p.longitude - \(center.lng)) / 2), 2)
            )) <= \(km)
            """
    }

    /// The id of a category given by id or slug.
    func categoryID(_ idOrSlug: String, logger: Logger) async throws -> UUID? {
        let id = UUID(uuidString: idOrSlug)
        let rows = try await db.query(
            "SELECT id FROM categories WHERE id = \(id) OR slug = \(idOrSlug.lowercased()) LIMIT 1",
            logger: logger
        )
        return try rows.first?.decode("id")
    }
}
