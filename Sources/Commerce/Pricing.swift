/// The money of a seller order, from the prices of its lines. Pure arithmetic, so it is unit-tested on its own.
///
/// Rules (all in integer minor units):
/// - goods = Σ unit price × quantity, as the seller entered the prices;
/// - VAT is computed once per seller order on its goods, rounded half up to the minor unit:
///   tax-inclusive prices: VAT = goods × r / (1 + r), subtotal = goods − VAT;
///   tax-exclusive prices: VAT = goods × r, subtotal = goods;
///   so the subtotal is always net of VAT and total = subtotal + VAT + shipping either way;
/// - shipping is flat per seller order holding at least one physical product (none for digital-only ones), and is
///   outside the VAT calculation;
/// - platform fee = subtotal × fee rate, rounded half up; seller earnings = subtotal − fee.
package struct Pricing: Sendable {
    package var vatRateBP: Int
    package var pricesIncludeVAT: Bool
    package var shippingFlat: Int64
    package var platformFeeBP: Int

    package init(vatRateBP: Int, pricesIncludeVAT: Bool, shippingFlat: Int64, platformFeeBP: Int) {
        self.vatRateBP = vatRateBP
        self.pricesIncludeVAT = pricesIncludeVAT
        self.shippingFlat = shippingFlat
        self.platformFeeBP = platformFeeBP
    }

    package init(settings: CommerceSettings, currency: String) {
        self.init(
            vatRateBP: settings.vatRates[currency] ?? 0, pricesIncludeVAT: settings.pricesIncludeVAT,
            shippingFlat: settings.shippingFlat[currency] ?? 0, platformFeeBP: settings.platformFeeBP
        )
    }

    /// A seller order's amounts.
    package struct Totals: Sendable, Equatable {
        package var subtotal: Int64
        package var vat: Int64
        package var shipping: Int64
        package var platformFee: Int64
        package var sellerEarnings: Int64
        package var total: Int64 { subtotal + vat + shipping }

        package static let zero = Totals(subtotal: 0, vat: 0, shipping: 0, platformFee: 0, sellerEarnings: 0)

        package static func + (lhs: Totals, rhs: Totals) -> Totals {
            Totals(
                subtotal: lhs.subtotal + rhs.subtotal, vat: lhs.vat + rhs.vat, shipping: lhs.shipping + rhs.shipping,
                platformFee: lhs.platformFee + rhs.platformFee, sellerEarnings: lhs.sellerEarnings + rhs.sellerEarnings
            )
        }
    }

    /// The totals of goods worth `goods` (prices as entered, at most `maxGoods`), shipped when `hasPhysical`.
    package func totals(goods: Int64, hasPhysical: Bool) -> Totals {
        let vat: Int64
        let subtotal: Int64
        if pricesIncludeVAT {
            vat = Self.divideRoundingHalfUp(Int128(goods) * Int128(vatRateBP), by: 10_000 + Int128(vatRateBP))
            subtotal = goods - vat
        } else {
            vat = Self.divideRoundingHalfUp(Int128(goods) * Int128(vatRateBP), by: 10_000)
            subtotal = goods
        }
        let fee = Self.divideRoundingHalfUp(Int128(subtotal) * Int128(platformFeeBP), by: 10_000)
        return Totals(subtotal: subtotal, vat: vat, shipping: hasPhysical ? shippingFlat : 0, platformFee: fee, sellerEarnings: subtotal - fee)
    }

    /// The most goods one order may hold, in minor units: with VAT of up to 100% and shipping on top, every total
    /// computed from it still fits in an Int64.
    package static let maxGoods: Int64 = Int64.max / 4

    /// `price × quantity`, or nil when it is more than `maxGoods` (or negative input): never a trap.
    package static func lineTotal(price: Int64, quantity: Int) -> Int64? {
        guard price >= 0, quantity >= 0 else { return nil }
        let (product, overflow) = price.multipliedReportingOverflow(by: Int64(quantity))
        return overflow || product > maxGoods ? nil : product
    }

    /// The sum of line totals, or nil when it is more than `maxGoods`.
    package static func goods(_ lines: [(price: Int64, quantity: Int)]) -> Int64? {
        var sum: Int64 = 0
        for line in lines {
            guard let total = lineTotal(price: line.price, quantity: line.quantity) else { return nil }
            let (next, overflow) = sum.addingReportingOverflow(total)
            guard !overflow, next <= maxGoods else { return nil }
            sum = next
        }
        return sum
    }

    /// `value / divisor` for non-negative values, halves rounded up (0.5 → 1).
    static func divideRoundingHalfUp(_ value: Int128, by divisor: Int128) -> Int64 {
        Int64((value * 2 + divisor) / (divisor * 2))
    }
}
