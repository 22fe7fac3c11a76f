import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct InventoryRotationTests {
    // 32-byte keys, base64 (a 64-digit hex key also parses as base64, of the wrong length).
    static let k1 = "Hx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8="
    static let k2 = "Li4uLi4uLi4uLi4uLi4uLi4uLi4uLi4uLi4uLi4uLi4="

    /// Items stocked under key K1 are still found as duplicates after a rotation to K2 (K1 kept as previous), and
    /// still open for their buyer.
    @Test func duplicatesAreFoundAcrossAKeyRotation() async throws {
        try await TestDatabase.withSchema { _, database in
            // Two instances of the app on one schema: before and after the rotation.
            func application(_ keys: [String: String]) throws -> (any ApplicationProtocol, AgoraServices) {
                var config = try TestApp.config(Shop.overrides.merging(keys) { _, new in new })
                config.postgres.searchPath = database.searchPath
                return try buildApplication(config: config, logger: TestServices.logger)
            }
            let (before, beforeServices) = try application(["AGORA_INVENTORY_KEY": Self.k1])
            let product = try await before.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: beforeServices))
                let seller = try await shop.market.seller("rotator")
                return try await shop.product(seller, ["title": "Rotating key", "type": "key", "price": ["amount": 1_000, "currency": "ZAR"]],
                                              items: ["ROT-0001", "ROT-0002"])
            }

            let (after, afterServices) = try application(["AGORA_INVENTORY_KEY": Self.k2, "AGORA_INVENTORY_PREVIOUS_KEYS": Self.k1])
            try await after.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: afterServices))
                let seller = try Grant(try await shop.api.login("rotator@example.com"))
                let upload = try await shop.upload("ROT-0003\nROT-0002\nROT-0001\nROT-0003", to: product, as: seller)
                #expect(upload.status == .created, "\(upload.raw)")
                #expect(upload["added"] as? Int == 1 && upload["alreadyStocked"] as? [Int] == [2, 3] && upload["duplicateLines"] as? [Int] == [4], "\(upload.raw)")
                let counts = try await shop.api.call(.get, "/api/products/\(product)/inventory", bearer: seller.accessToken)
                #expect(counts["available"] as? Int == 3 && (counts["keyIds"] as? [String])?.count == 2, "\(counts.raw)")

                // Old and new items open for their buyer.
                let buyer = try await shop.buyer("rotationbuyer")
                let order = try await shop.order(product, 3, as: buyer)
                try await shop.pay(order, as: buyer)
                let shown = try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
                #expect(["ROT-0001", "ROT-0002", "ROT-0003"].allSatisfy { shown.raw.contains($0) }, "\(shown.raw)")
            }
        }
    }
}
