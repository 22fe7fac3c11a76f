import AgoraApp
import AgoraDemo
import AgoraMedia
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The pages a shared link opens: `/p/<slug>` and `/s/<username>` server-rendered into the PWA's index.html, with
/// OpenGraph, Twitter card and schema.org JSON-LD that a real structured-data parser (extruct, as crawlers read
/// pages) finds field by field; slugs that follow titles with 301s from the old ones; sitemaps and robots.txt.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SharePagesTests {
    static let hostile = #"Walnut </script><script>alert("x")</script> & <b>table</b>"#
    static let settings = Shop.overrides.merging([
        "AGORA_PUBLIC_DIR": TestTools.repositoryRoot.appendingPathComponent("Public").path, "AGORA_PUBLIC_URL": "https://agora.example",
        "AGORA_SITEMAP_PAGE_SIZE": "2",
    ]) { $1 }

    struct Page {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: String
    }

    static func get(_ client: some TestClientProtocol, _ uri: String) async throws -> Page {
        try await client.execute(uri: uri, method: .get) { Page(status: $0.status, headers: $0.headers, body: String(buffer: $0.body)) }
    }

    /// What extruct and Python's HTML parser find in `html` (Tests/interop/structured_data.py).
    static func crawl(_ html: String, url: String) async throws -> [String: Any] {
        let python = try #require(TestTools.python(), "python3 is missing: scripts/interop-deps.sh installs it and extruct")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("agora-share-\(UUID().uuidString).html")
        try Data(html.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = TestTools.repositoryRoot.appendingPathComponent("Tests/interop/structured_data.py").path
        let outcome = try await ChildProcess.run(python, [script, file.path, url], timeout: .seconds(60))
        try #require(outcome.status == 0, "structured_data.py (needs extruct: scripts/interop-deps.sh): \(outcome.output)")
        let line = try #require(outcome.output.split(separator: "\n").last { $0.hasPrefix("{") })
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func aProductPageCarriesEveryFieldACrawlerReadsAndBootsTheApp() async throws {
        let dataDir = NSTemporaryDirectory() + TestServices.uniqueName("agora-share")
        try await TestApp.withApplication(Self.settings.merging(["AGORA_DATA_DIR": dataDir]) { $1 }) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("thabo")
                let buyer = try await shop.buyer("ayanda")
                _ = try await shop.api.call(.patch, "/api/me", json: ["displayName": "Thabo's \"Woodwork\""], bearer: seller.accessToken)
                let product = try await shop.product(seller, ["title": Self.hostile, "description": "Solid walnut.\nHand oiled <i>twice</i>.",
                                                              "price": ["amount": 250_000, "currency": "ZAR"], "stock": 2, "condition": "like-new"])
                let png = PNGEncoder.encode(DemoArt.render(width: 64, height: 48, seed: 3, initials: "WT"))
                let image = try await shop.api.uploadImage(to: "/api/products/\(product)/images", bytes: png, bearer: seller.accessToken)
                try #require(image.status == .created, "\(image.raw)")
                let json = try await shop.api.call(.get, "/api/products/\(product)")
                let slug = try #require(json["slug"] as? String)
                #expect(slug == "walnut-script-script-alert-x-script-b-table-b-" + product.replacingOccurrences(of: "-", with: "").lowercased().prefix(12))

                // A review, so the page has a rating: a digital product is delivered at payment.
                let key = try await shop.product(seller, ["title": "Gift card", "type": "key", "price": ["amount": 5000, "currency": "ZAR"]], items: ["KEY-1"])
                try await shop.pay(try await shop.order(key, as: buyer), as: buyer)
                let reviewed = try await shop.api.call(.post, "/api/products/\(key)/reviews", json: ["rating": 4, "body": "Worked </script> first time"],
                                                       bearer: buyer.accessToken)
                try #require(reviewed.status == .created, "\(reviewed.raw)")

                // The id, and the API by slug, lead to the same product.
                let byID = try await Self.get(client, "/p/\(product)")
                #expect(byID.status == .movedPermanently && byID.headers[.location] == "/p/\(slug)")
                #expect(try await shop.api.call(.get, "/api/products/\(slug)")["id"] as? String == product)

                let page = try await Self.get(client, "/p/\(slug)")
                #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.headers[.cacheControl] == "public, max-age=60")
                #expect(!page.body.contains("<script>alert") && !page.body.contains("<b>table"), "the title is text everywhere")
                #expect(page.body.contains(#"<script type="module" src="/app/main.js"></script>"#), "the app boots on the page")
                #expect(page.body.contains(#"<link rel="manifest" href="/manifest.webmanifest">"#))

                let found = try await Self.crawl(page.body, url: "https://agora.example/p/\(slug)")
                #expect(found["scripts"] as? Int == 2, "the app's module and the JSON-LD, nothing the title opened: \(found["scriptSources"] ?? "")")
                #expect(found["title"] as? String == "\(Self.hostile) · ZAR 2500.00 · Agora")
                #expect(found["h1"] as? String == Self.hostile)
                let og = try #require((found["opengraph"] as? [[String: Any]])?.first)
                #expect(og["og:title"] as? String == Self.hostile)
                #expect(og["@type"] as? String == "product" && og["og:url"] as? String == "https://agora.example/p/\(slug)", "\(og)")
                #expect(og["og:description"] as? String == "Solid walnut. Hand oiled <i>twice</i>.")
                let imageURL = try #require((image["images"] as? [[String: Any]])?.first?["url"] as? String)
                #expect(og["og:image"] as? String == "https://agora.example" + imageURL)
                #expect(og["og:image:width"] as? String == "64" && og["og:image:height"] as? String == "48")
                #expect(og["product:price:amount"] as? String == "2500.00" && og["product:price:currency"] as? String == "ZAR")
                #expect(page.body.contains(#"<meta name="twitter:card" content="summary_large_image">"#))
                #expect(page.body.contains(#"<link rel="canonical" href="https://agora.example/p/\#(slug)">"#))

                let ld = try #require((found["jsonld"] as? [[String: Any]])?.first)
                #expect(ld["@type"] as? String == "Product" && ld["name"] as? String == Self.hostile)
                #expect(ld["description"] as? String == "Solid walnut.\nHand oiled <i>twice</i>.")
                #expect(ld["sku"] as? String == product.lowercased() && ld["url"] as? String == "https://agora.example/p/\(slug)")
                #expect(ld["image"] as? [String] == ["https://agora.example" + imageURL])
                let offer = try #require(ld["offers"] as? [String: Any])
                #expect(offer["@type"] as? String == "Offer" && offer["price"] as? String == "2500.00" && offer["priceCurrency"] as? String == "ZAR")
                #expect(offer["availability"] as? String == "https://schema.org/InStock")
                #expect(offer["itemCondition"] as? String == "https://schema.org/UsedCondition")
                let offeredBy = try #require(offer["seller"] as? [String: Any])
                #expect(offeredBy["name"] as? String == "Thabo's \"Woodwork\"" && offeredBy["url"] as? String == "https://agora.example/s/thabo")
                #expect(ld["aggregateRating"] == nil, "no reviews of this product yet")

                // The reviewed product carries its rating and reviews.
                let keySlug = try #require(try await shop.api.call(.get, "/api/products/\(key)")["slug"] as? String)
                let keyPage = try await Self.get(client, "/p/\(keySlug)")
                let keyLD = try #require((try await Self.crawl(keyPage.body, url: "https://agora.example/p/\(keySlug)")["jsonld"] as? [[String: Any]])?.first)
                let rating = try #require(keyLD["aggregateRating"] as? [String: Any])
                #expect(rating["@type"] as? String == "AggregateRating" && rating["ratingValue"] as? Double == 4 && rating["reviewCount"] as? Int == 1)
                let review = try #require((keyLD["review"] as? [[String: Any]])?.first)
                #expect(review["reviewBody"] as? String == "Worked </script> first time")
                #expect((keyLD["offers"] as? [String: Any])?["availability"] as? String == "https://schema.org/OutOfStock", "its one key is sold")
                #expect((keyLD["offers"] as? [String: Any])?["itemCondition"] == nil, "a key has no condition")
            }
        }
    }

    @Test func slugsFollowTitlesAndOldLinksRedirect() async throws {
        try await TestApp.withApplication(Self.settings) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("lindiwe")
                let product = try await shop.product(seller, ["title": "Café crème mug"])
                let first = try #require(try await shop.api.call(.get, "/api/products/\(product)")["slug"] as? String)
                #expect(first.hasPrefix("cafe-creme-mug-"))
                let renamed = try await shop.api.call(.patch, "/api/products/\(product)", json: ["title": "Ceramic mug"], bearer: seller.accessToken)
                let second = try #require(renamed["slug"] as? String)
                #expect(second.hasPrefix("ceramic-mug-") && second.hasSuffix(String(first.suffix(12))))
                let old = try await Self.get(client, "/p/\(first)")
                #expect(old.status == .movedPermanently && old.headers[.location] == "/p/\(second)")
                #expect(try await shop.api.call(.get, "/api/products/\(first)")["title"] as? String == "Ceramic mug", "the API follows an old slug too")
                // An edit that keeps the title keeps the slug; a title changed back makes the first slug current again.
                _ = try await shop.api.call(.patch, "/api/products/\(product)", json: ["price": ["amount": 900, "currency": "ZAR"]], bearer: seller.accessToken)
                #expect(try await shop.api.call(.get, "/api/products/\(product)")["slug"] as? String == second)
                _ = try await shop.api.call(.patch, "/api/products/\(product)", json: ["title": "Café crème mug"], bearer: seller.accessToken)
                #expect(try await Self.get(client, "/p/\(first)").status == .ok)
                #expect(try await Self.get(client, "/p/\(second)").headers[.location] == "/p/\(first)")

                // Unpublished, unknown or malformed: a 404 that still boots the app (the owner's draft), never indexed.
                _ = try await shop.api.call(.post, "/api/products/\(product)/unpublish", bearer: seller.accessToken)
                for uri in ["/p/\(first)", "/p/no-such-thing-000000000000", "/p/\(UUID().uuidString)", "/p/" + String(repeating: "a", count: 500),
                            "/p/%3Cscript%3E", "/s/nobody_here", "/s/bad%20name", "/s/" + String(repeating: "x", count: 200)] {
                    let page = try await Self.get(client, uri)
                    #expect(page.status == .notFound, "\(uri)")
                    #expect(page.body.contains(#"<meta name="robots" content="noindex">"#) && page.body.contains("/app/main.js"), "\(uri)")
                }
                #expect(try await Self.get(client, "/p/%00").status == .badRequest, "a NUL in a path is refused at the edge, as everywhere")
            }
        }
    }

    @Test func aShopPageSitemapsAndRobots() async throws {
        try await TestApp.withApplication(Self.settings) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("nomsa")
                _ = try await shop.api.call(.patch, "/api/me", json: ["bio": "Hand-thrown <pottery> from Durban.", "location": "Durban"], bearer: seller.accessToken)
                var slugs: [String] = []
                for title in ["Bowl", "Vase", "Plate"] {
                    let id = try await shop.product(seller, ["title": title])
                    slugs.append(try #require(try await shop.api.call(.get, "/api/products/\(id)")["slug"] as? String))
                }
                _ = try await shop.market.product(seller, ["title": "Draft jug"], publish: false)
                let buyer = try await shop.buyer("sizwe")

                let page = try await Self.get(client, "/s/nomsa")
                #expect(page.status == .ok)
                #expect(try await Self.get(client, "/s/NOMSA").headers[.location] == "/s/nomsa")
                let found = try await Self.crawl(page.body, url: "https://agora.example/s/nomsa")
                let ld = try #require((found["jsonld"] as? [[String: Any]])?.first)
                #expect(ld["@type"] as? String == "Organization" && ld["url"] as? String == "https://agora.example/s/nomsa")
                #expect(ld["description"] as? String == "Hand-thrown <pottery> from Durban." && ld["location"] as? String == "Durban")
                let offers = try #require(ld["makesOffer"] as? [[String: Any]])
                #expect(Set(offers.compactMap { $0["url"] as? String }) == Set(slugs.map { "https://agora.example/p/\($0)" }), "published listings only")
                let og = try #require((found["opengraph"] as? [[String: Any]])?.first)
                #expect(og["@type"] as? String == "profile" && og["og:description"] as? String == "Hand-thrown <pottery> from Durban.")
                #expect(page.body.contains("member since") && page.body.contains("3 listings") && page.body.contains("· verified"))
                #expect(!page.body.contains("<pottery>"))
                // A buyer's page exists (a shared profile) but asks not to be indexed.
                let buyerPage = try await Self.get(client, "/s/sizwe")
                #expect(buyerPage.status == .ok && buyerPage.body.contains(#"<meta name="robots" content="noindex">"#))
                _ = buyer

                // The sitemap: an index of pages of AGORA_SITEMAP_PAGE_SIZE (2 here) URLs, published products only.
                let index = try await Self.get(client, "/sitemap.xml")
                #expect(index.status == .ok && index.headers[.contentType] == "application/xml; charset=utf-8")
                #expect(index.body.contains("<loc>https://agora.example/sitemaps/products-2.xml</loc>") && !index.body.contains("products-3.xml"))
                #expect(index.body.contains("<loc>https://agora.example/sitemaps/shops-1.xml</loc>"))
                let first = try await Self.get(client, "/sitemaps/products-1.xml")
                let second = try await Self.get(client, "/sitemaps/products-2.xml")
                let listed = (first.body + second.body).components(separatedBy: "<loc>").dropFirst().compactMap { $0.components(separatedBy: "</loc>").first }
                #expect(Set(listed) == Set(slugs.map { "https://agora.example/p/\($0)" }) && listed.count == 3)
                #expect(first.body.contains("<lastmod>"))
                #expect(try await Self.get(client, "/sitemaps/shops-1.xml").body.contains("<loc>https://agora.example/s/nomsa</loc>"))
                for uri in ["/sitemaps/products-3.xml", "/sitemaps/products-0.xml", "/sitemaps/products-99999999999999999999.xml", "/sitemaps/orders-1.xml",
                            "/sitemaps/products-1.txt", "/sitemaps/products-x.xml"] {
                    #expect(try await Self.get(client, uri).status == .notFound, "\(uri)")
                }

                let robots = try await Self.get(client, "/robots.txt")
                #expect(robots.status == .ok && robots.body.contains("Disallow: /api/") && robots.body.contains("Sitemap: https://agora.example/sitemap.xml"))
            }
        }
    }
}
