import Accounts
package import AgoraApp
import AgoraCore
import AgoraPostgres
import Foundation
import HTTPTypes
package import Logging
import Testing

/// Accounts and products for catalog tests, made through the real API.
package struct Market: Sendable {
    package let api: API
    package let services: AgoraServices
    package var logger: Logger { TestServices.logger }

    package init(api: API, services: AgoraServices) {
        self.api = api
        self.services = services
    }

    /// A verified seller; returns a grant whose token carries the seller role.
    package func seller(_ username: String) async throws -> Grant {
        var grant = try await api.register(username)
        try await services.db.execute(
            "UPDATE accounts SET email_verified_at = now() WHERE id = \(try #require(UUID(uuidString: grant.accountID)))", logger: logger
        )
        let response = try await api.call(.post, "/api/me/seller", bearer: grant.accessToken)
        try #require(response.status == .ok, "become seller: \(response.raw)")
        grant.accessToken = try #require(response["accessToken"] as? String)
        return grant
    }

    /// An admin (set as `agora set-role` does), logged in again so the token carries the role.
    package func admin(_ username: String) async throws -> Grant {
        _ = try await api.register(username)
        _ = try await services.auth.accounts.setRole(username: username, to: .admin, logger: logger)
        let login = try await api.login("\(username)@example.com")
        try #require(login.status == .ok, "admin login: \(login.raw)")
        return try Grant(login)
    }

    /// Creates a product (a draft unless `publish`), returning its JSON.
    @discardableResult
    package func product(_ seller: Grant, _ fields: [String: Any?] = [:], publish: Bool = true) async throws -> [String: Any] {
        var body: [String: Any?] = ["title": "Test product", "price": ["amount": 1000, "currency": "ZAR"], "stock": 5]
        body.merge(fields) { _, new in new }
        // A digital product's stock comes from its inventory uploads.
        if let type = fields["type"] as? String, type != "physical", fields["stock"] == nil { body["stock"] = nil }
        let created = try await api.call(.post, "/api/products", json: body, bearer: seller.accessToken)
        try #require(created.status == .created, "create product: \(created.raw)")
        guard publish else { return created.body }
        let id = try #require(created["id"] as? String)
        let published = try await api.call(.post, "/api/products/\(id)/publish", bearer: seller.accessToken)
        try #require(published.status == .ok, "publish: \(published.raw)")
        return published.body
    }

    /// The titles of a listing page, and its next cursor.
    package func titles(_ path: String, bearer: String? = nil) async throws -> (titles: [String], next: String?) {
        let response = try await api.call(.get, path, bearer: bearer)
        try #require(response.status == .ok, "GET \(path): \(response.raw)")
        let items = try #require(response["items"] as? [[String: Any]])
        return (items.compactMap { $0["title"] as? String }, response["nextCursor"] as? String)
    }
}

extension Market {
    /// The titles `GET /api/products?<query>` lists.
    package func listed(_ query: String) async throws -> Set<String> { Set(try await titles("/api/products?\(query)").titles) }
}

extension String {
    /// Percent-encoded for a query string value.
    package var query: String { addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? self }
}
