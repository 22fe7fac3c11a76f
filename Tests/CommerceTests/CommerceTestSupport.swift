import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Buyers, sellers, products and payments for commerce tests, through the real API.
struct Shop: Sendable {
    let market: Market
    var api: API { market.api }
    var services: AgoraServices { market.services }

    static var address: [String: Any?] { [
        "name": "Thandi Buyer", "line1": "12 Long Street", "city": "Cape Town", "region": "Western Cape", "postalCode": "8001",
        "country": "ZA",
    ] }

    /// Settings for commerce tests: no rate limits (many checkouts from one account), no dispatcher noise.
    static let overrides = ["AGORA_RATE_LIMITS": "false", "AGORA_MAIL_DISPATCH": "false"]

    func buyer(_ username: String) async throws -> Grant { try await api.register(username) }

    /// A published product of `seller`; digital ones are stocked with `items`.
    func product(_ seller: Grant, _ fields: [String: Any?] = [:], items: [String] = []) async throws -> String {
        let product = try await market.product(seller, fields)
        let id = try #require(product["id"] as? String)
        if !items.isEmpty {
            let upload = try await upload(items.joined(separator: "\n"), to: id, as: seller)
            try #require(upload.status == .created, "inventory: \(upload.raw)")
        }
        return id
    }

    func upload(_ text: String, to product: String, as seller: Grant, contentType: String = "text/plain") async throws -> APIResponse {
        try await api.client.execute(
            uri: "/api/products/\(product)/inventory", method: .post,
            headers: [.contentType: contentType, .authorization: "Bearer \(seller.accessToken)"], body: ByteBuffer(string: text)
        ) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
            return APIResponse(status: response.status, headers: response.headers, body: object ?? [:], raw: String(buffer: response.body))
        }
    }

    func add(_ product: String, _ quantity: Int = 1, as buyer: Grant) async throws -> APIResponse {
        try await api.call(.post, "/api/cart/items", json: ["productId": product, "quantity": quantity], bearer: buyer.accessToken)
    }

    func checkout(_ buyer: Grant, address: [String: Any?]? = Shop.address, key: String? = nil) async throws -> APIResponse {
        var headers: HTTPFields = [:]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await api.call(.post, "/api/checkout", json: address.map { ["shippingAddress": $0] } ?? [:], bearer: buyer.accessToken, headers: headers)
    }

    /// Buys `product` × `quantity` as `buyer` and returns the order's id (pending payment).
    func order(_ product: String, _ quantity: Int = 1, as buyer: Grant) async throws -> String {
        let added = try await add(product, quantity, as: buyer)
        try #require(added.status == .ok, "add: \(added.raw)")
        let placed = try await checkout(buyer)
        try #require(placed.status == .created, "checkout: \(placed.raw)")
        return try #require(placed["id"] as? String)
    }

    /// The simulated payment session of a pending order.
    func session(of order: String, as buyer: Grant) async throws -> String {
        let shown = try await api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
        let payment = try #require(shown["payment"] as? [String: Any])
        let url = try #require(payment["url"] as? String, "no payment url: \(shown.raw)")
        return try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "session" }?.value)
    }

    /// Pays (or fails) through the payment page's endpoint, as the buyer's browser would.
    @discardableResult
    func pay(_ order: String, as buyer: Grant, outcome: String = "paid") async throws -> APIResponse {
        let session = try await session(of: order, as: buyer)
        let paid = try await api.call(.post, "/api/payments/simulated/\(session)/complete", json: ["outcome": outcome])
        try #require(paid.status == .ok, "pay: \(paid.raw)")
        return paid
    }

    /// A signed webhook delivery for a session, made by the provider but not yet delivered.
    func delivery(for order: String, as buyer: Grant, paid: Bool = true) async throws -> (payload: [UInt8], signature: String) {
        let session = try await session(of: order, as: buyer)
        return try await services.simulatedPayments.complete(session, paid: paid, logger: market.logger)
    }

    func deliver(_ delivery: (payload: [UInt8], signature: String)) async throws -> APIResponse {
        try await api.client.execute(
            uri: "/api/payments/webhooks/simulated", method: .post,
            headers: [.contentType: "application/json", HTTPField.Name("Agora-Signature")!: delivery.signature],
            body: ByteBuffer(bytes: delivery.payload)
        ) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
            return APIResponse(status: response.status, headers: response.headers, body: object ?? [:], raw: String(buffer: response.body))
        }
    }

    func int(_ sql: PGQuery) async throws -> Int {
        try await services.db.query(sql, logger: market.logger)[0].decode(column: 0)
    }

    func stock(_ product: String) async throws -> (stock: Int, reserved: Int) {
        let row = try await services.db.query("SELECT stock, reserved FROM products WHERE id = \(UUID(uuidString: product)!)", logger: market.logger)[0]
        return (try row.decode("stock"), try row.decode("reserved"))
    }
}

extension APIResponse {
    func money(_ key: String) -> Int? { (body[key] as? [String: Any])?["amount"] as? Int }
    var sellerOrders: [[String: Any]] { body["sellerOrders"] as? [[String: Any]] ?? [] }
}
