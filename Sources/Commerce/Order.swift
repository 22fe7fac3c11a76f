package import AgoraCore
package import Foundation

/// The buyer's order.
package enum OrderStatus: String, Sendable, Codable {
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
package enum SellerOrderStatus: String, Sendable, Codable, CaseIterable {
    case pendingPayment = "pending_payment"
    case paid, shipped, delivered, cancelled

    /// The state machine: which moves are legal from here.
    package func canMove(to next: SellerOrderStatus) -> Bool {
        switch (self, next) {
        case (.pendingPayment, .paid), (.pendingPayment, .cancelled): true
        case (.paid, .shipped), (.paid, .cancelled), (.paid, .delivered): true
        case (.shipped, .delivered): true
        default: false
        }
    }
}

/// Who changed an order's state.
package enum OrderActor: Sendable, Equatable {
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

/// An order as its buyer sees it.
package struct OrderView: Codable, Sendable, Equatable {
    package struct Payment: Codable, Sendable, Equatable {
        package var provider: String
        /// Where to pay, while the order waits for payment.
        package var url: String?
        /// With Solana Pay: one transfer request per seller order, each to its seller's wallet.
        package var solanaPay: [SolanaTransferView]? = nil
    }

    package struct HistoryEntry: Codable, Sendable, Equatable {
        package var sellerOrderId: UUID?
        package var from: String?
        package var to: String
        package var actor: String
        package var note: String?
        package var at: Date
    }

    package var id: UUID
    package var status: OrderStatus
    package var currency: String
    package var subtotal: Money
    package var vat: Money
    package var shipping: Money
    package var total: Money
    package var refunded: Money
    /// VAT rate in percent (15 for 15%) and whether the product prices included it.
    package var vatRate: Double
    package var pricesIncludeVat: Bool
    package var shippingAddress: ShippingAddress?
    package var payment: Payment
    /// Until when the stock is held for payment.
    package var reservedUntil: Date
    package var createdAt: Date
    package var paidAt: Date?
    package var cancelledAt: Date?
    package var cancelReason: String?
    package var sellerOrders: [SellerOrderView]
    package var history: [HistoryEntry]?
    /// The refunds Agora asked the provider for, oldest first: what went back, and whether the provider has it yet.
    package var refunds: [RefundView]?
}

/// A refund of (part of) an order, as its buyer sees it.
package struct RefundView: Codable, Sendable, Equatable {
    package var id: UUID
    package var amount: Money
    /// `buyer_cancel`, `late_payment`, `seller_cancel`, `seller_refund` or `admin_refund`.
    package var reason: String
    /// Why, in the words of the seller or administrator who refunded.
    package var note: String?
    /// `pending` until the provider accepted it (retried meanwhile), then `succeeded`; `failed` once retries ran out
    /// (an administrator is alerted).
    package var status: String
    /// The seller orders the money came back from.
    package var sellerOrderIds: [UUID]
    package var createdAt: Date
    package var completedAt: Date?
}

/// A seller order, as its buyer or its seller sees it.
package struct SellerOrderView: Codable, Sendable, Equatable {
    package struct Party: Codable, Sendable, Equatable {
        package var id: UUID
        package var username: String
        package var displayName: String

        init(id: UUID, username: String, displayName: String) {
            self.id = id
            self.username = username
            self.displayName = displayName
        }

        init(_ account: AccountSummary) {
            self.init(id: account.id, username: account.username, displayName: account.displayName)
        }
    }

    package var id: UUID
    package var orderId: UUID
    package var status: SellerOrderStatus
    package var seller: Party
    /// Set on the seller's view: who bought.
    package var buyer: Party?
    package var subtotal: Money
    package var vat: Money
    package var shipping: Money
    package var total: Money
    /// The seller's side of the money; on the seller's view only.
    package var platformFee: Money?
    package var sellerEarnings: Money?
    package var refunded: Money
    package var carrier: String?
    package var trackingNumber: String?
    /// On the seller's view of a seller order with physical products.
    package var shippingAddress: ShippingAddress?
    package var createdAt: Date
    package var shippedAt: Date?
    package var deliveredAt: Date?
    package var cancelledAt: Date?
    package var lines: [OrderLineView]
}

/// A line of an order.
package struct OrderLineView: Codable, Sendable, Equatable {
    package var id: UUID
    package var productId: UUID
    package var title: String
    package var type: String
    package var unitPrice: Money
    package var quantity: Int
    package var lineTotal: Money
    /// The delivered keys, credentials or links: on the buyer's view of a paid order only.
    package var items: [String]?
}

/// A row of the buyer's order list.
package struct OrderSummary: Codable, Sendable, Equatable {
    package var id: UUID
    package var status: OrderStatus
    package var total: Money
    package var itemCount: Int
    package var title: String
    package var sellerOrderStatuses: [SellerOrderStatus]
    package var createdAt: Date
}

/// A Solana Pay transfer request of one seller order, as its buyer sees it.
package struct SolanaTransferView: Codable, Sendable, Equatable {
    package var sellerOrderId: UUID
    /// The seller's wallet.
    package var recipient: String
    /// `SOL`, or the SPL token's symbol, with its mint.
    package var token: String
    package var mint: String?
    package var decimals: Int
    /// In whole tokens, as the link writes it (`12.5`), and in the token's smallest unit.
    package var amount: String
    package var amountAtomic: Int64
    package var reference: String
    /// The `solana:` link (and what the QR code holds).
    package var url: String
    /// One unit of the order's currency in tokens, where that rate came from and when, as the buyer was shown it.
    package var rate: String
    package var rateSource: String
    package var rateAt: Date
    /// `pending`, `confirming` (a transfer is confirmed, not yet finalized), `paid` or `expired`.
    package var status: String
    /// The transaction that paid (or is confirming).
    package var signature: String?
}
