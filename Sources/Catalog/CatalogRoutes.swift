package import AgoraCore
import Foundation
import HTTPTypes
package import Hummingbird
import Logging
import NIOCore

/// `/api/products*`, `/api/me/products`, `/api/me/likes` and `/api/categories*`.
package struct CatalogRoutes: Sendable {
    let products: ProductService
    let categories: CategoryService
    let views: ProductViews

    package init(products: ProductService, categories: CategoryService, views: ProductViews) {
        self.products = products
        self.categories = categories
        self.views = views
    }

    struct CategoriesBody: ResponseEncodable { var categories: [Category] }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/products", use: search)
        router.post("/api/products", use: create)
        router.get("/api/products/:id", use: show)
        router.patch("/api/products/:id", use: update)
        router.post("/api/products/:id/publish") { try await self.transition($0, $1, .publish) }
        router.post("/api/products/:id/unpublish") { try await self.transition($0, $1, .unpublish) }
        router.post("/api/products/:id/archive") { try await self.transition($0, $1, .archive) }
        router.put("/api/products/:id/like") { try await self.like($0, $1, liked: true) }
        router.delete("/api/products/:id/like") { try await self.like($0, $1, liked: false) }
        router.get("/api/me/likes", use: myLikes)
        router.get("/api/me/products", use: myProducts)
        router.get("/api/categories", use: tree)
        router.post("/api/categories", use: createCategory)
        router.patch("/api/categories/:id", use: updateCategory)
        router.delete("/api/categories/:id", use: deleteCategory)
    }

    @Sendable func search(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let query = try ProductQuery.parse(
            Self.parameters(request), defaultLimit: products.settings.defaultPageSize, maxLimit: products.settings.maxPageSize
        )
        return Self.json(try await products.search(query, viewer: context.identity?.accountID, logger: context.logger))
    }

    @Sendable func create(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<Product> {
        let seller = try context.requireRole(.seller)
        let input = try await request.decode(as: ProductInput.self, context: context)
        let product = try await products.create(seller: seller.accountID, input, logger: context.logger)
        return EditedResponse(status: .created, headers: [.location: "/api/products/\(product.id)"], response: product)
    }

    /// `GET /api/products/:id`, where `:id` may also be a slug, current or retired (the PWA's `/p/<slug>` pages).
    @Sendable func show(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        let key = context.parameters.get("id") ?? ""
        let id: UUID
        if let parsed = UUID(uuidString: key) {
            id = parsed
        } else if let address = try await products.address(key, logger: context.logger) {
            id = address.id
        } else {
            throw AgoraError(.notFound, code: "product_not_found", "No such product")
        }
        let (product, json) = try await products.rendered(id, viewer: context.identity, logger: context.logger)
        // A seller looking at their own listing is not a view.
        if product.status == .published, product.sellerID != context.identity?.accountID {
            let viewer = context.identity.map { "a:\($0.accountID)" } ?? "ip:\(context.clientIP ?? "unknown")"
            views.record(id, viewer: viewer, logger: context.logger)
        }
        return Self.json(json)
    }

    /// A 200 with JSON the service already rendered (from the cache, as bytes).
    package static func json(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func update(_ request: Request, context: AgoraRequestContext) async throws -> Product {
        let seller = try context.requireRole(.seller)
        let input = try await request.decode(as: ProductInput.self, context: context)
        return try await products.update(try context.uuidParameter(), seller: seller.accountID, input, logger: context.logger)
    }

    func transition(_ request: Request, _ context: AgoraRequestContext, _ transition: ProductService.Transition) async throws -> Product {
        let seller = try context.requireRole(.seller)
        return try await products.transition(try context.uuidParameter(), seller: seller.accountID, transition, logger: context.logger)
    }

    func like(_ request: Request, _ context: AgoraRequestContext, liked: Bool) async throws -> ProductService.LikeState {
        let identity = try context.requireIdentity()
        return try await products.setLike(try context.uuidParameter(), account: identity.accountID, liked: liked, logger: context.logger)
    }

    @Sendable func myLikes(_ request: Request, context: AgoraRequestContext) async throws -> ProductPage {
        let identity = try context.requireIdentity()
        let (limit, cursor) = try request.pagination(defaultLimit: products.settings.defaultPageSize, maxLimit: products.settings.maxPageSize)
        return try await products.likes(of: identity.accountID, limit: limit, cursor: cursor, logger: context.logger)
    }

    @Sendable func myProducts(_ request: Request, context: AgoraRequestContext) async throws -> ProductPage {
        let seller = try context.requireRole(.seller)
        let (limit, cursor) = try request.pagination(defaultLimit: products.settings.defaultPageSize, maxLimit: products.settings.maxPageSize)
        var status: ProductStatus?
        if let raw = request.uri.queryParameters.get("status") {
            guard let value = ProductStatus(rawValue: raw) else {
                throw AgoraError(.validation, "Some query parameters are not valid", fields: ["status": "must be one of draft, published, unpublished, archived"])
            }
            status = value
        }
        return try await products.sellerProducts(seller.accountID, status: status, limit: limit, cursor: cursor, logger: context.logger)
    }

    @Sendable func tree(_ request: Request, context: AgoraRequestContext) async throws -> CategoriesBody {
        CategoriesBody(categories: try await categories.tree(logger: context.logger))
    }

    @Sendable func createCategory(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<Category> {
        _ = try context.requireRole(.admin)
        let input = try await request.decode(as: CategoryInput.self, context: context)
        let category = try await categories.create(input, logger: context.logger)
        return EditedResponse(status: .created, response: category)
    }

    @Sendable func updateCategory(_ request: Request, context: AgoraRequestContext) async throws -> Category {
        _ = try context.requireRole(.admin)
        let input = try await request.decode(as: CategoryInput.self, context: context)
        return try await categories.update(try context.uuidParameter(), input, logger: context.logger)
    }

    @Sendable func deleteCategory(_ request: Request, context: AgoraRequestContext) async throws -> Response {
        _ = try context.requireRole(.admin)
        try await categories.delete(try context.uuidParameter(), logger: context.logger)
        return Response(status: .noContent)
    }

    // MARK: - Parsing

    /// Query parameters as a dictionary; a repeated parameter is a 400, so nothing is silently ignored.
    static func parameters(_ request: Request) throws -> [String: String] {
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            guard parameters.updateValue(String(value), forKey: String(name)) == nil else {
                throw AgoraError(.badRequest, code: "repeated_parameter", "Query parameter '\(name.prefix(40))' is given more than once")
            }
        }
        return parameters
    }
}

// Products and pages answer through ProductJSONWriter: the same JSON as their Codable form, much cheaper.
extension Product: ResponseGenerator {
    package func response(from request: Request, context: some RequestContext) throws -> Response {
        CatalogRoutes.json(ProductJSONWriter.render(self))
    }
}

extension ProductPage: ResponseGenerator {
    package func response(from request: Request, context: some RequestContext) throws -> Response {
        CatalogRoutes.json(ProductJSONWriter.render(self))
    }
}
extension Category: ResponseEncodable {}
extension ProductService.LikeState: ResponseEncodable {}
