import Testing

@testable import Commerce

/// Amounts come from prices × quantities a client chose: arithmetic on them is checked, never a trap.
struct PricingOverflowTests {
    @Test func aLineTotalThatWouldOverflowIsRefusedNotATrap() {
        #expect(Pricing.lineTotal(price: 1_000, quantity: 3) == 3_000)
        #expect(Pricing.lineTotal(price: Int64.max, quantity: 2) == nil)
        #expect(Pricing.lineTotal(price: Pricing.maxGoods, quantity: 1) == Pricing.maxGoods)
        #expect(Pricing.lineTotal(price: Pricing.maxGoods, quantity: 2) == nil)
        #expect(Pricing.lineTotal(price: -1, quantity: 2) == nil)
    }

    @Test func aSumThatWouldOverflowIsRefusedNotATrap() {
        #expect(Pricing.goods([(100, 2), (50, 1)]) == 250)
        #expect(Pricing.goods([(Pricing.maxGoods, 1), (1, 1)]) == nil)
        #expect(Pricing.goods(Array(repeating: (Int64.max / 8, 1), count: 9)) == nil)
    }

    @Test func theLargestOrderStillPricesWithoutATrap() {
        // VAT of 100% added on top, the largest shipping and fee: every total still fits in an Int64.
        let pricing = Pricing(vatRateBP: 10_000, pricesIncludeVAT: false, shippingFlat: 100_000_000, platformFeeBP: 10_000)
        let totals = pricing.totals(goods: Pricing.maxGoods, hasPhysical: true)
        #expect(totals.total == Pricing.maxGoods * 2 + 100_000_000)
        #expect(totals.platformFee + totals.sellerEarnings == totals.subtotal)
    }
}
