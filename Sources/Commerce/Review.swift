package import Foundation

/// A buyer's review of a product, with the seller's reply.
package struct Review: Codable, Sendable, Equatable {
    package struct Author: Codable, Sendable, Equatable {
        package var id: UUID
        package var username: String
        package var displayName: String
    }
    package var id: UUID
    package var productId: UUID
    package var rating: Int
    package var body: String
    package var author: Author
    package var reply: String?
    package var repliedAt: Date?
    package var createdAt: Date
}

/// An average of 1–5 stars over `count` reviews (null average when there are none).
package struct Rating: Codable, Sendable, Equatable {
    package var average: Double?
    package var count: Int

    init(sum: Int64, count: Int) {
        self.count = count
        average = count == 0 ? nil : (Double(sum) / Double(count) * 100).rounded() / 100
    }
}

/// A page of a product's reviews with its rating and its seller's.
package struct ReviewPage: Encodable, Sendable {
    package var items: [Review]
    package var nextCursor: String?
    package var rating: Rating
    package var sellerRating: Rating

    enum CodingKeys: String, CodingKey { case items, nextCursor, rating, sellerRating }
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)
        try c.encode(rating, forKey: .rating)
        try c.encode(sellerRating, forKey: .sellerRating)
    }
}
