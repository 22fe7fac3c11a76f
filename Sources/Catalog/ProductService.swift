package import AgoraCore
package import AgoraEvents
package import AgoraMedia
package import AgoraPostgres
package import Foundation
package import Logging

/// Products: a seller's own listings and their life cycle (draft → published ⇄ unpublished → archived), the
/// public detail view, likes, and browse/search (`ProductService+Search.swift`). Owns `products`,
/// `product_images` and `product_likes`.
package struct ProductService: Sendable {
    /// Settings of the service.
    package struct Settings: Sendable {
        /// Page size when a listing names none.
        package var defaultPageSize: Int
        /// The largest `limit` a listing accepts (`AGORA_PAGE_SIZE_MAX`).
        package var maxPageSize: Int
        /// At most this many images per product.
        package var maxImages: Int
        /// Size and pixel bounds of each image.
        package var imageLimits: ImageLimits
        package init(defaultPageSize: Int = 24, maxPageSize: Int = 100, maxImages: Int = 10, imageLimits: ImageLimits = .init()) {
            self.defaultPageSize = defaultPageSize
            self.maxPageSize = maxPageSize
            self.maxImages = maxImages
            self.imageLimits = imageLimits
        }
    }

    let db: PGPool
    let sellers: any AccountDirectory
    let events: EventOutbox
    let cache: CatalogCache
    let images: ImageStore
    let settings: Settings

    package init(db: PGPool, sellers: any AccountDirectory, events: EventOutbox, cache: CatalogCache, images: ImageStore, settings: Settings) {
        self.db = db
        self.images = images
        self.sellers = sellers
        self.events = events
        self.cache = cache
        self.settings = settings
    }

    /// Creates a draft of `seller`'s.
    /// - Throws: 422 naming each invalid field (an unknown category included).
    package func create(seller: UUID, _ input: ProductInput, logger: Logger) async throws -> Product {
        let fields = try ProductValidation.check(input, creating: true)
        guard let title = fields.title, let price = fields.price else { throw AgoraError(.internalError, "unreachable") }
        if fields.type?.isDigital == true, (fields.stock ?? 0) != 0 { throw Self.stockFromInventory }
        let id: UUID = try await mapCategoryViolation {
            try await db.query(
                """
                INSERT INTO products (seller_id, category_id, title, description, price_minor, currency, condition, tags, stock,
                                      low_stock_threshold, type, latitude, longitude)
                VALUES (\(seller), \(fields.categoryID), \(title), \(fields.description ?? ""), \(price.amount), \(price.currency),
                        \(fields.condition?.rawValue ?? "new"), \(fields.tags ?? []), \(fields.stock ?? 0), \(fields.lowStockThreshold ?? 0),
                        \(fields.type?.rawValue ?? "physical"), \(fields.location?.lat), \(fields.location?.lng))
                RETURNING id
                """,
                logger: logger
            ).one().decode("id")
        }
        logger.info("Product created", metadata: ["agora.product_id": "\(id)"])
        return try await ownProduct(id, seller: seller, logger: logger)
    }

    /// Applies `input` to `seller`'s product `id`: only the fields present change.
    /// - Throws: 404 when the product is not the seller's (whether or not it exists), 409 for an archived one, 422
    ///   naming each invalid field; nothing changes unless every field is valid.
    package func update(_ id: UUID, seller: UUID, _ input: ProductInput, logger: Logger) async throws -> Product {
        let fields = try ProductValidation.check(input, creating: false)
        try await mapCategoryViolation {
            try await db.withTransaction(logger: logger) { tx in
                let old = try await lockOwned(id, seller: seller, in: tx)
                guard old.status != .archived else {
                    throw AgoraError(.conflict, code: "product_archived", "An archived product cannot be edited")
                }
                // A digital product's stock is its count of inventory items, so only uploads change it, and its type
                // is fixed once it holds stock (items would not fit the new type).
                if (fields.type ?? old.type).isDigital, fields.stock != nil { throw Self.stockFromInventory }
                if let type = fields.type, type != old.type, old.stock > 0 {
                    throw AgoraError(.conflict, code: "type_locked", "The type of a product cannot change while it has stock")
                }
                try await tx.execute(
                    """
                    UPDATE products SET
                        title = coalesce(\(fields.title), title),
                        description = coalesce(\(fields.description), description),
                        price_minor = coalesce(\(fields.price?.amount), price_minor),
                        currency = coalesce(\(fields.price?.currency), currency),
                        category_id = CASE WHEN \(fields.clearCategory) THEN NULL ELSE coalesce(\(fields.categoryID), category_id) END,
                        condition = coalesce(\(fields.condition?.rawValue), condition),
                        tags = coalesce(\(fields.tags), tags),
                        stock = coalesce(\(fields.stock), stock),
                        low_stock_threshold = coalesce(\(fields.lowStockThreshold), low_stock_threshold),
                        type = coalesce(\(fields.type?.rawValue), type),
                        latitude = CASE WHEN \(fields.clearLocation) THEN NULL ELSE coalesce(\(fields.location?.lat), latitude) END,
                        longitude = CASE WHEN \(fields.clearLocation) THEN NULL ELSE coalesce(\(fields.location?.lng), longitude) END,
                        updated_at = now()
                    WHERE id = \(id)
                    """
                )
                try await events.record(Self.changeEvents(old: old, fields: fields, actor: seller, product: id), in: tx)
            }
        } onStockBelowReserved: {
            AgoraError(.validation, code: "stock_below_reserved", "Stock cannot go below what open checkouts hold", fields: ["stock": "must be at least the reserved quantity"])
        }
        await cache.invalidate(products: [id], logger: logger)
        return try await ownProduct(id, seller: seller, logger: logger)
    }

    /// A status change a seller asks for.
    package enum Transition: String, Sendable {
        case publish, unpublish, archive
    }

    /// Publishes, unpublishes or archives `seller`'s product.
    ///
    /// Publishing needs a draft or unpublished product; unpublishing a published one; archiving works from any
    /// state but is final (the row stays, so orders keep pointing at it). Repeating a transition that already
    /// holds is a no-op, so retries are safe.
    /// - Throws: 404 when not the seller's; 409 for a transition the state does not allow.
    package func transition(_ id: UUID, seller: UUID, _ transition: Transition, logger: Logger) async throws -> Product {
        try await db.withTransaction(logger: logger) { tx in
            let old = try await lockOwned(id, seller: seller, in: tx)
            let target: ProductStatus =
                switch transition {
                case .publish: .published
                case .unpublish: .unpublished
                case .archive: .archived
                }
            guard old.status != target else { return }
            let allowed: Bool =
                switch (old.status, target) {
                case (.draft, .published), (.unpublished, .published), (.published, .unpublished), (_, .archived): true
                default: false
                }
            guard allowed else {
                throw AgoraError(.conflict, code: "invalid_transition", "A product that is \(old.status.rawValue) cannot be \(transition.rawValue)ed")
            }
            try await tx.execute(
                """
                UPDATE products SET status = \(target.rawValue), updated_at = now(),
                    published_at = CASE WHEN \(target == .published) THEN now() ELSE published_at END
                WHERE id = \(id)
                """
            )
            let kind: DomainEvent.Kind =
                switch target {
                case .published: .productPublished
                case .unpublished: .productUnpublished
                default: .productArchived
                }
            try await events.record(DomainEvent(kind, actor: seller, subject: id, payload: ["sellerId": .string(seller.uuidString)]), in: tx)
        }
        logger.info("Product status changed", metadata: ["agora.product_id": "\(id)", "transition": "\(transition.rawValue)"])
        await cache.invalidate(products: [id], logger: logger)
        return try await ownProduct(id, seller: seller, logger: logger)
    }

    // MARK: - Reading

    /// Product `id` as `viewer` may see it, as response JSON: published products to everyone, any other state only
    /// to its seller (and admins). Published details come from the cache when they can, as bytes.
    /// - Throws: 404 when the viewer may not see it, so a draft's existence is not revealed.
    package func rendered(_ id: UUID, viewer: Identity?, logger: Logger) async throws -> (product: RenderedProduct, json: [UInt8]) {
        let keys = cache.productKeys(id)
        let lookup = await cache.lookup(keys, logger: logger)
        var cached: RenderedProduct?
        if case .hit(let bytes) = lookup { cached = RenderedProduct(cacheLine: bytes[...]) }
        // The cache holds the public view; its seller (and admins) see stock too, so read the row for them.
        if let cached, let viewer, viewer.accountID == cached.sellerID || viewer.role == .admin {
            return try await ownerView(id, viewer: viewer, logger: logger)
        }
        if let cached {
            return (cached, cached.json(likedByMe: try await liked(id, by: viewer, logger: logger)))
        }
        let product = try await load(id, logger: logger)
        let isOwner = viewer.map { $0.accountID == product.seller.id || $0.role == .admin } ?? false
        guard product.status == .published || isOwner else {
            throw AgoraError(.notFound, code: "product_not_found", "No such product")
        }
        let publicView = try RenderedProduct(product.publicView)
        if product.status == .published, case .miss(let version) = lookup {
            await cache.store(publicView.cacheLine, keys, seen: version, logger: logger)
        }
        if isOwner, let viewer { return try await ownerView(id, product: product, viewer: viewer, logger: logger) }
        return (publicView, publicView.json(likedByMe: try await liked(id, by: viewer, logger: logger)))
    }

    func ownerView(_ id: UUID, product: Product? = nil, viewer: Identity, logger: Logger) async throws -> (product: RenderedProduct, json: [UInt8]) {
        let loaded: Product
        if let product { loaded = product } else { loaded = try await load(id, logger: logger) }
        let rendered = try RenderedProduct(loaded)
        return (rendered, rendered.json(likedByMe: try await liked(id, by: viewer, logger: logger)))
    }

    /// Whether `viewer` likes `id`; nil for anonymous callers.
    func liked(_ id: UUID, by viewer: Identity?, logger: Logger) async throws -> Bool? {
        guard let viewer else { return nil }
        return try await likedSet(of: viewer.accountID, among: [id], logger: logger).contains(id)
    }

    /// The seller's own view of their product.
    func ownProduct(_ id: UUID, seller: UUID, logger: Logger) async throws -> Product {
        var product = try await load(id, logger: logger)
        guard product.seller.id == seller else { throw AgoraError(.notFound, code: "product_not_found", "No such product") }
        product.likedByMe = try await likedSet(of: seller, among: [id], logger: logger).contains(id)
        return product
    }

    func load(_ id: UUID, logger: Logger) async throws -> Product {
        let rows = try await db.query("SELECT \(literal: Product.columns) FROM \(literal: Product.from) WHERE p.id = \(id)", logger: logger)
        guard let row = rows.first else { throw AgoraError(.notFound, code: "product_not_found", "No such product") }
        return try await products(from: [row], logger: logger).one()
    }

    /// Products from rows selected with `Product.columns`, with their sellers.
    func products(from rows: [PGRow], logger: Logger) async throws -> [Product] {
        let sellerIDs = try Array(Set(rows.map { try $0.decode("seller_id", as: UUID.self) }))
        let sellers = sellerIDs.isEmpty ? [:] : try await self.sellers.summaries(sellerIDs, logger: logger)
        return try rows.map { row in
            let sellerID: UUID = try row.decode("seller_id")
            let seller = sellers[sellerID] ?? AccountSummary(id: sellerID, username: "unknown", displayName: "Unknown seller", avatarUrl: nil)
            return try Product(row: row, seller: seller)
        }
    }

    /// The stored state of `seller`'s product, locked for the rest of the transaction.
    static let stockFromInventory = AgoraError(
        .validation, code: "stock_from_inventory", "The stock of a digital product is the count of its uploaded inventory items",
        fields: ["stock": "comes from POST /api/products/:id/inventory for key, credential and link products"]
    )

    struct Snapshot {
        var status: ProductStatus
        var type: ProductType
        var price: Money
        var stock: Int
        var lowStockThreshold: Int
    }

    func lockOwned(_ id: UUID, seller: UUID, in tx: PGTransaction) async throws -> Snapshot {
        let rows = try await tx.query(
            "SELECT status, type, price_minor, currency, stock, low_stock_threshold FROM products WHERE id = \(id) AND seller_id = \(seller) FOR UPDATE"
        )
        // Someone else's product is "not found" too: a seller learns nothing about other sellers' drafts.
        guard let row = rows.first else { throw AgoraError(.notFound, code: "product_not_found", "No such product") }
        return Snapshot(
            status: try Product.enumValue(row, "status"),
            type: try Product.enumValue(row, "type"),
            price: Money(amount: try row.decode("price_minor"), currency: try row.decode("currency")),
            stock: try row.decode("stock"),
            lowStockThreshold: try row.decode("low_stock_threshold")
        )
    }

    static func changeEvents(old: Snapshot, fields: ProductFields, actor: UUID, product: UUID) -> [DomainEvent] {
        var events: [DomainEvent] = []
        if let price = fields.price, price != old.price {
            events.append(DomainEvent(.productPriceChanged, actor: actor, subject: product, payload: [
                "oldAmount": .int(old.price.amount), "oldCurrency": .string(old.price.currency),
                "amount": .int(price.amount), "currency": .string(price.currency),
            ]))
        }
        if let stock = fields.stock, stock != old.stock {
            let threshold = fields.lowStockThreshold ?? old.lowStockThreshold
            events.append(DomainEvent(.productStockChanged, actor: actor, subject: product, payload: [
                "oldStock": .int(Int64(old.stock)), "stock": .int(Int64(stock)), "lowStockThreshold": .int(Int64(threshold)),
                "lowStock": .bool(stock <= threshold),
            ]))
        }
        return events
    }

    /// Runs `body`, turning a foreign-key violation on the category into a 422 on `categoryId` and a violated
    /// reserved-stock check into `stockError`.
    func mapCategoryViolation<R>(_ body: () async throws -> R, onStockBelowReserved stockError: () -> AgoraError = {
        AgoraError(.validation, "Some fields are not valid")
    }) async throws -> R {
        do {
            return try await body()
        } catch let error as PGError where error.isForeignKeyViolation && error.constraint == "products_category_id_fkey" {
            throw AgoraError(.validation, "Some fields are not valid", fields: ["categoryId": "does not name a category"])
        } catch let error as PGError where error.sqlState == "23514" && error.constraint == "products_reserved_within_stock" {
            throw stockError()
        }
    }
}
