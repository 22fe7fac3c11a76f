import AgoraApp
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// A buyer's address book through the API, against the real PostgreSQL: several addresses, one default, chosen at
/// checkout and copied into the order.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct AddressBookTests {
    /// `Shop.address` with `fields` changed; a nil leaves the field out.
    static func home(_ fields: [String: Any?] = [:]) -> [String: Any] { Shop.address.merging(fields) { $1 }.compactMapValues { $0 } }

    @Test func severalAddressesOneDefaultAndOnlyTheOwnersOwn() async throws {
        try await TestApp.withApplication(Shop.overrides.merging(["AGORA_ADDRESS_BOOK_MAX": "3"]) { $1 }) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let buyer = try await shop.buyer("naledi")
                let other = try await shop.buyer("pieter")
                #expect(try await shop.api.call(.get, "/api/addresses").status == .unauthorized)
                let empty = try await shop.api.call(.get, "/api/addresses", bearer: buyer.accessToken)
                #expect((empty["items"] as? [Any])?.isEmpty == true && empty.body.keys.contains("nextCursor"))

                // The first address is the default, stored normalized (province by name, trimmed).
                let first = try await shop.api.call(.post, "/api/addresses", json: ["label": " Home ", "address": Self.home(["region": "wc", "name": " Naledi M "])],
                                                    bearer: buyer.accessToken)
                try #require(first.status == .created, "\(first.raw)")
                let homeID = try #require(first["id"] as? String)
                #expect(first.headers[.location] == "/api/addresses/\(homeID.lowercased())")
                #expect(first["isDefault"] as? Bool == true && first["label"] as? String == "Home")
                let stored = try #require(first["address"] as? [String: Any])
                #expect(stored["region"] as? String == "Western Cape" && stored["name"] as? String == "Naledi M")

                // A second one is not the default unless asked; a third asks and takes it over.
                let work = try await shop.api.call(.post, "/api/addresses", json: ["label": "Work", "address": Self.home(["line1": "1 Loop Street"])],
                                                   bearer: buyer.accessToken)
                #expect(work.status == .created && work["isDefault"] as? Bool == false)
                let workID = try #require(work["id"] as? String)
                let gran = try await shop.api.call(.post, "/api/addresses", json: ["label": "Gran", "isDefault": true,
                                                   "address": Self.home(["city": "Durban", "region": "KZN", "postalCode": "4001"])], bearer: buyer.accessToken)
                #expect(gran.status == .created && gran["isDefault"] as? Bool == true)
                let granID = try #require(gran["id"] as? String)
                var list = try await shop.api.call(.get, "/api/addresses", bearer: buyer.accessToken)
                var items = list["items"] as? [[String: Any]] ?? []
                #expect(items.map { $0["id"] as? String } == [granID, homeID, workID], "the default first, then oldest first")
                #expect(items.filter { $0["isDefault"] as? Bool == true }.count == 1)

                // The book is full at AGORA_ADDRESS_BOOK_MAX; nothing is written.
                let full = try await shop.api.call(.post, "/api/addresses", json: ["address": Self.home()], bearer: buyer.accessToken)
                #expect(full.status == .conflict && full.code == "address_book_full")

                // Bad input is a 422 naming each field, and changes nothing.
                let bad = try await shop.api.call(.put, "/api/addresses/\(workID)", json: ["label": "Work\u{202E}", "address": Self.home(["postalCode": "80011", "region": "Transvaal"])],
                                                  bearer: buyer.accessToken)
                #expect(bad.status == .unprocessableContent && Set(bad.fields.keys) == ["label", "address.postalCode", "address.region"], "\(bad.raw)")
                let missing = try await shop.api.call(.post, "/api/addresses", json: ["label": "x"], bearer: buyer.accessToken)
                #expect(missing.status == .badRequest || missing.status == .unprocessableContent, "\(missing.raw)")

                // Someone else's address is not found, for every verb; and nothing of it changed.
                for (method, path) in [(HTTPRequest.Method.get, ""), (.put, ""), (.delete, ""), (.post, "/default")] {
                    let answer = try await shop.api.call(method, "/api/addresses/\(homeID)\(path)", json: method == .put ? ["address": Self.home()] : nil,
                                                         bearer: other.accessToken)
                    #expect(answer.status == .notFound && answer.code == "address_not_found", "\(method) \(path): \(answer.raw)")
                }
                #expect(try await shop.api.call(.get, "/api/addresses/not-a-uuid", bearer: buyer.accessToken).status == .notFound)

                // Replacing keeps the default where it is; the default cannot be unset, only moved.
                let replaced = try await shop.api.call(.put, "/api/addresses/\(workID)", json: ["label": "Office", "address": Self.home(["line1": "2 Loop Street"])],
                                                       bearer: buyer.accessToken)
                #expect(replaced.status == .ok && replaced["label"] as? String == "Office" && replaced["isDefault"] as? Bool == false)
                #expect((replaced["address"] as? [String: Any])?["line1"] as? String == "2 Loop Street")
                let unset = try await shop.api.call(.put, "/api/addresses/\(granID)", json: ["isDefault": false, "address": Self.home()], bearer: buyer.accessToken)
                #expect(unset.status == .unprocessableContent && unset.code == "default_required")
                let moved = try await shop.api.call(.post, "/api/addresses/\(workID)/default", bearer: buyer.accessToken)
                #expect(moved.status == .ok && moved["isDefault"] as? Bool == true)

                // Deleting the default makes the oldest remaining one the default.
                #expect(try await shop.api.call(.delete, "/api/addresses/\(workID)", bearer: buyer.accessToken).status == .noContent)
                #expect(try await shop.api.call(.delete, "/api/addresses/\(workID)", bearer: buyer.accessToken).status == .notFound)
                list = try await shop.api.call(.get, "/api/addresses", bearer: buyer.accessToken)
                items = list["items"] as? [[String: Any]] ?? []
                #expect(items.map { $0["id"] as? String } == [homeID, granID] && items.first?["isDefault"] as? Bool == true)
            }
        }
    }

    @Test func concurrentSavesKeepOneDefaultAndTheLimit() async throws {
        try await TestApp.withApplication(Shop.overrides.merging(["AGORA_ADDRESS_BOOK_MAX": "4"]) { $1 }) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let buyer = try await shop.buyer("zanele")
                let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<8 {
                        group.addTask {
                            let saved = try await shop.api.call(.post, "/api/addresses", json: ["isDefault": true, "address": Self.home(["line1": "\(index) Long Street"])],
                                                                bearer: buyer.accessToken)
                            return Int(saved.status.code)
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(answers.filter { $0 == 201 }.count == 4 && answers.filter { $0 == 409 }.count == 4, "\(answers)")
                let items = try await shop.api.call(.get, "/api/addresses", bearer: buyer.accessToken)["items"] as? [[String: Any]] ?? []
                #expect(items.count == 4 && items.filter { $0["isDefault"] as? Bool == true }.count == 1)
            }
        }
    }

    @Test func checkoutCopiesTheChosenAddressIntoTheOrder() async throws {
        try await TestApp.withApplication(Shop.overrides) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("lerato")
                let buyer = try await shop.buyer("kagiso")
                let stranger = try await shop.buyer("johan")
                let product = try await shop.product(seller, ["stock": 5])
                let saved = try await shop.api.call(.post, "/api/addresses", json: ["label": "Home", "address": Self.home(["city": "Pretoria", "region": "gp", "postalCode": "0002"])],
                                                    bearer: buyer.accessToken)
                let savedID = try #require(saved["id"] as? String)
                let strangers = try await shop.api.call(.post, "/api/addresses", json: ["address": Self.home()], bearer: stranger.accessToken)
                let strangerID = try #require(strangers["id"] as? String)
                #expect(try await shop.add(product, 1, as: buyer).status == .ok)

                // Another buyer's address, or both kinds at once, are refused before anything is reserved.
                let foreign = try await shop.api.call(.post, "/api/checkout", json: ["addressId": strangerID], bearer: buyer.accessToken)
                #expect(foreign.status == .unprocessableContent && foreign.code == "address_not_found" && foreign.fields["addressId"] != nil)
                let both = try await shop.api.call(.post, "/api/checkout", json: ["addressId": savedID, "shippingAddress": Self.home()], bearer: buyer.accessToken)
                #expect(both.status == .unprocessableContent && both.code == "address_conflict")
                #expect(try await shop.stock(product) == (5, 0))

                let placed = try await shop.api.call(.post, "/api/checkout", json: ["addressId": savedID], bearer: buyer.accessToken)
                try #require(placed.status == .created, "\(placed.raw)")
                let shipTo = try #require(placed["shippingAddress"] as? [String: Any])
                #expect(shipTo["city"] as? String == "Pretoria" && shipTo["region"] as? String == "Gauteng")
                let orderID = try #require(placed["id"] as? String)

                // The order keeps its copy when the saved address changes or goes.
                #expect(try await shop.api.call(.put, "/api/addresses/\(savedID)", json: ["address": Self.home(["city": "Soweto"])], bearer: buyer.accessToken).status == .ok)
                #expect(try await shop.api.call(.delete, "/api/addresses/\(savedID)", bearer: buyer.accessToken).status == .noContent)
                let order = try await shop.api.call(.get, "/api/orders/\(orderID)", bearer: buyer.accessToken)
                #expect((order["shippingAddress"] as? [String: Any])?["city"] as? String == "Pretoria")

                // A typed address is checked by the same rules (a South African one needs its province).
                #expect(try await shop.add(product, 1, as: buyer).status == .ok)
                let noProvince = try await shop.checkout(buyer, address: Self.home(["region": nil]))
                #expect(noProvince.status == .unprocessableContent && noProvince.fields["shippingAddress.region"] != nil, "\(noProvince.raw)")
                #expect(try await shop.stock(product) == (5, 1))
            }
        }
    }
}
