package import AgoraCore
package import Foundation

/// What `POST /api/products` and `PATCH /api/products/:id` send. On a PATCH only the fields present change, and
/// `null` clears an optional one (category, location).
package struct ProductInput: Decodable, Sendable {
    package struct Price: Codable, Sendable {
        package var amount: Int64
        package var currency: String
        package init(amount: Int64, currency: String) {
            self.amount = amount
            self.currency = currency
        }
    }

    package var title: FieldChange<String> = .keep
    package var description: FieldChange<String> = .keep
    package var price: FieldChange<Price> = .keep
    package var categoryId: FieldChange<UUID> = .keep
    package var condition: FieldChange<String> = .keep
    package var tags: FieldChange<[String]> = .keep
    package var stock: FieldChange<Int> = .keep
    package var lowStockThreshold: FieldChange<Int> = .keep
    package var type: FieldChange<String> = .keep
    package var location: FieldChange<GeoPoint> = .keep
    /// Values of the wrong JSON type, reported with the other field problems.
    var typeErrors = FieldErrors()

    package init() {}

    enum CodingKeys: String, CodingKey {
        case title, description, price, categoryId, condition, tags, stock, lowStockThreshold, type, location
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        title = c.change(String.self, .title, expected: "a string", errors: &typeErrors)
        description = c.change(String.self, .description, expected: "a string", errors: &typeErrors)
        price = c.change(Price.self, .price, expected: "an object with an integer amount in minor units and a currency code", errors: &typeErrors)
        categoryId = c.change(UUID.self, .categoryId, expected: "a category id", errors: &typeErrors)
        condition = c.change(String.self, .condition, expected: "a string", errors: &typeErrors)
        tags = c.change([String].self, .tags, expected: "an array of strings", errors: &typeErrors)
        stock = c.change(Int.self, .stock, expected: "an integer", errors: &typeErrors)
        lowStockThreshold = c.change(Int.self, .lowStockThreshold, expected: "an integer", errors: &typeErrors)
        type = c.change(String.self, .type, expected: "a string", errors: &typeErrors)
        location = c.change(GeoPoint.self, .location, expected: "an object with lat and lng in degrees", errors: &typeErrors)
    }
}

/// Checked product fields: nil means "leave as it is"; `clearCategory`/`clearLocation` write NULL.
package struct ProductFields: Sendable {
    var title: String?
    var description: String?
    var price: Money?
    var categoryID: UUID?
    var clearCategory = false
    var condition: ProductCondition?
    var tags: [String]?
    var stock: Int?
    var lowStockThreshold: Int?
    var type: ProductType?
    var location: GeoPoint?
    var clearLocation = false
}

/// The rules for product fields.
package enum ProductValidation {
    static let titleLength = 3...120
    static let descriptionMax = 5000
    static let maxPrice: Int64 = 100_000_000_000
    static let maxTags = 10
    static let tagLength = 1...30
    static let maxStock = 1_000_000

    /// Checks `input`; `creating` makes title and price required.
    /// - Throws: one 422 naming every invalid field.
    package static func check(_ input: ProductInput, creating: Bool) throws(AgoraError) -> ProductFields {
        var errors = input.typeErrors
        var fields = ProductFields()
        switch input.title {
        case .set(let raw): fields.title = line(raw, titleLength, "title", &errors)
        case .clear: errors.add("title", "is required")
        case .keep: if creating { errors.add("title", "is required") }
        }
        if case .set(let raw) = input.description {
            switch TextPolicy.multiLine(raw, max: descriptionMax) {
            case .success(let text): fields.description = text
            case .failure(let problem): errors.add("description", problem.description)
            }
        } else if case .clear = input.description {
            fields.description = ""
        }
        switch input.price {
        case .set(let price):
            if !(0...maxPrice).contains(price.amount) {
                errors.add("price", "amount must be a whole number of minor units from 0 to \(maxPrice)")
            } else if !Money.isCurrencyCode(price.currency) {
                errors.add("price", "currency must be an ISO 4217 code such as ZAR")
            } else {
                fields.price = Money(amount: price.amount, currency: price.currency)
            }
        case .clear: errors.add("price", "is required")
        case .keep: if creating { errors.add("price", "is required") }
        }
        switch input.categoryId {
        case .set(let id): fields.categoryID = id
        case .clear: fields.clearCategory = true
        case .keep: break
        }
        fields.condition = enumValue(input.condition, "condition", &errors)
        fields.type = enumValue(input.type, "type", &errors)
        if case .set(let raw) = input.tags { fields.tags = tags(raw, &errors) } else if case .clear = input.tags { fields.tags = [] }
        fields.stock = count(input.stock, "stock", &errors)
        fields.lowStockThreshold = count(input.lowStockThreshold, "lowStockThreshold", &errors)
        switch input.location {
        case .set(let point):
            if !(-90...90).contains(point.lat) || !(-180...180).contains(point.lng) || !point.lat.isFinite || !point.lng.isFinite {
                errors.add("location", "lat must be within -90..90 and lng within -180..180")
            } else {
                fields.location = point
            }
        case .clear: fields.clearLocation = true
        case .keep: break
        }
        try errors.throwIfAny()
        return fields
    }

    static func line(_ raw: String, _ range: ClosedRange<Int>, _ field: String, _ errors: inout FieldErrors) -> String? {
        switch TextPolicy.singleLine(raw, range) {
        case .success(let text): return text
        case .failure(let problem):
            errors.add(field, problem.description)
            return nil
        }
    }

    /// Tags are lower-cased, trimmed, de-duplicated and kept in the order given.
    static func tags(_ raw: [String], _ errors: inout FieldErrors) -> [String]? {
        var seen = Set<String>()
        var tags: [String] = []
        for tag in raw {
            let tag = tag.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            guard tagLength.contains(tag.count), TextPolicy.nameProblem(tag) == nil else {
                errors.add("tags", "each tag must be \(tagLength.lowerBound) to \(tagLength.upperBound) characters, without control or invisible ones")
                return nil
            }
            if seen.insert(tag).inserted { tags.append(tag) }
        }
        guard tags.count <= maxTags else {
            errors.add("tags", "at most \(maxTags) tags")
            return nil
        }
        return tags
    }

    static func enumValue<T: RawRepresentable & CaseIterable>(_ change: FieldChange<String>, _ field: String, _ errors: inout FieldErrors) -> T?
    where T.RawValue == String {
        switch change {
        case .keep: return nil
        case .clear:
            errors.add(field, "is required")
            return nil
        case .set(let raw):
            guard let value = T(rawValue: raw) else {
                errors.add(field, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            return value
        }
    }

    static func count(_ change: FieldChange<Int>, _ field: String, _ errors: inout FieldErrors) -> Int? {
        switch change {
        case .keep: return nil
        case .clear:
            errors.add(field, "is required")
            return nil
        case .set(let value):
            guard (0...maxStock).contains(value) else {
                errors.add(field, "must be from 0 to \(maxStock)")
                return nil
            }
            return value
        }
    }
}
