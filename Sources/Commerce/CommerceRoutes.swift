package import AgoraCore
import Foundation
import HTTPTypes
package import Hummingbird
import Logging
import NIOCore

/// The HTTP face of commerce: cart, checkout, orders, seller orders and shipping, inventory, reviews, balances
/// and payouts, payment webhooks and the simulated payment page.
package struct CommerceRoutes: Sendable {
    let commerce: CommerceServices
    let simulated: SimulatedProvider?

    package init(commerce: CommerceServices, simulated: SimulatedProvider?) {
        self.commerce = commerce
        self.simulated = simulated
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/cart", use: cart)
        router.post("/api/cart/items", use: addItem)
        router.put("/api/cart/items/:productId", use: setItem)
        router.delete("/api/cart/items/:productId", use: removeItem)
        router.delete("/api/cart", use: clearCart)
        router.post("/api/checkout", use: checkout)
        router.get("/api/checkout/options", use: checkoutOptions)
        router.get("/api/addresses", use: addresses)
        router.post("/api/addresses", use: addAddress)
        router.get("/api/addresses/:id", use: address)
        router.put("/api/addresses/:id", use: replaceAddress)
        router.delete("/api/addresses/:id", use: deleteAddress)
        router.post("/api/addresses/:id/default", use: makeDefaultAddress)
        router.get("/api/orders", use: orders)
        router.get("/api/orders/:id", use: order)
        router.post("/api/orders/:id/cancel", use: cancel)
        router.post("/api/orders/:id/confirm", use: confirm)

        router.get("/api/seller/orders", use: sellerOrders)
        router.get("/api/seller/orders/:id", use: sellerOrder)
        router.post("/api/seller/orders/:id/ship", use: ship)
        router.post("/api/seller/orders/:id/deliver", use: deliver)
        router.post("/api/seller/orders/:id/cancel", use: sellerCancel)
        router.post("/api/seller/orders/:id/refunds", use: sellerRefund)
        router.get("/api/seller/balance", use: balance)
        router.get("/api/seller/wallet", use: wallet)
        router.put("/api/seller/wallet", use: setWallet)
        router.delete("/api/seller/wallet", use: removeWallet)
        router.get("/api/seller/payouts", use: sellerPayouts)
        router.post("/api/seller/payouts", use: requestPayout)
        router.post("/api/products/:id/inventory", use: uploadInventory)
        router.get("/api/products/:id/inventory", use: inventory)

        router.get("/api/products/:id/reviews", use: reviews)
        router.post("/api/products/:id/reviews", use: review)
        router.post("/api/reviews/:id/reply", use: reply)

        router.post("/api/payments/webhooks/:provider", use: webhook)
        router.get("/api/payments/simulated/:session", use: simulatedSession)
        router.post("/api/payments/simulated/:session/complete", use: completeSimulated)
    }

    // MARK: Cart and checkout

    struct CartBody: ResponseEncodable { var cart: Cart
        func encode(to encoder: any Encoder) throws { try cart.encode(to: encoder) }
    }
    struct ItemInput: Decodable { var productId: UUID; var quantity: Int? }
    struct QuantityInput: Decodable { var quantity: Int }

    @Sendable func cart(_ request: Request, context: AgoraRequestContext) async throws -> CartBody {
        CartBody(cart: try await commerce.cart.cart(of: try context.requireIdentity().accountID, logger: context.logger))
    }

    @Sendable func addItem(_ request: Request, context: AgoraRequestContext) async throws -> CartBody {
        let buyer = try context.requireIdentity()
        let input = try await request.decode(as: ItemInput.self, context: context)
        return CartBody(cart: try await commerce.cart.setCartItem(input.productId, quantity: input.quantity ?? 1, adding: true, account: buyer.accountID, logger: context.logger))
    }

    @Sendable func setItem(_ request: Request, context: AgoraRequestContext) async throws -> CartBody {
        let buyer = try context.requireIdentity()
        let input = try await request.decode(as: QuantityInput.self, context: context)
        return CartBody(cart: try await commerce.cart.setCartItem(try context.uuidParameter("productId"), quantity: input.quantity, adding: false,
                                                              account: buyer.accountID, logger: context.logger))
    }

    @Sendable func removeItem(_ request: Request, context: AgoraRequestContext) async throws -> CartBody {
        let buyer = try context.requireIdentity()
        return CartBody(cart: try await commerce.cart.removeCartItem(try context.uuidParameter("productId"), account: buyer.accountID, logger: context.logger))
    }

    @Sendable func clearCart(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        try await commerce.cart.clearCart(account: try context.requireIdentity().accountID, logger: context.logger)
        return Response(status: .noContent)
    }

    struct CheckoutInput: Decodable {
        var shippingAddress: ShippingAddress?
        /// One of the buyer's saved addresses, copied into the order (instead of `shippingAddress`).
        var addressId: UUID?
        /// `provider` (the default: the configured payment provider) or `solana_pay`.
        var paymentMethod: PaymentMethod?
    }

    @Sendable func checkout(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<OrderView> {
        let buyer = try context.requireIdentity()
        let input = try await Self.optionalBody(CheckoutInput.self, request, context) ?? CheckoutInput()
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        var address = input.shippingAddress
        if let saved = input.addressId {
            guard address == nil else {
                throw AgoraError(.validation, code: "address_conflict", "Send a shippingAddress or an addressId, not both",
                                 fields: ["addressId": "cannot be sent with shippingAddress"])
            }
            address = try await commerce.addresses.shippingAddress(saved, of: buyer.accountID, logger: context.logger)
        }
        let result = try await commerce.checkout.checkout(
            buyer: buyer.accountID, idempotencyKey: key, shippingAddress: address, method: input.paymentMethod ?? .provider, logger: context.logger
        )
        return EditedResponse(
            status: result.created ? .created : .ok, headers: [.location: "/api/orders/\(result.order.id.uuidString.lowercased())"], response: result.order
        )
    }

    /// How the buyer's cart may be paid: the provider, and whether (and for how many tokens) Solana Pay.
    @Sendable func checkoutOptions(_ request: Request, context: AgoraRequestContext) async throws -> ShopWallets.Options {
        try await commerce.wallets.options(buyer: try context.requireIdentity().accountID, provider: commerce.providers.checkoutProvider, logger: context.logger)
    }

    // MARK: Solana wallet of the seller's shop

    @Sendable func wallet(_ request: Request, context: AgoraRequestContext) async throws -> ShopWallets.Wallet {
        try await commerce.wallets.wallet(of: try context.requireIdentity().accountID, logger: context.logger)
    }

    @Sendable func setWallet(_ request: Request, context: AgoraRequestContext) async throws -> ShopWallets.Wallet {
        let seller = try context.requireIdentity()
        let input = try await request.decode(as: ShopWallets.WalletInput.self, context: context)
        return try await commerce.wallets.setWallet(of: seller.accountID, input, logger: context.logger)
    }

    @Sendable func removeWallet(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        try await commerce.wallets.removeWallet(of: try context.requireIdentity().accountID, logger: context.logger)
        return Response(status: .noContent)
    }

    // MARK: Address book

    @Sendable func addresses(_ request: Request, context: AgoraRequestContext) async throws -> Page<SavedAddress> {
        Page(items: try await commerce.addresses.addresses(of: try context.requireIdentity().accountID, logger: context.logger), nextCursor: nil)
    }

    @Sendable func address(_ request: Request, context: AgoraRequestContext) async throws -> SavedAddress {
        try await commerce.addresses.address(try context.uuidParameter(), of: try context.requireIdentity().accountID, logger: context.logger)
    }

    @Sendable func addAddress(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<SavedAddress> {
        let buyer = try context.requireIdentity()
        let input = try await request.decode(as: SavedAddressInput.self, context: context)
        let saved = try await commerce.addresses.add(input, for: buyer.accountID, logger: context.logger)
        return EditedResponse(status: .created, headers: [.location: "/api/addresses/\(saved.id.uuidString.lowercased())"], response: saved)
    }

    @Sendable func replaceAddress(_ request: Request, context: AgoraRequestContext) async throws -> SavedAddress {
        let buyer = try context.requireIdentity()
        let id = try context.uuidParameter()
        let input = try await request.decode(as: SavedAddressInput.self, context: context)
        return try await commerce.addresses.replace(id, with: input, for: buyer.accountID, logger: context.logger)
    }

    @Sendable func makeDefaultAddress(_ request: Request, context: AgoraRequestContext) async throws -> SavedAddress {
        try await commerce.addresses.makeDefault(try context.uuidParameter(), for: try context.requireIdentity().accountID, logger: context.logger)
    }

    @Sendable func deleteAddress(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        try await commerce.addresses.delete(try context.uuidParameter(), for: try context.requireIdentity().accountID, logger: context.logger)
        return Response(status: .noContent)
    }

    // MARK: Orders

    @Sendable func orders(_ request: Request, context: AgoraRequestContext) async throws -> Page<OrderSummary> {
        let buyer = try context.requireIdentity()
        let page = try request.pagination(defaultLimit: commerce.settings.defaultPageSize, maxLimit: commerce.settings.maxPageSize)
        return try await commerce.orders.orders(of: buyer.accountID, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    @Sendable func order(_ request: Request, context: AgoraRequestContext) async throws -> OrderView {
        try await commerce.orders.buyerOrder(try context.uuidParameter(), buyer: try context.requireIdentity().accountID, logger: context.logger)
    }

    struct SellerOrderInput: Decodable { var sellerOrderId: UUID? }

    @Sendable func cancel(_ request: Request, context: AgoraRequestContext) async throws -> OrderView {
        let buyer = try context.requireIdentity()
        let input = try await Self.optionalBody(SellerOrderInput.self, request, context)
        return try await commerce.checkout.cancel(try context.uuidParameter(), buyer: buyer.accountID, sellerOrder: input?.sellerOrderId, logger: context.logger)
    }

    @Sendable func confirm(_ request: Request, context: AgoraRequestContext) async throws -> OrderView {
        let buyer = try context.requireIdentity()
        let input = try await Self.optionalBody(SellerOrderInput.self, request, context)
        return try await commerce.orders.confirmReceipt(try context.uuidParameter(), buyer: buyer.accountID, sellerOrder: input?.sellerOrderId, logger: context.logger)
    }

    // MARK: Seller

    @Sendable func sellerOrders(_ request: Request, context: AgoraRequestContext) async throws -> Page<SellerOrderView> {
        let seller = try context.requireRole(.seller)
        let page = try request.pagination(defaultLimit: commerce.settings.defaultPageSize, maxLimit: commerce.settings.maxPageSize)
        var status: SellerOrderStatus?
        if let raw = request.uri.queryParameters["status"] {
            guard let value = SellerOrderStatus(rawValue: String(raw)) else {
                throw AgoraError(.badRequest, code: "invalid_parameter",
                                 "status must be one of \(SellerOrderStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = value
        }
        return try await commerce.orders.sellerOrders(of: seller.accountID, status: status, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    @Sendable func sellerOrder(_ request: Request, context: AgoraRequestContext) async throws -> SellerOrderView {
        try await commerce.orders.sellerOrder(try context.uuidParameter(), seller: try context.requireRole(.seller).accountID, logger: context.logger)
    }

    struct ShipInput: Decodable { var carrier: String?; var trackingNumber: String? }

    @Sendable func ship(_ request: Request, context: AgoraRequestContext) async throws -> SellerOrderView {
        let seller = try context.requireRole(.seller)
        let input = try await request.decode(as: ShipInput.self, context: context)
        return try await commerce.orders.ship(try context.uuidParameter(), seller: seller.accountID, carrier: input.carrier ?? "", trackingNumber: input.trackingNumber ?? "",
                                       logger: context.logger)
    }

    @Sendable func deliver(_ request: Request, context: AgoraRequestContext) async throws -> SellerOrderView {
        try await commerce.orders.markDelivered(try context.uuidParameter(), seller: try context.requireRole(.seller).accountID, logger: context.logger)
    }

    struct SellerCancelInput: Decodable { var reason: String? }

    @Sendable func sellerCancel(_ request: Request, context: AgoraRequestContext) async throws -> SellerOrderView {
        let seller = try context.requireRole(.seller)
        let input = try await Self.optionalBody(SellerCancelInput.self, request, context)
        return try await commerce.checkout.sellerCancel(try context.uuidParameter(), seller: seller.accountID, note: input?.reason, logger: context.logger)
    }

    struct SellerRefundInput: Decodable { var amount: Int64; var reason: String? }

    /// A partial refund; `Idempotency-Key` makes a retried request refund once.
    @Sendable func sellerRefund(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<SellerOrderView> {
        let seller = try context.requireRole(.seller)
        let input = try await request.decode(as: SellerRefundInput.self, context: context)
        let view = try await commerce.checkout.sellerRefund(
            try context.uuidParameter(), seller: seller.accountID, amount: input.amount, note: input.reason,
            idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!], logger: context.logger
        )
        return EditedResponse(status: .created, response: view)
    }

    struct BalanceBody: ResponseEncodable { var balances: [Balance] }

    @Sendable func balance(_ request: Request, context: AgoraRequestContext) async throws -> BalanceBody {
        BalanceBody(balances: try await commerce.payouts.balances(of: try context.requireRole(.seller).accountID, logger: context.logger))
    }

    @Sendable func sellerPayouts(_ request: Request, context: AgoraRequestContext) async throws -> Page<Payout> {
        let seller = try context.requireRole(.seller)
        let page = try request.pagination(defaultLimit: commerce.settings.defaultPageSize, maxLimit: commerce.settings.maxPageSize)
        return try await commerce.payouts.payouts(seller: seller.accountID, status: nil, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    struct PayoutInput: Decodable { var currency: String? }

    @Sendable func requestPayout(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<Payout> {
        let seller = try context.requireRole(.seller)
        let input = try await Self.optionalBody(PayoutInput.self, request, context)
        let payout = try await commerce.payouts.requestPayout(seller: seller.accountID, currency: input?.currency, logger: context.logger)
        return EditedResponse(status: .created, response: payout)
    }

    @Sendable func uploadInventory(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<InventoryService.InventoryUpload> {
        let seller = try context.requireRole(.seller)
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let lines = try InventoryService.inventoryLines(Array(buffer: body), contentType: request.headers[.contentType])
        let result = try await commerce.inventory.uploadInventory(try context.uuidParameter(), actor: seller.accountID, admin: seller.role == .admin, items: lines, logger: context.logger)
        return EditedResponse(status: .created, response: result)
    }

    @Sendable func inventory(_ request: Request, context: AgoraRequestContext) async throws -> InventoryService.InventoryCounts {
        let seller = try context.requireRole(.seller)
        return try await commerce.inventory.inventoryCounts(try context.uuidParameter(), actor: seller.accountID, admin: seller.role == .admin, logger: context.logger)
    }

    // MARK: Reviews

    @Sendable func reviews(_ request: Request, context: AgoraRequestContext) async throws -> ReviewPage {
        let page = try request.pagination(defaultLimit: commerce.settings.defaultPageSize, maxLimit: commerce.settings.maxPageSize)
        return try await commerce.reviews.productReviews(try context.uuidParameter(), limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    struct ReviewInput: Decodable { var rating: Int; var body: String? }

    @Sendable func review(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<Review> {
        let buyer = try context.requireIdentity()
        let input = try await request.decode(as: ReviewInput.self, context: context)
        let review = try await commerce.reviews.review(try context.uuidParameter(), buyer: buyer.accountID, rating: input.rating, body: input.body ?? "", logger: context.logger)
        return EditedResponse(status: .created, response: review)
    }

    struct ReplyInput: Decodable { var reply: String }

    @Sendable func reply(_ request: Request, context: AgoraRequestContext) async throws -> Review {
        let seller = try context.requireRole(.seller)
        let input = try await request.decode(as: ReplyInput.self, context: context)
        return try await commerce.reviews.reply(to: try context.uuidParameter(), seller: seller.accountID, text: input.reply, logger: context.logger)
    }

    // MARK: Payments

    struct WebhookBody: ResponseEncodable { var received: Bool; var outcome: String }

    /// A provider's webhook. The body is read as bytes and verified before anything else looks at it.
    @Sendable func webhook(_ request: Request, context: AgoraRequestContext) async throws -> WebhookBody {
        let name = context.parameters.get("provider") ?? ""
        let provider = try commerce.checkout.provider(name)
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let signature = request.headers[HTTPField.Name(provider.signatureHeader)!]
        let outcome = try await commerce.checkout.handleWebhook(provider: name, payload: Array(buffer: body), signature: signature, logger: context.logger)
        return WebhookBody(received: true, outcome: outcome.rawValue)
    }

    @Sendable func simulatedSession(_ request: Request, context: AgoraRequestContext) async throws -> SimulatedProvider.Session {
        try await requireSimulated().session(context.parameters.get("session") ?? "", logger: context.logger)
    }

    struct CompleteInput: Decodable { var outcome: String }
    struct CompleteBody: ResponseEncodable { var outcome: String; var orderStatus: String; var returnURL: String }

    /// The payment page's Pay / Fail button: the provider signs the event, and it goes through `handleWebhook`
    /// exactly as a delivery to `/api/payments/webhooks/simulated` would.
    @Sendable func completeSimulated(_ request: Request, context: AgoraRequestContext) async throws -> CompleteBody {
        let simulated = try requireSimulated()
        let input = try await request.decode(as: CompleteInput.self, context: context)
        guard input.outcome == "paid" || input.outcome == "failed" else {
            throw AgoraError(.validation, "outcome must be paid or failed", fields: ["outcome": "must be paid or failed"])
        }
        let id = context.parameters.get("session") ?? ""
        let delivery = try await simulated.completion(id, paid: input.outcome == "paid", logger: context.logger)
        let result = try await commerce.checkout.applyWebhook(
            provider: simulated.name, payload: delivery.payload, signature: delivery.signature, logger: context.logger
        )
        // The status is read only when the outcome does not say it (a duplicate, say).
        var status = result.orderStatus
        if status == nil { status = try await commerce.orders.orderStatus(delivery.orderID, logger: context.logger) }
        return CompleteBody(
            outcome: result.outcome.rawValue, orderStatus: status?.rawValue ?? "unknown", returnURL: simulated.returnURL(of: delivery.orderID)
        )
    }

    func requireSimulated() throws -> SimulatedProvider {
        guard let simulated else { throw AgoraError(.notFound, code: "not_found", "The simulated payment provider is not enabled") }
        return simulated
    }

    // MARK: Helpers

    /// A JSON body that may be absent (no bytes at all).
    static func optionalBody<T: Decodable>(_ type: T.Type, _ request: Request, _ context: AgoraRequestContext) async throws -> T? {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        guard body.readableBytes > 0 else { return nil }
        return try await request.decode(as: T.self, context: context)
    }
}

extension OrderView: ResponseEncodable {}
extension SavedAddress: ResponseEncodable {}
extension SellerOrderView: ResponseEncodable {}
extension ReviewPage: ResponseEncodable {}
extension Review: ResponseEncodable {}
extension Payout: ResponseEncodable {}
extension SimulatedProvider.Session: ResponseEncodable {}
extension InventoryService.InventoryUpload: ResponseEncodable {}
extension InventoryService.InventoryCounts: ResponseEncodable {}
extension ShopWallets.Options: ResponseEncodable {}
extension ShopWallets.Wallet: ResponseEncodable {}
