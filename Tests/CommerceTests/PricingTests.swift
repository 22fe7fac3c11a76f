import Foundation
import Testing

@testable import Commerce

struct PricingTests {
    let inclusive = Pricing(vatRateBP: 1500, pricesIncludeVAT: true, shippingFlat: 6000, platformFeeBP: 1000)
    let exclusive = Pricing(vatRateBP: 1500, pricesIncludeVAT: false, shippingFlat: 6000, platformFeeBP: 1000)

    @Test func taxInclusivePricesHoldTheirVAT() {
        // R115.00 including 15% VAT is R100.00 net plus R15.00 VAT.
        let totals = inclusive.totals(goods: 11_500, hasPhysical: true)
        #expect(totals == .init(subtotal: 10_000, vat: 1_500, shipping: 6_000, platformFee: 1_000, sellerEarnings: 9_000))
        #expect(totals.total == 11_500 + 6_000)
    }

    @Test func taxExclusivePricesAddVAT() {
        let totals = exclusive.totals(goods: 10_000, hasPhysical: false)
        #expect(totals == .init(subtotal: 10_000, vat: 1_500, shipping: 0, platformFee: 1_000, sellerEarnings: 9_000))
        #expect(totals.total == 11_500)
    }

    @Test func halvesRoundUpOncePerSellerOrder() {
        // 10 × 0.15 / 1.15 = 1.304… → 1; 3 × 0.15 = 0.45 → 0; 5 × 0.15 = 0.75 → 1; 0.5 rounds up.
        #expect(inclusive.totals(goods: 10, hasPhysical: false).vat == 1)
        #expect(exclusive.totals(goods: 3, hasPhysical: false).vat == 0)
        #expect(exclusive.totals(goods: 5, hasPhysical: false).vat == 1)
        #expect(Pricing.divideRoundingHalfUp(5, by: 10) == 1)
        #expect(Pricing.divideRoundingHalfUp(4, by: 10) == 0)
        // Fee: 10% of 15 is 1.5 → 2.
        #expect(exclusive.totals(goods: 15, hasPhysical: false).platformFee == 2)
    }

    @Test func theIdentitiesHoldForEveryAmount() {
        for pricing in [inclusive, exclusive, Pricing(vatRateBP: 2150, pricesIncludeVAT: true, shippingFlat: 0, platformFeeBP: 1234)] {
            for goods in Array(stride(from: Int64(0), through: 5_000, by: 7)) + [99_999_999_999, 100_000_000_000 * 1000] {
                let t = pricing.totals(goods: goods, hasPhysical: goods % 2 == 0)
                #expect(t.total == t.subtotal + t.vat + t.shipping)
                #expect(t.platformFee + t.sellerEarnings == t.subtotal)
                #expect(t.vat >= 0 && t.subtotal >= 0 && t.sellerEarnings >= 0)
                if pricing.pricesIncludeVAT { #expect(t.subtotal + t.vat == goods) }
            }
        }
    }

    @Test func noShippingForDigitalOnlySellerOrders() {
        #expect(inclusive.totals(goods: 1000, hasPhysical: false).shipping == 0)
        #expect(inclusive.totals(goods: 1000, hasPhysical: true).shipping == 6000)
    }

    @Test func settingsParseRatesAndAmounts() {
        #expect(CommerceSettings.parseRates("ZAR=15,EUR=21.5, GBP = 7.25") == ["ZAR": 1500, "EUR": 2150, "GBP": 725])
        #expect(CommerceSettings.parseRates("ZAR=15.125") == nil)
        #expect(CommerceSettings.parseRates("zar=15") == nil)
        #expect(CommerceSettings.parseRates("ZAR=101") == nil)
        #expect(CommerceSettings.parseAmounts("ZAR=6000,USD=500") == ["ZAR": 6000, "USD": 500])
        #expect(CommerceSettings.parseAmounts("ZAR=-1") == nil)
    }

    @Test func sellerOrderStateMachine() {
        #expect(SellerOrderStatus.paid.canMove(to: .shipped))
        #expect(SellerOrderStatus.shipped.canMove(to: .delivered))
        #expect(!SellerOrderStatus.pendingPayment.canMove(to: .shipped))
        #expect(!SellerOrderStatus.shipped.canMove(to: .cancelled))
        #expect(!SellerOrderStatus.delivered.canMove(to: .shipped))
        #expect(!SellerOrderStatus.cancelled.canMove(to: .paid))
    }

    @Test func inventoryUploadsParseTextCSVAndJSON() throws {
        let text = try InventoryService.inventoryLines(Array("AAA-1\n\n  BBB-2  \r\nAAA-1\n".utf8), contentType: "text/plain; charset=utf-8")
        #expect(text.map(\.line) == [1, 3, 4] && text.map(\.item) == ["AAA-1", "BBB-2", "AAA-1"])
        let csv = try InventoryService.inventoryLines(Array("key,note\n\"K,1\",first\nK2,second\n\"K\"\"3\"\n".utf8), contentType: "text/csv")
        #expect(csv.map(\.item) == ["K,1", "K2", "K\"3"])
        let json = try InventoryService.inventoryLines(Array(#"{"items":["x","y"]}"#.utf8), contentType: "application/json")
        #expect(json.map(\.item) == ["x", "y"])
        #expect(throws: (any Error).self) { try InventoryService.inventoryLines([0xFF, 0xFE], contentType: "text/plain") }
        #expect(throws: (any Error).self) { try InventoryService.inventoryLines(Array("x".utf8), contentType: "image/png") }
    }

    @Test func vaultSealsPerProductAndOpensOldKeys() throws {
        let old = InventoryVault(key: Array(repeating: 1, count: 32))
        let product = UUIDs.a
        let sealed = try old.seal("KEY-123", product: product)
        #expect(!sealed.containsSubsequence(Array("KEY-123".utf8)))
        #expect(try old.open(sealed, keyID: old.currentKeyID, product: product) == "KEY-123")
        // Another product's id as associated data: the box does not open.
        #expect(throws: (any Error).self) { try old.open(sealed, keyID: old.currentKeyID, product: UUIDs.b) }
        // After a rotation the old key still opens what it sealed.
        let rotated = InventoryVault(key: Array(repeating: 2, count: 32), previous: [Array(repeating: 1, count: 32)])
        #expect(rotated.currentKeyID != old.currentKeyID)
        #expect(try rotated.open(sealed, keyID: old.currentKeyID, product: product) == "KEY-123")
        #expect(old.fingerprint("KEY-123") == old.fingerprint("KEY-123") && old.fingerprint("KEY-123") != old.fingerprint("KEY-124"))
    }
}


enum UUIDs {
    static let a = UUID(uuidString: "00000000-0000-0000-0000-00000000000a")!
    static let b = UUID(uuidString: "00000000-0000-0000-0000-00000000000b")!
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
