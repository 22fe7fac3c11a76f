package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// A buyer's cart: what they mean to buy, checked against live stock and prices each time it is read.
package struct Cart: Codable, Sendable, Equatable {
    package struct Item: Codable, Sendable, Equatable {
        package var productId: UUID
        package var title: String
        package var type: String
        package var sellerId: UUID
        package var unitPrice: Money
        package var quantity: Int
        package var lineTotal: Money
        /// `stock - reserved` right now.
        package var available: Int
        /// Why checkout would refuse this line, if it would: `unavailable` (no longer listed) or `insufficient_stock`.
        package var problem: String?
        package var addedAt: Date
    }

    package var items: [Item]
    /// Σ line totals per currency, before VAT, shipping and fees (checkout computes those).
    package var subtotals: [Money]
    package var itemCount: Int
}

/// The buyer's cart: one row per product, quantities checked against what is available when set.
package struct CartService: Sendable {
    let db: PGPool
    let settings: CommerceSettings

    package init(db: PGPool, settings: CommerceSettings) {
        self.db = db
        self.settings = settings
    }
}

extension CartService {
    /// The cart of `account`, oldest line first.
    package func cart(of account: UUID, logger: Logger) async throws -> Cart {
        try Self.cart(try await db.query(Self.cartStatement(of: account), logger: logger))
    }

    /// The statement that reads the cart of `account`; its rows go to `cart(_:)`.
    static func cartStatement(of account: UUID) -> PGQuery {
        """
        SELECT c.product_id, c.quantity, c.added_at, p.title, p.type, p.seller_id, p.price_minor, p.currency, p.status,
               p.stock - p.reserved AS available
        FROM cart_items c JOIN products p ON p.id = c.product_id
        WHERE c.account_id = \(account)
        ORDER BY c.added_at, c.product_id
        """
    }

    /// The cart of `cartStatement`'s rows.
    static func cart(_ rows: [PGRow]) throws -> Cart {
        var items: [Cart.Item] = []
        var sums: [String: Int64] = [:]
        for row in rows {
            let price = Money(amount: try row.decode("price_minor"), currency: try row.decode("currency"))
            let quantity: Int = try row.decode("quantity")
            let available: Int = try row.decode("available")
            let status: String = try row.decode("status")
            // Checked: a line or a sum that would overflow is a 422, never a trap.
            guard let amount = Pricing.lineTotal(price: price.amount, quantity: quantity),
                case (let sum, let overflow) = sums[price.currency, default: 0].addingReportingOverflow(amount), !overflow
            else { throw CheckoutService.orderTooLarge }
            let line = Money(amount: amount, currency: price.currency)
            sums[price.currency] = sum
            items.append(Cart.Item(
                productId: try row.decode("product_id"), title: try row.decode("title"), type: try row.decode("type"),
                sellerId: try row.decode("seller_id"), unitPrice: price, quantity: quantity, lineTotal: line, available: available,
                problem: status != "published" ? "unavailable" : (available < quantity ? "insufficient_stock" : nil),
                addedAt: try row.decode("added_at")
            ))
        }
        return Cart(
            items: items, subtotals: sums.sorted { $0.key < $1.key }.map { Money(amount: $0.value, currency: $0.key) },
            itemCount: items.reduce(0) { $0 + $1.quantity }
        )
    }

    /// Puts `quantity` of `product` in the cart: added to what is there (`adding`), or replacing it.
    /// - Throws: 422 for a quantity outside 1…max, a full cart or the buyer's own product; 404 for a product that is
    ///   not listed; 409 `insufficient_stock` naming the product when fewer are available.
    package func setCartItem(_ product: UUID, quantity: Int, adding: Bool, account: UUID, logger: Logger) async throws -> Cart {
        guard (1...settings.maxQuantity).contains(quantity) else {
            throw AgoraError(.validation, code: "invalid_quantity", "Quantity must be between 1 and \(settings.maxQuantity)",
                             fields: ["quantity": "must be between 1 and \(settings.maxQuantity)"])
        }
        // Two round trips: the product's read and the upsert as one statement, checked here (a refusal rolls the
        // upsert back), then the cart's read with the COMMIT.
        return try await db.withTransaction(logger: logger) { tx in
            let row = try await tx.query(
                """
                WITH p AS (
                    SELECT title, seller_id, status, stock - reserved AS available FROM products WHERE id = \(product)
                ), upserted AS (
                    INSERT INTO cart_items (account_id, product_id, quantity)
                    SELECT \(account), \(product), \(quantity) FROM p WHERE p.status = 'published' AND p.seller_id <> \(account)
                    ON CONFLICT (account_id, product_id) DO UPDATE
                        SET quantity = CASE WHEN \(adding) THEN cart_items.quantity + EXCLUDED.quantity ELSE EXCLUDED.quantity END,
                            updated_at = now()
                    RETURNING quantity, (xmax = 0) AS inserted, (SELECT count(*) FROM cart_items WHERE account_id = \(account)) AS lines
                )
                SELECT p.title, p.seller_id, p.status, p.available, u.quantity, u.inserted, u.lines FROM p LEFT JOIN upserted u ON true
                """
            ).first
            guard let row, try row.decode("status", as: String.self) == "published" else {
                throw AgoraError(.notFound, code: "product_not_found", "No such product")
            }
            let title: String = try row.decode("title")
            guard try row.decode("seller_id", as: UUID.self) != account else {
                throw AgoraError(.validation, code: "own_product", "You cannot buy your own product “\(title)”")
            }
            let total: Int = try row.decode("quantity")
            let available: Int = try row.decode("available")
            guard total <= settings.maxQuantity else {
                throw AgoraError(.validation, code: "invalid_quantity", "At most \(settings.maxQuantity) of one product fit in a cart",
                                 fields: ["quantity": "the cart would hold \(total)"])
            }
            guard total <= available else { throw Self.insufficientStock(product: product, title: title, available: available) }
            // The count sees the rows as they were before this statement: a new line makes it one more.
            let lines: Int = try row.decode("lines")
            let inserted: Bool = try row.decode("inserted")
            guard !inserted || lines < settings.maxCartItems else {
                throw AgoraError(.validation, code: "cart_full", "A cart holds at most \(settings.maxCartItems) different products")
            }
            return try Self.cart(try await tx.commit(after: [Self.cartStatement(of: account)]).one().rows)
        }
    }

    /// Takes `product` out of the cart (nothing happens if it was not there).
    package func removeCartItem(_ product: UUID, account: UUID, logger: Logger) async throws -> Cart {
        try await db.execute("DELETE FROM cart_items WHERE account_id = \(account) AND product_id = \(product)", logger: logger)
        return try await cart(of: account, logger: logger)
    }

    /// Empties the cart.
    package func clearCart(account: UUID, logger: Logger) async throws {
        try await db.execute("DELETE FROM cart_items WHERE account_id = \(account)", logger: logger)
    }

    /// 409 naming the product and how many are left.
    static func insufficientStock(product: UUID, title: String, available: Int) -> AgoraError {
        AgoraError(
            .conflict, code: "insufficient_stock",
            available > 0 ? "Only \(available) of “\(title)” available" : "“\(title)” is out of stock",
            fields: ["productId": product.uuidString, "available": String(available)]
        )
    }
}
