import Foundation

/// Settings of carts, checkout, payments, fulfilment and payouts; every one is an `AGORA_…` variable (README).
package struct CommerceSettings: Sendable {
    /// How long a checkout holds stock before the sweeper releases it (`AGORA_RESERVATION_TTL`, 15 minutes).
    package var reservationTTL: Duration
    /// VAT in basis points per currency (`AGORA_VAT_RATES`, `ZAR=15`; 1500 bp). A currency not listed has no VAT.
    package var vatRates: [String: Int]
    /// Whether product prices include VAT (`AGORA_PRICES_INCLUDE_VAT`, true).
    package var pricesIncludeVAT: Bool
    /// Flat shipping per seller order with at least one physical product, in minor units per currency
    /// (`AGORA_SHIPPING_FLAT`, `ZAR=6000`). A currency not listed ships free.
    package var shippingFlat: [String: Int64]
    /// The platform's share of each seller's subtotal, in basis points (`AGORA_PLATFORM_FEE_BP`, 1000 = 10%).
    package var platformFeeBP: Int
    /// A shipped seller order counts as delivered this long after shipping unless the buyer or seller says so
    /// first (`AGORA_AUTO_COMPLETE_DAYS`, 14).
    package var autoCompleteAfter: Duration
    /// How long after delivery a buyer may open a dispute (`AGORA_DISPUTE_WINDOW_DAYS`, 14); a shipped seller order
    /// may be disputed at any time (the parcel may never come).
    package var disputeWindow: Duration = .seconds(14 * 86_400)
    /// Addresses in one buyer's address book (`AGORA_ADDRESS_BOOK_MAX`, 10).
    package var maxSavedAddresses = 10
    /// How often the sweeper looks for expired reservations and deliveries to auto-complete (`AGORA_COMMERCE_SWEEP_MS`, 10 s).
    package var sweepInterval: Duration
    /// Distinct products in a cart (`AGORA_CART_MAX_ITEMS`, 50) and units of one product (`AGORA_CART_MAX_QUANTITY`, 100).
    package var maxCartItems: Int
    package var maxQuantity: Int
    /// Lines in one inventory upload (`AGORA_INVENTORY_MAX_LINES`, 10,000) and bytes in one line (1,000).
    package var maxInventoryLines: Int
    package var maxInventoryItemLength: Int
    /// Page sizes of order, review and payout lists.
    package var defaultPageSize: Int
    package var maxPageSize: Int
    /// Base of the URLs the buyer is sent back to after paying (`AGORA_PUBLIC_URL`).
    package var publicURL: String
    /// Solana Pay: off unless an RPC endpoint is set (`AGORA_SOLANA_*`).
    package var solana = SolanaPaySettings()

    package init(
        reservationTTL: Duration = .seconds(900), vatRates: [String: Int] = ["ZAR": 1500], pricesIncludeVAT: Bool = true,
        shippingFlat: [String: Int64] = ["ZAR": 6000], platformFeeBP: Int = 1000, autoCompleteAfter: Duration = .seconds(14 * 86_400),
        sweepInterval: Duration = .seconds(10), maxCartItems: Int = 50, maxQuantity: Int = 100, maxInventoryLines: Int = 10_000,
        maxInventoryItemLength: Int = 1000, defaultPageSize: Int = 24, maxPageSize: Int = 100, publicURL: String = "http://localhost:8080"
    ) {
        self.reservationTTL = reservationTTL
        self.vatRates = vatRates
        self.pricesIncludeVAT = pricesIncludeVAT
        self.shippingFlat = shippingFlat
        self.platformFeeBP = platformFeeBP
        self.autoCompleteAfter = autoCompleteAfter
        self.sweepInterval = sweepInterval
        self.maxCartItems = maxCartItems
        self.maxQuantity = maxQuantity
        self.maxInventoryLines = maxInventoryLines
        self.maxInventoryItemLength = maxInventoryItemLength
        self.defaultPageSize = defaultPageSize
        self.maxPageSize = maxPageSize
        self.publicURL = publicURL
    }

    /// Parses `ZAR=15,EUR=21.5` (percent, up to two decimals) into basis points per currency.
    package static func parseRates(_ text: String) -> [String: Int]? {
        var rates: [String: Int] = [:]
        for item in text.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, isCurrency(pair[0]), let bp = basisPoints(pair[1]), bp <= 10_000 else { return nil }
            rates[pair[0]] = bp
        }
        return rates
    }

    /// Parses `ZAR=6000,USD=500` (minor units) into amounts per currency.
    package static func parseAmounts(_ text: String) -> [String: Int64]? {
        var amounts: [String: Int64] = [:]
        for item in text.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, isCurrency(pair[0]), let amount = Int64(pair[1]), (0...100_000_000).contains(amount) else { return nil }
            amounts[pair[0]] = amount
        }
        return amounts
    }

    static func isCurrency(_ code: String) -> Bool {
        code.utf8.count == 3 && code.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
    }

    /// "15" → 1500, "21.5" → 2150, "7.25" → 725; more than two decimals is refused.
    static func basisPoints(_ text: String) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int(parts[0]), whole >= 0 else { return nil }
        var fraction = 0
        if parts.count == 2 {
            guard (1...2).contains(parts[1].count), parts[1].allSatisfy(\.isASCII), let value = Int(parts[1]) else { return nil }
            fraction = parts[1].count == 1 ? value * 10 : value
        }
        return whole * 100 + fraction
    }
}
