import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SearchTests {
    /// A small marketplace: two sellers, a category tree, products that differ in every filtered field.
    func withShop(_ body: @escaping @Sendable (Market, Grant, Grant, [String: String]) async throws -> Void) async throws {
        try await TestApp.withApplication(["AGORA_CACHE_TTL_MS": "0"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let admin = try await market.admin("root_admin")
                func category(_ slug: String, parent: String? = nil) async throws -> String {
                    let response = try await market.api.call(.post, "/api/categories", json: ["slug": slug, "name": slug.capitalized, "parentId": parent], bearer: admin.accessToken)
                    try #require(response.status == .created, "\(response.raw)")
                    return try #require(response["id"] as? String)
                }
                let electronics = try await category("electronics")
                let phones = try await category("phones", parent: electronics)
                let music = try await category("music")
                let ana = try await market.seller("ana")
                let ben = try await market.seller("ben")
                let cape = ["lat": -33.92, "lng": 18.42]  // Cape Town
                let joburg = ["lat": -26.20, "lng": 28.05]  // Johannesburg, ~1,270 km away
                try await market.product(ana, ["title": "Apple iPhone 13", "description": "Blue, 128 GB", "price": ["amount": 900000, "currency": "ZAR"],
                                               "categoryId": phones, "condition": "like-new", "tags": ["smartphone"], "location": cape])
                try await market.product(ana, ["title": "Samsung Galaxy S21", "description": "Android phone", "price": ["amount": 600000, "currency": "ZAR"],
                                               "categoryId": phones, "condition": "good", "stock": 0, "location": joburg])
                try await market.product(ben, ["title": "USB-C charger", "description": "Fast charger for any iPhone or Android phone",
                                               "price": ["amount": 25000, "currency": "ZAR"], "categoryId": electronics, "tags": ["accessory"]])
                try await market.product(ben, ["title": "Acoustic guitar", "description": "Spruce top", "price": ["amount": 350000, "currency": "ZAR"],
                                               "categoryId": music, "condition": "fair", "location": cape])
                try await market.product(ben, ["title": "Game licence key", "price": ["amount": 49900, "currency": "ZAR"], "type": "key", "categoryId": electronics])
                try await market.product(ana, ["title": "Unlisted draft iPhone"], publish: false)
                try await body(market, ana, ben, ["electronics": electronics, "phones": phones, "music": music])
            }
        }
    }

    @Test func everyFilterNarrowsTheListing() async throws {
        try await withShop { (market: Market, _: Grant, _: Grant, categories: [String: String]) async throws in
            #expect(try await market.listed("").count == 5)  // the draft is never listed
            #expect(try await market.listed("category=phones") == ["Apple iPhone 13", "Samsung Galaxy S21"])
            #expect(try await market.listed("category=electronics") == ["USB-C charger", "Game licence key"])
            #expect(try await market.listed("category=electronics&descendants=true") == ["Apple iPhone 13", "Samsung Galaxy S21", "USB-C charger", "Game licence key"])
            #expect(try await market.listed("category=\(categories["music"]!)") == ["Acoustic guitar"])
            #expect(try await market.listed("category=no-such-category").isEmpty)
            #expect(try await market.listed("minPrice=300000&maxPrice=700000") == ["Samsung Galaxy S21", "Acoustic guitar"])
            #expect(try await market.listed("condition=good,fair") == ["Samsung Galaxy S21", "Acoustic guitar"])
            #expect(try await market.listed("seller=BEN") == ["USB-C charger", "Acoustic guitar", "Game licence key"])
            #expect(try await market.listed("seller=nobody").isEmpty)
            #expect(try await market.listed("type=key") == ["Game licence key"])
            // The Galaxy has none, and the key has no inventory uploaded (a digital product's stock is its inventory).
            #expect(try await market.listed("inStock=true").count == 3)
            #expect(!(try await market.listed("inStock=true")).contains("Samsung Galaxy S21"))
            #expect(try await market.listed("lat=-33.93&lng=18.46&radiusKm=25") == ["Apple iPhone 13", "Acoustic guitar"])
            #expect(try await market.listed("lat=-33.93&lng=18.46&radiusKm=1500").count == 3)
            #expect(try await market.listed("currency=USD").isEmpty)
            #expect(try await market.listed("q=guitar&seller=ben&maxPrice=400000") == ["Acoustic guitar"])
        }
    }

    @Test func fullTextSearchWeighsTitlesAndToleratesTypos() async throws {
        try await withShop { (market: Market, _: Grant, _: Grant, _: [String: String]) async throws in
            // "iphone" is in one title and in one description: the title match ranks first.
            #expect(try await market.titles("/api/products?q=iphone").titles == ["Apple iPhone 13", "USB-C charger"])
            // Stemming: "phones" finds "phone".
            #expect(Set(try await market.titles("/api/products?q=phones").titles) == ["Samsung Galaxy S21", "USB-C charger"])
            // Tags are searched too.
            #expect(try await market.titles("/api/products?q=smartphone").titles == ["Apple iPhone 13"])
            // Typos match titles by trigram word similarity.
            #expect(try await market.titles("/api/products?q=iphnoe").titles.first == "Apple iPhone 13")
            #expect(try await market.titles("/api/products?q=sumsung").titles == ["Samsung Galaxy S21"])
            #expect(try await market.titles("/api/products?q=gutiar").titles == ["Acoustic guitar"])
            #expect(try await market.titles("/api/products?q=xylophone").titles.isEmpty)
            // Search syntax from people is not an error.
            let syntax = "\"apple\" -samsung or & | ! :*".query
            #expect(try await market.api.call(.get, "/api/products?q=\(syntax)").status == .ok)
        }
    }

    @Test func sortsOrderTheListing() async throws {
        try await withShop { market, ana, _, _ in
            let newest = try await market.titles("/api/products?sort=newest").titles
            #expect(newest == ["Game licence key", "Acoustic guitar", "USB-C charger", "Samsung Galaxy S21", "Apple iPhone 13"])
            #expect(try await market.titles("/api/products").titles == newest)
            #expect(try await market.titles("/api/products?sort=price_asc").titles == [
                "USB-C charger", "Game licence key", "Acoustic guitar", "Samsung Galaxy S21", "Apple iPhone 13",
            ])
            #expect(try await market.titles("/api/products?sort=price_desc").titles == [
                "Apple iPhone 13", "Samsung Galaxy S21", "Acoustic guitar", "Game licence key", "USB-C charger",
            ])
            // Likes: the guitar gets two, the charger one.
            let page = try await market.api.call(.get, "/api/products?q=guitar")
            let guitar = try #require((page["items"] as? [[String: Any]])?.first?["id"] as? String)
            let charger = try #require((try await market.api.call(.get, "/api/products?q=charger")["items"] as? [[String: Any]])?.first?["id"] as? String)
            let buyer = try await market.api.register("liker")
            #expect(try await market.api.call(.put, "/api/products/\(guitar)/like", bearer: buyer.accessToken).status == .ok)
            #expect(try await market.api.call(.put, "/api/products/\(guitar)/like", bearer: ana.accessToken).status == .ok)
            #expect(try await market.api.call(.put, "/api/products/\(charger)/like", bearer: buyer.accessToken).status == .ok)
            #expect(Array(try await market.titles("/api/products?sort=likes").titles.prefix(2)) == ["Acoustic guitar", "USB-C charger"])
            #expect(try await market.api.call(.get, "/api/products?sort=relevance").fields["sort"] != nil)
        }
    }

    @Test func badParametersAre422sAndForeignCursors400s() async throws {
        try await withShop { (market: Market, _: Grant, _: Grant, _: [String: String]) async throws in
            let bad = try await market.api.call(.get, "/api/products?limit=101&sort=cheapest&minPrice=-1&condition=mint&lat=1&colour=red")
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.fields.keys) == ["limit", "sort", "minPrice", "condition", "radiusKm", "colour"])
            #expect(try await market.api.call(.get, "/api/products?limit=2&limit=3").code == "repeated_parameter")
            // An empty item is no more a condition than "mint" is (found by schemathesis: "condition=," listed everything).
            for list in ["condition=,", "condition=new,", "type=,key"] {
                #expect(try await market.api.call(.get, "/api/products?\(list)").status == .unprocessableContent, "\(list)")
            }
            let first = try await market.titles("/api/products?limit=2&sort=price_asc")
            let cursor = try #require(first.next)
            // The cursor belongs to its query: another sort, or garbage, is refused rather than misread.
            #expect(try await market.api.call(.get, "/api/products?limit=2&sort=price_desc&cursor=\(cursor)").code == "invalid_cursor")
            #expect(try await market.api.call(.get, "/api/products?limit=2&sort=price_asc&cursor=bm9wZQ").code == "invalid_cursor")
        }
    }

    @Test(arguments: ["newest", "price_asc", "price_desc", "likes", "relevance"])
    func paginationHasNoGapsOrDuplicatesWhileRowsAreInserted(sort: String) async throws {
        try await TestApp.withApplication(["AGORA_CACHE_TTL_MS": "0"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let seller = try await market.seller("paging")
                var expected: Set<String> = []
                for index in 0..<23 {
                    // Repeated prices make ties, which the id must break.
                    let title = "Widget number \(index)"
                    try await market.product(seller, ["title": title, "price": ["amount": 100 * (index % 4), "currency": "ZAR"]])
                    expected.insert(title)
                }
                var seen: [String] = []
                var cursor: String?
                var inserted = 0
                repeat {
                    let path = "/api/products?limit=5&sort=\(sort)&q=widget" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let page = try await market.titles(path)
                    seen += page.titles
                    cursor = page.next
                    // New rows land between pages, at every price; they may or may not show up, but nothing
                    // that existed before may be skipped or repeated.
                    try await market.product(seller, ["title": "Widget late \(inserted)", "price": ["amount": 100 * (inserted % 4), "currency": "ZAR"]])
                    inserted += 1
                } while cursor != nil
                let old = seen.filter { !$0.hasPrefix("Widget late") }
                #expect(old.count == expected.count, "\(sort): \(old.count) of \(expected.count) rows")
                #expect(Set(old) == expected)
                #expect(Set(seen).count == seen.count, "\(sort): a row repeated")
            }
        }
    }
}
