import Accounts
import AgoraCore
import Catalog
import Commerce
import Foundation
import Hummingbird
import Logging

/// `GET /api/users/:username/shop`: what a shop's public profile shows beside the account's own profile (which
/// carries the verified-email badge): its rating, its delivered sales and its listings. Each figure comes from the
/// domain that owns it, asked at once; this composition is why the route lives here.
struct ShopRoutes: Sendable {
    let accounts: AccountsService
    let products: ProductService
    let orders: OrderService

    struct Shop: ResponseEncodable, Decodable, Equatable {
        var rating: Rating
        var salesCount: Int
        var listingCount: Int
    }

    func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/users/:username/shop") { request, context -> Shop in
            let username = try context.parameters.require("username")
            guard let seller = try await accounts.accountID(username: username, logger: context.logger) else {
                throw AgoraError(.notFound, code: "user_not_found", "No user named \(username.prefix(30))")
            }
            async let figures = orders.shopFigures(of: seller, logger: context.logger)
            async let listings = products.listingCount(of: seller, logger: context.logger)
            let (sold, listed) = try await (figures, listings)
            return Shop(rating: sold.rating, salesCount: sold.salesCount, listingCount: listed)
        }
    }
}
