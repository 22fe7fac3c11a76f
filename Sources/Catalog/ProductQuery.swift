package import AgoraCore
package import Foundation

/// A browse or search of published products: `GET /api/products?q=…&category=…&sort=…&cursor=…`.
package struct ProductQuery: Sendable, Equatable {
    /// How results are ordered.
    package enum Sort: String, Sendable, CaseIterable {
        case newest, relevance, priceAsc = "price_asc", priceDesc = "price_desc", likes
    }

    /// Full-text query (with typo tolerance on titles).
    package var text: String?
    /// A category id or slug.
    package var category: String?
    /// Whether a category filter includes every descendant category.
    package var includeDescendants = false
    package var minPrice: Int64?
    package var maxPrice: Int64?
    package var currency: String?
    package var conditions: [ProductCondition] = []
    /// A seller's username.
    package var seller: String?
    /// Seller ids (the feed: everyone I follow).
    package var sellerIDs: [UUID]?
    package var types: [ProductType] = []
    package var inStockOnly = false
    package var near: GeoPoint?
    package var radiusKm: Double?
    package var sort: Sort = .newest
    package var limit: Int
    /// The opaque `nextCursor` of the previous page.
    package var cursor: String?

    package init(limit: Int) { self.limit = limit }

    static let maxTextLength = 200
    static let maxRadiusKm = 20_000.0

    /// Parses query parameters.
    /// - Throws: 422 naming each bad parameter.
    package static func parse(_ parameters: [String: String], defaultLimit: Int, maxLimit: Int) throws(AgoraError) -> ProductQuery {
        var query = ProductQuery(limit: defaultLimit)
        var errors = FieldErrors()
        let known: Set<String> = [
            "q", "category", "descendants", "minPrice", "maxPrice", "currency", "condition", "seller", "type", "inStock", "lat",
            "lng", "radiusKm", "sort", "limit", "cursor",
        ]
        for name in parameters.keys where !known.contains(name) { errors.add(name, "is not a known parameter") }
        if let raw = parameters["q"], case let q = raw.trimmingCharacters(in: .whitespacesAndNewlines), !q.isEmpty {
            if TextPolicy.length(raw) > maxTextLength { errors.add("q", "must be at most \(maxTextLength) characters") } else { query.text = q }
        }
        query.category = parameters["category"].flatMap { $0.isEmpty ? nil : $0 }
        query.includeDescendants = flag(parameters["descendants"], "descendants", &errors)
        query.minPrice = amount(parameters["minPrice"], "minPrice", &errors)
        query.maxPrice = amount(parameters["maxPrice"], "maxPrice", &errors)
        if let min = query.minPrice, let max = query.maxPrice, min > max { errors.add("maxPrice", "must not be below minPrice") }
        if let currency = parameters["currency"] {
            if Money.isCurrencyCode(currency) { query.currency = currency } else { errors.add("currency", "must be an ISO 4217 code such as ZAR") }
        }
        query.conditions = list(parameters["condition"], "condition", &errors)
        query.types = list(parameters["type"], "type", &errors)
        query.seller = parameters["seller"].flatMap { $0.isEmpty ? nil : $0.lowercased() }
        query.inStockOnly = flag(parameters["inStock"], "inStock", &errors)
        switch (parameters["lat"].map(Double.init), parameters["lng"].map(Double.init), parameters["radiusKm"].map(Double.init)) {
        case (nil, nil, nil): break
        case (.some(.some(let lat)), .some(.some(let lng)), .some(.some(let radius))):
            if !(-90...90).contains(lat) { errors.add("lat", "must be within -90..90") }
            if !(-180...180).contains(lng) { errors.add("lng", "must be within -180..180") }
            if !(radius > 0 && radius <= maxRadiusKm) { errors.add("radiusKm", "must be above 0 and at most \(Int(maxRadiusKm))") }
            query.near = GeoPoint(lat: lat, lng: lng)
            query.radiusKm = radius
        default: errors.add("radiusKm", "a radius search needs lat, lng and radiusKm, all numbers")
        }
        if let raw = parameters["sort"] {
            if let sort = Sort(rawValue: raw) { query.sort = sort } else { errors.add("sort", "must be one of \(Sort.allCases.map(\.rawValue).joined(separator: ", "))") }
        } else if query.text != nil {
            query.sort = .relevance
        }
        if query.sort == .relevance, query.text == nil { errors.add("sort", "relevance needs a search text (q)") }
        if let raw = parameters["limit"] {
            if let limit = Int(raw), (1...maxLimit).contains(limit) { query.limit = limit } else { errors.add("limit", "must be from 1 to \(maxLimit)") }
        }
        query.cursor = parameters["cursor"].flatMap { $0.isEmpty ? nil : $0 }
        try errors.throwIfAny("Some query parameters are not valid")
        return query
    }

    static func flag(_ raw: String?, _ name: String, _ errors: inout FieldErrors) -> Bool {
        switch raw {
        case nil, "false", "0": return false
        case "true", "1", "": return true
        default:
            errors.add(name, "must be true or false")
            return false
        }
    }

    static func amount(_ raw: String?, _ name: String, _ errors: inout FieldErrors) -> Int64? {
        guard let raw else { return nil }
        guard let value = Int64(raw), value >= 0 else {
            errors.add(name, "must be a whole number of minor units, 0 or more")
            return nil
        }
        return value
    }

    static func list<T: RawRepresentable & CaseIterable>(_ raw: String?, _ name: String, _ errors: inout FieldErrors) -> [T] where T.RawValue == String {
        guard let raw, !raw.isEmpty else { return [] }
        var values: [T] = []
        // Empty items ("new,", ",") are refused like unknown ones: the document lists each item as one of the values.
        for part in raw.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = T(rawValue: String(part)) else {
                errors.add(name, "must be one or more (comma-separated) of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
                return []
            }
            if !values.contains(where: { $0.rawValue == value.rawValue }) { values.append(value) }
        }
        return values
    }

    /// Everything that selects and orders rows (not the page position): the cache key of a first page, and what a
    /// cursor is tied to, so a cursor cannot be replayed against a different search.
    var fingerprint: String {
        var parts = [
            "q=\(text ?? "")", "c=\(category ?? "")", "d=\(includeDescendants)", "min=\(minPrice.map(String.init) ?? "")",
            "max=\(maxPrice.map(String.init) ?? "")", "cur=\(currency ?? "")", "cond=\(conditions.map(\.rawValue).sorted())",
            "s=\(seller ?? "")", "t=\(types.map(\.rawValue).sorted())", "in=\(inStockOnly)", "sort=\(sort.rawValue)", "l=\(limit)",
        ]
        if let near, let radiusKm { parts.append("near=\(near.lat),\(near.lng),\(radiusKm)") }
        // The feed: tied to "the people I follow", not to the list of them, which may change between pages.
        if sellerIDs != nil { parts.append("feed") }
        return parts.joined(separator: "&")
    }
}
