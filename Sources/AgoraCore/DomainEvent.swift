package import Foundation

/// Something that happened in a domain that other parts of the system react to: a like, a follow, a publish, a
/// price or stock change. Domains record events through `EventOutbox` (module AgoraEvents) in the transaction of
/// the change; the realtime layer delivers them to sockets and notifications.
package struct DomainEvent: Sendable, Equatable, Codable {
    /// What happened, as a stable dotted name (`product.liked`).
    package struct Kind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        package var rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        package static let productLiked = Kind(rawValue: "product.liked")
        package static let productUnliked = Kind(rawValue: "product.unliked")
        package static let productPublished = Kind(rawValue: "product.published")
        package static let productUnpublished = Kind(rawValue: "product.unpublished")
        package static let productArchived = Kind(rawValue: "product.archived")
        package static let productPriceChanged = Kind(rawValue: "product.price_changed")
        package static let productStockChanged = Kind(rawValue: "product.stock_changed")
        package static let userFollowed = Kind(rawValue: "user.followed")
        package static let userUnfollowed = Kind(rawValue: "user.unfollowed")
        /// One per seller order: subject the order, payload the seller order, buyer, seller, status and money.
        package static let orderCreated = Kind(rawValue: "order.created")
        package static let orderPaid = Kind(rawValue: "order.paid")
        package static let orderShipped = Kind(rawValue: "order.shipped")
        package static let orderDelivered = Kind(rawValue: "order.delivered")
        package static let orderCancelled = Kind(rawValue: "order.cancelled")
        /// Money given back on a seller order that goes on (a partial refund, or a full one after shipping); payload
        /// adds `amount` (this refund), `refunded` (all so far) and `reason`.
        package static let orderRefunded = Kind(rawValue: "order.refunded")
        /// A step of a dispute about a seller order; payload adds `disputeId`, `step` (opened, message, escalated,
        /// refunded, closed) and `disputeStatus`.
        package static let orderDispute = Kind(rawValue: "order.dispute")
        /// A sale took a product to or below its low-stock threshold; subject the product, payload seller and stock.
        package static let productLowStock = Kind(rawValue: "product.low_stock")
        /// Something an administrator must look at (a paid amount that does not match its order, a refund the
        /// provider kept refusing); subject the order, payload `alert` (a code), `message` and the facts.
        package static let adminAlert = Kind(rawValue: "admin.alert")
    }

    /// One payload value: JSON scalars only, so every consumer can read a payload without knowing its producer.
    package enum Value: Sendable, Equatable, Codable {
        case string(String)
        case int(Int64)
        case bool(Bool)

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .int(value)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .int(let value): try container.encode(value)
            case .bool(let value): try container.encode(value)
            }
        }
    }

    package var kind: Kind
    /// Who did it (nil for the system, e.g. an expiry job).
    package var actorID: UUID?
    /// What it happened to: the product, or the account followed.
    package var subjectID: UUID?
    /// The facts a consumer needs without a query, e.g. the old and new price.
    package var payload: [String: Value]

    package init(_ kind: Kind, actor: UUID?, subject: UUID?, payload: [String: Value] = [:]) {
        self.kind = kind
        self.actorID = actor
        self.subjectID = subject
        self.payload = payload
    }

    /// A payload as stored in a `jsonb` column (keys sorted, so equal payloads are equal text).
    package static func jsonText(_ payload: [String: Value]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(payload), as: UTF8.self)
    }

    /// A payload read back from its `jsonb` column's text.
    package static func payload(jsonText text: String) throws -> [String: Value] {
        try JSONDecoder().decode([String: Value].self, from: Data(text.utf8))
    }
}
