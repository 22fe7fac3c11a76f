public import AgoraCore
public import Foundation

/// The buyer's order.
public enum OrderStatus: String, Sendable, Codable {
    /// Stock is reserved; waiting for the provider.
    case pendingPayment = "pending_payment"
    case paid
    /// Ended unpaid: payment failed, the reservation expired, or the buyer gave up.
    case cancelled
    /// Paid, then every seller order was cancelled and the money given back.
    case refunded
}

/// A seller's part of an order, with its own life: paid → shipped → delivered, or cancelled before shipping.
/// Digital-only seller orders are delivered at payment (the items are the delivery).
public enum SellerOrderStatus: String, Sendable, Codable, CaseIterable {
    case pendingPayment = "pending_payment"
    case paid, shipped, delivered, cancelled

    /// The state machine: which moves are legal from here.
    public func canMove(to next: SellerOrderStatus) -> Bool {
        switch (self, next) {
        case (.pendingPayment, .paid), (.pendingPayment, .cancelled): true
        case (.paid, .shipped), (.paid, .cancelled), (.paid, .delivered): true
        case (.shipped, .delivered): true
        default: false
        }
    }
}

/// Who changed an order's state.
public enum OrderActor: Sendable, Equatable {
    case buyer(UUID), seller(UUID), admin(UUID), system, provider

    var kind: String {
        switch self {
        case .buyer: "buyer"
        case .seller: "seller"
        case .admin: "admin"
        case .system: "system"
        case .provider: "provider"
        }
    }

    var accountID: UUID? {
        switch self {
        case .buyer(let id), .seller(let id), .admin(let id): id
        case .system, .provider: nil
        }
    }
}

/// Where a physical order goes.
public struct ShippingAddress: Codable, Sendable, Equatable {
    public var name: String
    public var line1: String
    public var line2: String?
    public var city: String
    public var region: String?
    public var postalCode: String
    /// ISO 3166-1 alpha-2, upper case.
    public var country: String
    public var phone: String?

    public init(name: String, line1: String, line2: String? = nil, city: String, region: String? = nil, postalCode: String, country: String, phone: String? = nil) {
        self.name = name
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.region = region
        self.postalCode = postalCode
        self.country = country
        self.phone = phone
    }

    /// Every problem, by field (`shippingAddress.city`).
    func problems() -> [String: String] {
        var problems: [String: String] = [:]
        func text(_ value: String?, _ field: String, required: Bool, max: Int) {
            let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if trimmed.isEmpty {
                if required { problems["shippingAddress.\(field)"] = "is required" }
            } else if trimmed.count > max {
                problems["shippingAddress.\(field)"] = "must be at most \(max) characters"
            }
        }
        text(name, "name", required: true, max: 100)
        text(line1, "line1", required: true, max: 200)
        text(line2, "line2", required: false, max: 200)
        text(city, "city", required: true, max: 100)
        text(region, "region", required: false, max: 100)
        text(postalCode, "postalCode", required: true, max: 20)
        text(phone, "phone", required: false, max: 30)
        if !(country.utf8.count == 2 && country.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) {
            problems["shippingAddress.country"] = "must be an ISO 3166 two-letter code such as ZA"
        }
        return problems
    }
}

/// An order as its buyer sees it.
public struct OrderView: Codable, Sendable, Equatable {
    public struct Payment: Codable, Sendable, Equatable {
        public var provider: String
        /// Where to pay, while the order waits for payment.
        public var url: String?
    }

    public struct HistoryEntry: Codable, Sendable, Equatable {
        public var sellerOrderId: UUID?
        public var from: String?
        public var to: String
        public var actor: String
        public var note: String?
        public var at: Date
    }

    public var id: UUID
    public var status: OrderStatus
    public var currency: String
    public var subtotal: Money
    public var vat: Money
    public var shipping: Money
    public var total: Money
    public var refunded: Money
    /// VAT rate in percent (15 for 15%) and whether the product prices included it.
    public var vatRate: Double
    public var pricesIncludeVat: Bool
    public var shippingAddress: ShippingAddress?
    public var payment: Payment
    /// Until when the stock is held for payment.
    public var reservedUntil: Date
    public var createdAt: Date
    public var paidAt: Date?
    public var cancelledAt: Date?
    public var cancelReason: String?
    public var sellerOrders: [SellerOrderView]
    public var history: [HistoryEntry]?
    /// The refunds Agora asked the provider for, oldest first: what went back, and whether the provider has it yet.
    public var refunds: [RefundView]?
}

/// A refund of (part of) an order, as its buyer sees it.
public struct RefundView: Codable, Sendable, Equatable {
    public var id: UUID
    public var amount: Money
    /// `buyer_cancel` or `late_payment`.
    public var reason: String
    /// `pending` until the provider accepted it (retried meanwhile), then `succeeded`; `failed` once retries ran out
    /// (an administrator is alerted).
    public var status: String
    /// The seller orders the money came back from.
    public var sellerOrderIds: [UUID]
    public var createdAt: Date
    public var completedAt: Date?
}

/// A seller order, as its buyer or its seller sees it.
public struct SellerOrderView: Codable, Sendable, Equatable {
    public struct Party: Codable, Sendable, Equatable {
        public var id: UUID
        public var username: String
        public var displayName: String

        init(id: UUID, username: String, displayName: String) {
            self.id = id
            self.username = username
            self.displayName = displayName
        }

        init(_ account: AccountSummary) {
            self.init(id: account.id, username: account.username, displayName: account.displayName)
        }
    }

    public var id: UUID
    public var orderId: UUID
    public var status: SellerOrderStatus
    public var seller: Party
    /// Set on the seller's view: who bought.
    public var buyer: Party?
    public var subtotal: Money
    public var vat: Money
    public var shipping: Money
    public var total: Money
    /// The seller's side of the money; on the seller's view only.
    public var platformFee: Money?
    public var sellerEarnings: Money?
    public var refunded: Money
    public var carrier: String?
    public var trackingNumber: String?
    /// On the seller's view of a seller order with physical products.
    public var shippingAddress: ShippingAddress?
    public var createdAt: Date
    public var shippedAt: Date?
    public var deliveredAt: Date?
    public var cancelledAt: Date?
    public var lines: [OrderLineView]
}

/// A line of an order.
public struct OrderLineView: Codable, Sendable, Equatable {
    public var id: UUID
    public var productId: UUID
    public var title: String
    public var type: String
    public var unitPrice: Money
    public var quantity: Int
    public var lineTotal: Money
    /// The delivered keys, credentials or links: on the buyer's view of a paid order only.
    public var items: [String]?
}

/// A row of the buyer's order list.
public struct OrderSummary: Codable, Sendable, Equatable {
    public var id: UUID
    public var status: OrderStatus
    public var total: Money
    public var itemCount: Int
    public var title: String
    public var sellerOrderStatuses: [SellerOrderStatus]
    public var createdAt: Date
}
