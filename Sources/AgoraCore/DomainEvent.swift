public import Foundation

/// Something that happened in a domain that other parts of the system react to: a like, a follow, a publish, a
/// price or stock change. Domains record events through `EventOutbox` (module AgoraEvents) in the transaction of
/// the change; the realtime layer delivers them to sockets and notifications.
public struct DomainEvent: Sendable, Equatable, Codable {
    /// What happened, as a stable dotted name (`product.liked`).
    public struct Kind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let productLiked = Kind(rawValue: "product.liked")
        public static let productUnliked = Kind(rawValue: "product.unliked")
        public static let productPublished = Kind(rawValue: "product.published")
        public static let productUnpublished = Kind(rawValue: "product.unpublished")
        public static let productArchived = Kind(rawValue: "product.archived")
        public static let productPriceChanged = Kind(rawValue: "product.price_changed")
        public static let productStockChanged = Kind(rawValue: "product.stock_changed")
        public static let userFollowed = Kind(rawValue: "user.followed")
        public static let userUnfollowed = Kind(rawValue: "user.unfollowed")
        /// One per seller order: subject the order, payload the seller order, buyer, seller, status and money.
        public static let orderCreated = Kind(rawValue: "order.created")
        public static let orderPaid = Kind(rawValue: "order.paid")
        public static let orderShipped = Kind(rawValue: "order.shipped")
        public static let orderDelivered = Kind(rawValue: "order.delivered")
        public static let orderCancelled = Kind(rawValue: "order.cancelled")
        /// A sale took a product to or below its low-stock threshold; subject the product, payload seller and stock.
        public static let productLowStock = Kind(rawValue: "product.low_stock")
        /// Something an administrator must look at (a paid amount that does not match its order, a refund the
        /// provider kept refusing); subject the order, payload `alert` (a code), `message` and the facts.
        public static let adminAlert = Kind(rawValue: "admin.alert")
    }

    /// One payload value: JSON scalars only, so every consumer can read a payload without knowing its producer.
    public enum Value: Sendable, Equatable, Codable {
        case string(String)
        case int(Int64)
        case bool(Bool)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .int(value)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .int(let value): try container.encode(value)
            case .bool(let value): try container.encode(value)
            }
        }
    }

    public var kind: Kind
    /// Who did it (nil for the system, e.g. an expiry job).
    public var actorID: UUID?
    /// What it happened to: the product, or the account followed.
    public var subjectID: UUID?
    /// The facts a consumer needs without a query, e.g. the old and new price.
    public var payload: [String: Value]

    public init(_ kind: Kind, actor: UUID?, subject: UUID?, payload: [String: Value] = [:]) {
        self.kind = kind
        self.actorID = actor
        self.subjectID = subject
        self.payload = payload
    }
}
