import Accounts
package import AgoraApp
import AgoraCore
import AgoraCrypto
import AgoraMedia
import AgoraPostgres
import Catalog
import Commerce
import Foundation
package import Logging
import Social

/// The demo marketplace `agora seed` loads (and `scripts/run.sh` on first start): sellers with believable products
/// in several categories, each with a generated image, some follows and likes, so a newcomer sees a real shop.
///
/// Everything goes through the domain services, as a person using the API would make it.
package enum DemoSeed {
    /// The password of every demo account (they are local-only; `AGORA_ENV=production` refuses to seed).
    package static let password = "agora-demo-password"

    /// What was created.
    package struct Summary: Sendable, Equatable {
        package var accounts: Int
        package var categories: Int
        package var products: Int
    }

    struct Seller {
        var username: String
        var name: String
        var bio: String
    }

    static let sellers = [
        Seller(username: "thandi_tech", name: "Thandi's Tech", bio: "Refurbished phones and laptops, tested and guaranteed. Cape Town."),
        Seller(username: "karoo_crafts", name: "Karoo Crafts", bio: "Hand-made kitchenware and decor from the Karoo."),
        Seller(username: "vinyl_vault", name: "Vinyl Vault", bio: "Records, turntables and instruments. Johannesburg."),
        Seller(username: "pixel_keys", name: "Pixel Keys", bio: "Instant game and software keys, delivered by email."),
    ]

    /// (slug, name, parent slug)
    static let categories: [(String, String, String?)] = [
        ("electronics", "Electronics", nil), ("phones", "Phones", "electronics"), ("computers", "Computers", "electronics"),
        ("audio", "Audio", "electronics"), ("home", "Home & Kitchen", nil), ("kitchen", "Kitchen", "home"), ("decor", "Decor", "home"),
        ("music", "Music", nil), ("instruments", "Instruments", "music"), ("vinyl", "Vinyl", "music"),
        ("digital", "Digital", nil), ("game-keys", "Game keys", "digital"), ("software", "Software", "digital"),
    ]

    /// (seller index, category slug, title, description, price in cents, condition, type, stock, tags, place)
    static let products: [(Int, String, String, String, Int64, String, String, Int, [String], String?)] = [
        (0, "phones", "Apple iPhone 13, 128 GB", "Midnight blue, battery health 91%. Unlocked, with a new case.", 849_900, "like-new", "physical", 3, ["apple", "iphone", "smartphone"], "cpt"),
        (0, "phones", "Samsung Galaxy S21 5G", "Phantom grey, 256 GB. Small scratch on the back, screen perfect.", 599_900, "good", "physical", 2, ["samsung", "android"], "cpt"),
        (0, "phones", "Google Pixel 7", "Obsidian, 128 GB, charger included.", 649_900, "like-new", "physical", 1, ["google", "android", "pixel"], "cpt"),
        (0, "computers", "Lenovo ThinkPad T480", "i5, 16 GB RAM, 512 GB SSD. New battery. A workhorse.", 729_900, "good", "physical", 4, ["laptop", "lenovo"], "cpt"),
        (0, "computers", "Apple MacBook Air M1", "Space grey, 8 GB, 256 GB. 98 charge cycles.", 1_299_900, "like-new", "physical", 1, ["apple", "laptop", "macbook"], "cpt"),
        (0, "audio", "Sony WH-1000XM4 headphones", "Noise cancelling, with case and cable.", 329_900, "good", "physical", 2, ["headphones", "sony"], "cpt"),
        (0, "computers", "USB-C charger 65 W", "Fast charger for laptops and phones. New in box.", 34_900, "new", "physical", 25, ["charger", "usb-c"], nil),
        (1, "kitchen", "Hand-thrown stoneware mug", "Glazed in Karoo ochre. Holds 350 ml. Dishwasher safe.", 24_900, "new", "physical", 18, ["mug", "ceramics", "handmade"], "karoo"),
        (1, "kitchen", "Olive-wood chopping board", "From fallen olive trees; oiled and ready. 40 x 25 cm.", 54_900, "new", "physical", 7, ["wood", "kitchen", "handmade"], "karoo"),
        (1, "kitchen", "Cast-iron potjie pot, size 3", "Seasoned, for the braai. Feeds ten.", 89_900, "new", "physical", 5, ["potjie", "cast iron"], "karoo"),
        (1, "decor", "Woven grass basket", "Hand-woven by the Nieu-Bethesda co-op. 30 cm across.", 39_900, "new", "physical", 9, ["basket", "woven", "handmade"], "karoo"),
        (1, "decor", "Mohair throw, natural", "Karoo mohair, 130 x 170 cm. Warm and light.", 149_900, "new", "physical", 4, ["mohair", "blanket"], "karoo"),
        (1, "decor", "Enamel lantern", "Vintage farmhouse lantern, rewired for LED.", 44_900, "fair", "physical", 2, ["vintage", "lamp"], "karoo"),
        (2, "vinyl", "Miriam Makeba - Pata Pata (LP)", "1967 pressing, sleeve worn, vinyl plays clean.", 69_900, "good", "physical", 1, ["vinyl", "jazz", "record"], "jhb"),
        (2, "vinyl", "Hugh Masekela - Home Is Where the Music Is", "Double LP reissue, sealed.", 59_900, "new", "physical", 3, ["vinyl", "jazz"], "jhb"),
        (2, "audio", "Technics SL-1200 turntable", "Serviced, new stylus. The classic.", 1_099_900, "good", "physical", 1, ["turntable", "dj", "technics"], "jhb"),
        (2, "instruments", "Yamaha acoustic guitar F310", "Spruce top, new strings, with gig bag.", 249_900, "good", "physical", 2, ["guitar", "acoustic", "yamaha"], "jhb"),
        (2, "instruments", "Fender Squier Stratocaster", "Sunburst, small ding on the headstock.", 399_900, "fair", "physical", 1, ["guitar", "electric", "fender"], "jhb"),
        (2, "instruments", "Mbira (kalimba), 17 keys", "Tuned in C, mahogany body.", 49_900, "new", "physical", 6, ["kalimba", "mbira"], "jhb"),
        (3, "game-keys", "Cyber Quest 2077 - PC key", "Global key, delivered instantly after payment.", 39_900, "new", "key", 40, ["pc", "rpg", "game key"], nil),
        (3, "game-keys", "Stardew Farm - Steam key", "Redeem on Steam. Region free.", 12_900, "new", "key", 60, ["steam", "indie", "game key"], nil),
        (3, "game-keys", "Space Racers Ultimate - console code", "Digital code for the console store.", 69_900, "new", "key", 15, ["console", "racing"], nil),
        (3, "software", "Office Suite 2024 - 1 year licence", "One user, five devices. Licence key by email.", 89_900, "new", "credential", 30, ["office", "licence"], nil),
        (3, "software", "Photo Studio Pro - lifetime licence", "Download link and licence for one computer.", 149_900, "new", "link", 20, ["photo", "editing", "licence"], nil),
        (3, "software", "VPN premium - 12 months", "Account credentials delivered after payment.", 44_900, "new", "credential", 50, ["vpn", "privacy"], nil),
    ]

    static let places: [String: GeoPoint] = [
        "cpt": GeoPoint(lat: -33.9249, lng: 18.4241), "jhb": GeoPoint(lat: -26.2041, lng: 28.0473), "karoo": GeoPoint(lat: -31.8976, lng: 24.5565),
    ]

    /// Loads the demo marketplace unless the database already has products (then nothing changes).
    /// - Parameter imageSize: pixels of the generated images (tests use small ones).
    /// - Returns: what was created, or nil when there was already data.
    package static func seedIfEmpty(_ services: AgoraServices, imageSize: (Int, Int) = (640, 480), logger: Logger) async throws -> Summary? {
        let existing: Int = try await services.db.query("SELECT count(*) AS n FROM products", logger: logger).one().decode("n")
        guard existing == 0 else { return nil }
        let accounts = services.auth.accounts
        var sellerIDs: [UUID] = []
        for seller in sellers {
            let account = try await accounts.register(
                .init(email: "\(seller.username)@demo.agora.local", username: seller.username, displayName: seller.name, password: password), logger: logger
            )
            _ = try await accounts.setRole(username: seller.username, to: .seller, logger: logger)
            var profile = ProfileUpdate()
            profile.bio = .set(seller.bio)
            _ = try await accounts.updateProfile(id: account.id, profile, logger: logger)
            sellerIDs.append(account.id)
        }
        var buyers: [UUID] = []
        for name in ["demo_buyer", "lindiwe", "pieter"] {
            let account = try await accounts.register(
                .init(email: "\(name)@demo.agora.local", username: name, displayName: name == "demo_buyer" ? "Demo Buyer" : name.capitalized, password: password),
                logger: logger
            )
            buyers.append(account.id)
        }
        // The demo buyer's address book: checkout offers it (the default chosen), /account/addresses edits it.
        if let demoBuyer = buyers.first {
            for (label, line1, city, region, postalCode, isDefault) in [
                ("Home", "12 Bree Street", "Cape Town", "Western Cape", "8001", true), ("Work", "3 Jan Smuts Avenue", "Johannesburg", "GP", "2196", false),
            ] {
                let address = ShippingAddress(name: "Demo Buyer", line1: line1, city: city, region: region, postalCode: postalCode, country: "ZA")
                _ = try await services.commerce.addresses.add(SavedAddressInput(label: label, isDefault: isDefault, address: address), for: demoBuyer, logger: logger)
            }
        }
        _ = try await accounts.register(.init(email: "demo_admin@demo.agora.local", username: "demo_admin", displayName: "Demo Admin", password: password), logger: logger)
        _ = try await accounts.setRole(username: "demo_admin", to: .admin, logger: logger)

        var categoryIDs: [String: UUID] = [:]
        for (index, (slug, name, parent)) in categories.enumerated() {
            var input = CategoryInput()
            input.slug = .set(slug)
            input.name = .set(name)
            input.position = .set(index)
            if let parent, let parentID = categoryIDs[parent] { input.parentId = .set(parentID) }
            categoryIDs[slug] = try await services.categories.create(input, logger: logger).id
        }

        var productIDs: [UUID] = []
        for (seller, category, title, description, price, condition, type, stock, tags, place) in products {
            var input = ProductInput()
            input.title = .set(title)
            input.description = .set(description)
            input.price = .set(.init(amount: price, currency: "ZAR"))
            input.categoryId = categoryIDs[category].map { .set($0) } ?? .keep
            input.condition = .set(condition)
            input.type = .set(type)
            if type == "physical" { input.stock = .set(stock) }
            input.lowStockThreshold = .set(type == "physical" ? 1 : 5)
            input.tags = .set(tags)
            if let place, let point = places[place] { input.location = .set(point) }
            let sellerID = sellerIDs[seller]
            let product = try await services.products.create(seller: sellerID, input, logger: logger)
            if type != "physical" {
                // Digital stock is inventory: demo keys, credentials or links, sealed like real ones.
                // Twelve characters from an alphabet without look-alikes (no 0/O, 1/I), like real keys.
                let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                let items = (1...stock).map { unit -> (line: Int, item: String) in
                    let code = String(SecureRandom.bytes(12).map { alphabet[Int($0) % alphabet.count] })
                    switch type {
                    case "link": return (unit, "https://downloads.example.com/\(code.lowercased())")
                    case "credential": return (unit, "demo-user-\(unit) / \(code)")
                    default: return (unit, "DEMO-\(code.prefix(4))-\(code.dropFirst(4).prefix(4))-\(code.suffix(4))")
                    }
                }
                _ = try await services.commerce.inventory.uploadInventory(product.id, actor: sellerID, admin: false, items: items, logger: logger)
            }
            let art = DemoArt.render(width: imageSize.0, height: imageSize.1, seed: DemoArt.seed(for: title), initials: DemoArt.initials(of: title))
            _ = try await services.products.addImage(product.id, seller: sellerID, bytes: PNGEncoder.encode(art), logger: logger)
            _ = try await services.products.transition(product.id, seller: sellerID, .publish, logger: logger)
            productIDs.append(product.id)
        }

        // A little social life: the buyers follow sellers and like a few things.
        for (index, buyer) in buyers.enumerated() {
            for seller in sellers.indices where (seller + index) % 2 == 0 || index == 0 {
                _ = try await services.follows.setFollow(sellers[seller].username, follower: buyer, following: true, logger: logger)
            }
            for product in productIDs.enumerated() where (product.offset + index) % 3 == 0 {
                _ = try await services.products.setLike(product.element, account: buyer, liked: true, logger: logger)
            }
        }
        let summary = Summary(accounts: sellers.count + buyers.count + 1, categories: categories.count, products: productIDs.count)
        logger.info("Demo marketplace loaded", metadata: ["accounts": "\(summary.accounts)", "products": "\(summary.products)"])
        return summary
    }
}
