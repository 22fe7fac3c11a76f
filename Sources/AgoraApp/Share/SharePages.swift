import Accounts
import AgoraCore
import Catalog
import Commerce
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Realtime

/// The pages a shared link opens (issue 23, part 2): `GET /p/:slug` (a product) and `GET /s/:username` (a shop),
/// server-rendered into the PWA's own `index.html` (title, description, canonical URL, OpenGraph and Twitter card
/// tags, schema.org JSON-LD, and a first view a crawler can read), after which the app boots on the same page and
/// draws over that view. Also `GET /sitemap.xml` (an index of pages of `AGORA_SITEMAP_PAGE_SIZE` URLs,
/// `/sitemaps/products-N.xml` and `/sitemaps/shops-N.xml`) and `GET /robots.txt`.
///
/// - A retired slug (the title changed) or a product id answers 301 to the current slug, so old links keep working.
/// - Only published products and existing users have a page. Anything else is a 404 that still carries the app
///   (with `noindex`): the PWA then shows the owner their draft, or everyone else "not found".
/// - Every text a seller or buyer wrote goes through `ShareHTML.escape` (elements, attributes) or
///   `ShareHTML.jsonLD` (the script), so a title such as `</script><script>…` stays text.
///
/// The pages hold nothing about the visitor, so they may be cached by anyone for a minute.
struct SharePages: Sendable {
    let products: ProductService
    let accounts: AccountsService
    let reviews: ReviewService
    let orders: OrderService
    let template: ShareHTML.Template
    /// `AGORA_PUBLIC_URL` without a trailing slash: the base of canonical URLs and absolute image URLs.
    let base: String
    /// URLs per sitemap page (`AGORA_SITEMAP_PAGE_SIZE`, 5,000; the protocol allows 50,000).
    let sitemapPageSize: Int

    init(
        products: ProductService, accounts: AccountsService, reviews: ReviewService, orders: OrderService, template: ShareHTML.Template,
        publicURL: String, sitemapPageSize: Int
    ) {
        self.products = products
        self.accounts = accounts
        self.reviews = reviews
        self.orders = orders
        self.template = template
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.sitemapPageSize = sitemapPageSize
    }

    /// Listings shown on a shop's page.
    static let shopListings = 24

    func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/p/:slug") { request, context in try await productPage(context.parameters.get("slug") ?? "", context: context) }
        router.get("/s/:username") { request, context in try await shopPage(context.parameters.get("username") ?? "", context: context) }
        router.get("/sitemap.xml") { _, context in try await sitemapIndex(context: context) }
        router.get("/sitemaps/:page") { _, context in try await sitemap(context.parameters.get("page") ?? "", context: context) }
        router.get("/robots.txt") { _, _ in robots() }
    }

    // MARK: Product

    func productPage(_ key: String, context: AgoraRequestContext) async throws -> Response {
        guard let address = try await products.address(key, logger: context.logger) else { return notFound() }
        guard address.isCurrent else { return Self.redirect(to: "/p/\(address.slug)") }
        guard let product = try await products.publishedProduct(address.id, logger: context.logger) else { return notFound() }
        let page = try await reviews.productReviews(product.id, limit: 3, cursor: nil, logger: context.logger)
        return html(renderProduct(product, rating: page.rating, reviews: page.items))
    }

    func renderProduct(_ product: Product, rating: Rating, reviews: [Review]) -> String {
        let url = "\(base)/p/\(product.slug)"
        let shop = "\(base)/s/\(product.seller.username)"
        let description = ShareHTML.summary(product.description.isEmpty ? product.title : product.description)
        let images = product.images.map { absolute($0.url) }
        let price = product.price.decimalString
        let title = "\(product.title) · \(product.price.currency) \(price)"
        let e: (String) -> String = ShareHTML.escape
        var head = Self.cardTags(type: "product", url: url, title: product.title, description: description, large: !images.isEmpty)
        head += """
              <meta property="product:price:amount" content="\(price)">
              <meta property="product:price:currency" content="\(e(product.price.currency))">

            """
        if let image = product.images.first {
            head += """
                  <meta property="og:image" content="\(e(absolute(image.url)))">
                  <meta property="og:image:width" content="\(image.width)">
                  <meta property="og:image:height" content="\(image.height)">
                  <meta property="og:image:alt" content="\(e(product.title))">
                  <meta name="twitter:image" content="\(e(absolute(image.url)))">

                """
        }
        var offer: [String: JSON] = [
            "@type": .string("Offer"), "price": .string(price), "priceCurrency": .string(product.price.currency), "url": .string(url),
            "availability": .string(product.available > 0 ? "https://schema.org/InStock" : "https://schema.org/OutOfStock"),
            "seller": .object(["@type": .string("Organization"), "name": .string(product.seller.displayName), "url": .string(shop)]),
        ]
        if product.type == .physical { offer["itemCondition"] = .string(Self.condition(product.condition)) }
        var ld: [String: JSON] = [
            "@context": .string("https://schema.org"), "@type": .string("Product"), "name": .string(product.title),
            "description": .string(product.description), "sku": .string(product.id.uuidString.lowercased()), "url": .string(url),
            "offers": .object(offer),
        ]
        if !images.isEmpty { ld["image"] = .array(images.map { .string($0) }) }
        if let category = product.category { ld["category"] = .string(category.name) }
        if let aggregate = Self.aggregateRating(rating) {
            ld["aggregateRating"] = aggregate
            ld["review"] = .array(reviews.map { review in
                .object([
                    "@type": .string("Review"), "reviewBody": .string(review.body),
                    "author": .object(["@type": .string("Person"), "name": .string(review.author.displayName)]),
                    "reviewRating": .object(["@type": .string("Rating"), "ratingValue": .integer(Int64(review.rating)), "bestRating": .integer(5)]),
                    "datePublished": .string(ISO8601DateFormatter().string(from: review.createdAt)),
                ])
            })
        }
        head += #"  <script type="application/ld+json">"# + ShareHTML.jsonLD(.object(ld)) + "</script>\n"
        var view = #"<article class="panel share-page" data-share="product">"#
        if let image = product.images.first {
            view += #"<img class="share-image" src="\#(e(image.url))" alt="\#(e(product.title))" width="\#(image.width)" height="\#(image.height)">"#
        }
        view += "<h1>\(e(product.title))</h1>"
        view += #"<p class="price">\#(e(product.price.currency)) \#(price)</p>"#
        if rating.count > 0, let average = rating.average { view += "<p>\(average) / 5 from \(rating.count) review\(rating.count == 1 ? "" : "s")</p>" }
        view += #"<p class="share-description">\#(e(product.description))</p>"#
        view += #"<p>Sold by <a href="/s/\#(e(product.seller.username))">\#(e(product.seller.displayName))</a></p></article>"#
        return template.render(title: "\(title) · Agora", description: description, head: head, view: view)
    }

    /// The canonical link and the OpenGraph and Twitter card tags every page has.
    static func cardTags(type: String, url: String, title: String, description: String, large: Bool) -> String {
        let e: (String) -> String = ShareHTML.escape
        return """

              <link rel="canonical" href="\(e(url))">
              <meta property="og:type" content="\(type)">
              <meta property="og:site_name" content="Agora">
              <meta property="og:title" content="\(e(title))">
              <meta property="og:description" content="\(e(description))">
              <meta property="og:url" content="\(e(url))">
              <meta name="twitter:card" content="\(large ? "summary_large_image" : "summary")">
              <meta name="twitter:title" content="\(e(title))">
              <meta name="twitter:description" content="\(e(description))">

            """
    }

    /// schema.org's `AggregateRating` of a rating with reviews; nil without any.
    static func aggregateRating(_ rating: Rating) -> JSON? {
        guard let average = rating.average, rating.count > 0 else { return nil }
        return .object([
            "@type": .string("AggregateRating"), "ratingValue": .number(average), "reviewCount": .integer(Int64(rating.count)), "bestRating": .integer(5),
            "worstRating": .integer(1),
        ])
    }

    static func condition(_ condition: ProductCondition) -> String {
        switch condition {
        case .new: "https://schema.org/NewCondition"
        case .likeNew, .good, .fair: "https://schema.org/UsedCondition"
        }
    }

    // MARK: Shop

    func shopPage(_ username: String, context: AgoraRequestContext) async throws -> Response {
        guard (1...64).contains(username.utf8.count), username.utf8.allSatisfy({ $0.isASCIIWordByte }) else { return notFound() }
        let profile: PublicProfile
        do {
            profile = try await accounts.profile(username: username, logger: context.logger)
        } catch let error as AgoraError where error.kind == .notFound {
            return notFound()
        }
        guard profile.username == username else { return Self.redirect(to: "/s/\(profile.username)") }
        async let figures = orders.shopFigures(of: profile.id, logger: context.logger)
        async let listings = products.publishedListings(of: profile.id, limit: Self.shopListings, logger: context.logger)
        async let count = products.listingCount(of: profile.id, logger: context.logger)
        return html(renderShop(profile, figures: try await figures, listings: try await listings, listingCount: try await count))
    }

    func renderShop(_ profile: PublicProfile, figures: ShopFigures, listings: [Product], listingCount: Int) -> String {
        let url = "\(base)/s/\(profile.username)"
        let e: (String) -> String = ShareHTML.escape
        let since = Self.monthYear(profile.createdAt)
        let about = profile.bio.isEmpty ? "\(profile.displayName) on Agora: \(listingCount) listing\(listingCount == 1 ? "" : "s")." : profile.bio
        let description = ShareHTML.summary(about)
        var head = Self.cardTags(type: "profile", url: url, title: profile.displayName, description: description, large: false)
        head += #"  <meta property="profile:username" content="\#(e(profile.username))">"# + "\n"
        if let avatar = profile.avatarUrl {
            head += #"  <meta property="og:image" content="\#(e(absolute(avatar)))">"# + "\n"
        }
        // A page with nothing for sale is nobody's search result.
        if listingCount == 0 { head += #"  <meta name="robots" content="noindex">"# + "\n" }
        var ld: [String: JSON] = [
            "@context": .string("https://schema.org"), "@type": .string("Organization"), "name": .string(profile.displayName), "url": .string(url),
            "description": .string(profile.bio), "alternateName": .string("@" + profile.username),
        ]
        if let avatar = profile.avatarUrl { ld["logo"] = .string(absolute(avatar)) }
        if let location = profile.location { ld["location"] = .string(location) }
        if let aggregate = Self.aggregateRating(figures.rating) { ld["aggregateRating"] = aggregate }
        if !listings.isEmpty {
            ld["makesOffer"] = .array(listings.map { product in
                .object([
                    "@type": .string("Offer"), "price": .string(product.price.decimalString), "priceCurrency": .string(product.price.currency),
                    "url": .string("\(base)/p/\(product.slug)"),
                    "itemOffered": .object(["@type": .string("Product"), "name": .string(product.title)]),
                ])
            })
        }
        head += #"  <script type="application/ld+json">"# + ShareHTML.jsonLD(.object(ld)) + "</script>\n"
        var view = #"<article class="panel share-page" data-share="shop"><h1>\#(e(profile.displayName))</h1>"#
        view += #"<p class="muted">@\#(e(profile.username))\#(profile.emailVerified == true ? " · verified" : "") · member since \#(since)"#
        if let location = profile.location { view += " · \(e(location))" }
        view += "</p>"
        if !profile.bio.isEmpty { view += "<p>\(e(profile.bio))</p>" }
        if let average = figures.rating.average, figures.rating.count > 0 {
            view += "<p>\(average) / 5 from \(figures.rating.count) review\(figures.rating.count == 1 ? "" : "s")</p>"
        }
        view += "<p>\(figures.salesCount) sale\(figures.salesCount == 1 ? "" : "s") · \(listingCount) listing\(listingCount == 1 ? "" : "s")</p><ul>"
        for product in listings {
            view += #"<li><a href="/p/\#(e(product.slug))">\#(e(product.title))</a> \#(e(product.price.currency)) \#(product.price.decimalString)</li>"#
        }
        view += "</ul></article>"
        return template.render(title: "\(profile.displayName) (@\(profile.username)) · Agora", description: description, head: head, view: view)
    }

    static func monthYear(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MMMM yyyy"
        return formatter.string(from: date)
    }

    // MARK: Sitemaps and robots

    func sitemapIndex(context: AgoraRequestContext) async throws -> Response {
        async let productCount = products.publishedCount(logger: context.logger)
        async let shopCount = products.shopCount(logger: context.logger)
        let (productPages, shopPages) = (Self.pages(try await productCount, size: sitemapPageSize), Self.pages(try await shopCount, size: sitemapPageSize))
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n" + #"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"# + "\n"
        for page in 0..<productPages { xml += "<sitemap><loc>\(ShareHTML.escape(base))/sitemaps/products-\(page + 1).xml</loc></sitemap>\n" }
        for page in 0..<shopPages { xml += "<sitemap><loc>\(ShareHTML.escape(base))/sitemaps/shops-\(page + 1).xml</loc></sitemap>\n" }
        xml += "</sitemapindex>\n"
        return Self.text(xml, type: "application/xml; charset=utf-8")
    }

    /// Pages for `count` URLs; at least one, so an empty marketplace still has a valid (empty) products page.
    static func pages(_ count: Int, size: Int) -> Int { max(1, (count + size - 1) / size) }

    func sitemap(_ name: String, context: AgoraRequestContext) async throws -> Response {
        // "products-3.xml" or "shops-1.xml"; the number is 1 to 6 digits, so it can never overflow anything.
        guard name.hasSuffix(".xml") else { throw Self.noSitemap }
        let stem = name.dropLast(4)
        guard let dash = stem.lastIndex(of: "-") else { throw Self.noSitemap }
        let kind = stem[..<dash]
        let digits = stem[stem.index(after: dash)...]
        guard (1...6).contains(digits.utf8.count), digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let page = Int(digits), page >= 1
        else { throw Self.noSitemap }
        var entries: [(path: String, updatedAt: Date)]
        switch kind {
        case "products":
            entries = try await products.sitemapPage(page, size: sitemapPageSize, logger: context.logger).map { ("/p/\($0.slug)", $0.updatedAt) }
        case "shops":
            let shops = try await products.shopsPage(page, size: sitemapPageSize, logger: context.logger)
            let names = try await accounts.summaries(shops.map(\.seller), logger: context.logger)
            entries = shops.compactMap { shop in names[shop.seller].map { ("/s/\($0.username)", shop.updatedAt) } }
        default: throw Self.noSitemap
        }
        if entries.isEmpty && page > 1 { throw Self.noSitemap }
        let formatter = ISO8601DateFormatter()
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n" + #"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"# + "\n"
        for entry in entries {
            xml += "<url><loc>\(ShareHTML.escape(base + entry.path))</loc><lastmod>\(formatter.string(from: entry.updatedAt))</lastmod></url>\n"
        }
        xml += "</urlset>\n"
        return Self.text(xml, type: "application/xml; charset=utf-8")
    }

    static let noSitemap = AgoraError(.notFound, code: "not_found", "No such sitemap")

    func robots() -> Response {
        let disallowed = ["/api/", "/admin", "/account", "/cart", "/orders", "/chat", "/notifications", "/sell", "/login", "/signup", "/media/"]
        var text = "User-agent: *\n"
        for path in disallowed { text += "Disallow: \(path)\n" }
        text += "\nSitemap: \(base)/sitemap.xml\n"
        return Self.text(text, type: "text/plain; charset=utf-8")
    }

    // MARK: Parts

    func absolute(_ path: String) -> String { path.hasPrefix("/") ? base + path : path }

    func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: status == .ok ? "public, max-age=60" : "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: page))
        )
    }

    /// A 404 that still boots the app (an owner's draft, an unknown page), and asks not to be indexed.
    func notFound() -> Response {
        html(template.render(title: "Not found · Agora", description: "This page is not on Agora.",
                             head: #"  <meta name="robots" content="noindex">"# + "\n", view: ""), status: .notFound)
    }

    static func redirect(to path: String) -> Response {
        Response(status: .movedPermanently, headers: [.location: path, .cacheControl: "public, max-age=300"])
    }

    static func text(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=300"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension UInt8 {
    /// a–z, A–Z, 0–9 or `_`: the characters of a username.
    fileprivate var isASCIIWordByte: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || self == UInt8(ascii: "_")
    }
}
