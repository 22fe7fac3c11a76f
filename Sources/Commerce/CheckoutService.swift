package import AgoraCore
package import AgoraEvents
package import AgoraPostgres
package import Foundation
package import Logging

/// The money path of an order: checkout (the cart's reservation and the payment session), the provider's
/// webhooks, fulfilment once paid, release when a reservation lapses, and cancellation with its refunds.
package struct CheckoutService: Sendable {
    let db: PGPool
    let events: EventOutbox
    /// Decrypts the digital items allocated at fulfilment, for the buyer's mail.
    let vault: InventoryVault
    let settings: CommerceSettings
    let providers: PaymentProviders
    let orders: OrderService
    let refunds: RefundService
    /// The buyer's address, for the payment provider's receipt.
    let contacts: any AccountContacts
    /// The receipt, the sellers' notes and low-stock warnings at fulfilment.
    let mailer: any OrderMailer

    package init(
        db: PGPool, events: EventOutbox, vault: InventoryVault, settings: CommerceSettings, providers: PaymentProviders,
        orders: OrderService, refunds: RefundService, contacts: any AccountContacts, mailer: any OrderMailer
    ) {
        self.db = db
        self.events = events
        self.vault = vault
        self.settings = settings
        self.providers = providers
        self.orders = orders
        self.refunds = refunds
        self.contacts = contacts
        self.mailer = mailer
    }

    var checkoutProvider: String { providers.checkoutProvider }
    func provider(_ name: String) throws -> any PaymentProvider { try providers.provider(name) }
}

extension CheckoutService {
    /// The result of a checkout: the order, and whether this call made it (false when an `Idempotency-Key` found
    /// the order an earlier call made).
    package struct Checkout: Sendable {
        package var order: OrderView
        package var created: Bool
    }

    /// A cart line with its product, locked for the checkout.
    struct LockedLine {
        var productID: UUID
        var quantity: Int
        var title: String
        var type: String
        var sellerID: UUID
        var price: Int64
        var currency: String
        var status: String
        var available: Int
    }

    /// What `placeOrder` wrote, as the buyer sees it, and the buyer's address for the payment session.
    struct PlacedOrder {
        var order: OrderView
        var buyerEmail: String?
    }

    /// Turns the buyer's cart into an order: one order, one seller order per seller, stock reserved until
    /// `reservationTTL` from now, the cart emptied of what was ordered; then opens a payment session.
    ///
    /// With an `idempotencyKey`, a repeat (or a concurrent twin) returns the order the first call made.
    /// - Throws: 422 `cart_empty`, `mixed_currencies`, `shipping_address_required` or invalid address fields; 409
    ///   `insufficient_stock` / `product_unavailable` naming the product; 503 when the provider cannot be reached
    ///   (the order is then cancelled and its stock released).
    package func checkout(
        buyer: UUID, idempotencyKey: String?, shippingAddress: ShippingAddress?, method: PaymentMethod = .provider, logger: Logger
    ) async throws -> Checkout {
        // The buyer's address (for the payment session) is asked of Accounts beside the idempotency look-up, and
        // awaited before the transaction: a transaction that waited on another connection could starve the pool
        // when every connection is held by a checkout waiting the same way.
        async let email = contacts.email(of: buyer, logger: logger)
        let shippingAddress = shippingAddress?.normalized()
        if let key = idempotencyKey {
            guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x21 && $0.value < 0x7F }) else {
                throw AgoraError(.badRequest, code: "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
            }
            if let existing = try await order(buyer: buyer, idempotencyKey: key, logger: logger) {
                return Checkout(order: try await resumePayment(existing, buyer: buyer, buyerEmail: try await email, logger: logger), created: false)
            }
        }
        let buyerEmail = try await email
        let placed: PlacedOrder
        do {
            placed = try await placeOrder(
                buyer: buyer, idempotencyKey: idempotencyKey, shippingAddress: shippingAddress, buyerEmail: buyerEmail, method: method, logger: logger
            )
        } catch let error as PGError where error.isUniqueViolation && error.constraint == "orders_idempotency" {
            // A concurrent checkout with the same key committed first; this one rolled back and returns that order.
            guard let key = idempotencyKey, let existing = try await order(buyer: buyer, idempotencyKey: key, logger: logger) else { throw error }
            return Checkout(order: try await resumePayment(existing, buyer: buyer, buyerEmail: buyerEmail, logger: logger), created: false)
        } catch let error as AgoraError where error.code == "cart_empty" {
            // The twin committed between the look-up above and this transaction, emptying the cart: its order is
            // the answer, not "your cart is empty".
            guard let key = idempotencyKey, let existing = try await order(buyer: buyer, idempotencyKey: key, logger: logger) else { throw error }
            return Checkout(order: try await resumePayment(existing, buyer: buyer, buyerEmail: buyerEmail, logger: logger), created: false)
        }
        logger.info("Order placed", metadata: ["agora.order_id": "\(placed.order.id)"])
        // The view is made from what the transaction wrote, not read back; the sellers' names are asked of Accounts
        // after the commit (no lock waits on that read) while the payment session opens.
        async let sellers = orders.parties(placed.order.sellerOrders.map(\.seller.id), logger: logger)
        var order = try await resumePayment(placed.order, buyer: buyer, buyerEmail: placed.buyerEmail, logger: logger)
        let names = try await sellers
        for index in order.sellerOrders.indices {
            if let party = names[order.sellerOrders[index].seller.id] { order.sellerOrders[index].seller = party }
        }
        return Checkout(order: order, created: true)
    }

    /// The order `buyer` placed with `key`, if any.
    func order(buyer: UUID, idempotencyKey key: String, logger: Logger) async throws -> OrderView? {
        let rows = try await db.query("SELECT id FROM orders WHERE buyer_id = \(buyer) AND idempotency_key = \(key)", logger: logger)
        guard let row = rows.first else { return nil }
        return try await orders.buyerOrder(try row.decode("id"), buyer: buyer, logger: logger)
    }

    /// The transaction of a checkout: two round trips, the locking read, then every write (and a local payment
    /// session) with the COMMIT. Returns the new order as its buyer sees it, made from what was written.
    /// - Parameter buyerEmail: the buyer's address, read before the transaction.
    func placeOrder(
        buyer: UUID, idempotencyKey: String?, shippingAddress: ShippingAddress?, buyerEmail: String?, method: PaymentMethod = .provider, logger: Logger
    ) async throws -> PlacedOrder {
        try await db.withTransaction(logger: logger) { tx in
            // Locks the products in id order: two checkouts sharing products queue instead of deadlocking, and
            // what is read here (stock, reserved, price) cannot change before the reservation below. `NO KEY
            // UPDATE` is the lock the reservation's UPDATE takes anyway: it queues every other change of the row
            // but not the key-share locks of foreign keys, so adding the product to a cart (or an order line)
            // does not wait for this checkout's commit. The sellers' names and the buyer's address are read with
            // them, for the order's view and the payment session.
            let rows = try await tx.query(
                """
                SELECT c.product_id, c.quantity, p.title, p.type, p.seller_id, p.price_minor, p.currency, p.status,
                       p.stock - p.reserved AS available
                FROM cart_items c JOIN products p ON p.id = c.product_id
                WHERE c.account_id = \(buyer)
                ORDER BY p.id
                FOR NO KEY UPDATE OF p
                """
            )
            let lines = try rows.map { row in
                LockedLine(
                    productID: try row.decode("product_id"), quantity: try row.decode("quantity"), title: try row.decode("title"),
                    type: try row.decode("type"), sellerID: try row.decode("seller_id"), price: try row.decode("price_minor"),
                    currency: try row.decode("currency"), status: try row.decode("status"), available: try row.decode("available")
                )
            }
            try validate(lines, buyer: buyer, shippingAddress: shippingAddress)
            let currency = try lines.one().currency
            let pricing = Pricing(settings: settings, currency: currency)
            let bySeller = Dictionary(grouping: lines, by: \.sellerID).sorted { $0.key.uuidString < $1.key.uuidString }
            // Checked: the whole order's goods are bounded, so no seller order's, nor any total made from them, can trap.
            guard Pricing.goods(lines.map { ($0.price, $0.quantity) }) != nil else { throw Self.orderTooLarge }
            let totals = try bySeller.map { _, lines in
                guard let goods = Pricing.goods(lines.map { ($0.price, $0.quantity) }) else { throw Self.orderTooLarge }
                return pricing.totals(goods: goods, hasPhysical: lines.contains { $0.type == "physical" })
            }
            let sum = totals.reduce(Pricing.Totals.zero, +)
            let needsAddress = lines.contains { $0.type == "physical" }
            let address = needsAddress ? try shippingAddress.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) } : nil

            // Ids are made here, so every write below can name them and go out in one statement with the COMMIT.
            let orderID = UUID()
            let sellerOrderOf = Dictionary(uniqueKeysWithValues: bySeller.map { ($0.key, UUID()) })
            let sellerIDs = bySeller.map(\.key)
            let sellerOrderIDs = sellerIDs.map { sellerOrderOf[$0] ?? UUID() }
            let lineIDs = lines.map { _ in UUID() }
            let lineSellerOrders = lines.map { sellerOrderOf[$0.sellerID] ?? UUID() }
            let events = bySeller.enumerated().map { index, entry in
                OrderRecords.orderEvent(.orderCreated, order: orderID, sellerOrder: sellerOrderOf[entry.key] ?? orderID, buyer: buyer, seller: entry.key,
                                status: .pendingPayment, total: totals[index].total, currency: currency, actor: buyer)
            }
            // A provider whose sessions are rows of this database opens the session here, in the order's transaction;
            // any other is called after the commit (`resumePayment`), never with a transaction open.
            // Solana Pay makes a transfer request per seller order, to each seller's wallet, in this transaction.
            let solana = method == .solanaPay
                ? try await planSolanaPay(
                    order: orderID, currency: currency,
                    sellerOrders: zip(sellerIDs, zip(sellerOrderIDs, totals)).map { ($0.0, $0.1.0, $0.1.1.total) }, in: tx
                ) : nil
            let providerName = solana == nil ? checkoutProvider : SolanaPayProvider.providerName
            let provider = try provider(providerName)
            let local = solana != nil ? nil : provider.localSession(for: Self.paymentRequest(
                order: orderID, currency: currency, total: sum.total, shipping: sum.shipping, vat: sum.vat, pricesIncludeVAT: pricing.pricesIncludeVAT,
                lines: lines.map { .init(name: $0.title, unitAmount: $0.price, quantity: $0.quantity) }, buyerEmail: buyerEmail,
                expiresAt: Date() + Double(settings.reservationTTL.components.seconds), publicURL: settings.publicURL
            ))
            // One statement: the order, its seller orders and lines, the reservations, the cart emptied of what was
            // ordered, the history row and the domain events. The rows are locked and were checked above; the
            // products' CHECK is the last word all the same.
            var writes: [PGQuery] = [
                """
                WITH placed AS (
                    INSERT INTO orders (id, buyer_id, currency, subtotal_minor, vat_minor, shipping_minor, total_minor, platform_fee_minor,
                                        vat_rate_bp, prices_include_vat, platform_fee_bp, shipping_address, idempotency_key, payment_provider,
                                        payment_session, payment_url, reserved_until)
                    VALUES (\(orderID), \(buyer), \(currency), \(sum.subtotal), \(sum.vat), \(sum.shipping), \(sum.total), \(sum.platformFee),
                            \(pricing.vatRateBP), \(pricing.pricesIncludeVAT), \(pricing.platformFeeBP), \(address)::jsonb, \(idempotencyKey),
                            \(providerName), \(local?.session.id), \(local?.session.url ?? solana?.url),
                            now() + make_interval(secs => \(Double(settings.reservationTTL.components.seconds))))
                    RETURNING created_at, reserved_until
                ), sellers AS (
                    INSERT INTO seller_orders (id, order_id, seller_id, currency, subtotal_minor, vat_minor, shipping_minor, total_minor,
                                               platform_fee_minor, seller_earnings_minor, has_physical)
                    SELECT so, \(orderID), s, \(currency), sub, vat, ship, sub + vat + ship, fee, sub - fee, phys::boolean
                    FROM unnest(\(sellerOrderIDs), \(sellerIDs), \(totals.map { Int($0.subtotal) }), \(totals.map { Int($0.vat) }),
                                \(totals.map { Int($0.shipping) }), \(totals.map { Int($0.platformFee) }),
                                \(bySeller.map { $0.value.contains { $0.type == "physical" } ? "t" : "f" }))
                         AS t(so, s, sub, vat, ship, fee, phys)
                ), ordered AS (
                    INSERT INTO order_lines (id, order_id, seller_order_id, product_id, title, product_type, unit_price_minor, quantity, line_total_minor)
                    SELECT id, \(orderID), so, p, t, ty, price, q, price * q
                    FROM unnest(\(lineIDs), \(lineSellerOrders), \(lines.map(\.productID)), \(lines.map(\.title)),
                                \(lines.map(\.type)), \(lines.map { Int($0.price) }), \(lines.map(\.quantity)))
                         AS l(id, so, p, t, ty, price, q)
                ), reserved AS (
                    UPDATE products p SET reserved = p.reserved + l.q
                    FROM unnest(\(lines.map(\.productID)), \(lines.map(\.quantity))) AS l(id, q)
                    WHERE p.id = l.id
                ), emptied AS (
                    DELETE FROM cart_items WHERE account_id = \(buyer) AND product_id = ANY(\(lines.map(\.productID)))
                ), history AS (
                    \(fragment: OrderRecords.historyStatement(order: orderID, from: nil, to: OrderStatus.pendingPayment.rawValue, actor: .buyer(buyer)))
                ), recorded AS (
                    \(fragment: try EventOutbox.recordStatement(events) ?? "SELECT 1")  -- never empty: an order has a seller
                )
                SELECT created_at, reserved_until FROM placed
                """
            ]
            if let local { writes.append(local.statement) }
            if let solana { writes.append(solana.statement) }
            let placed = try await tx.commit(after: writes).one().rows.one()
            let createdAt: Date = try placed.decode("created_at")
            let view = OrderView(
                id: orderID, status: .pendingPayment, currency: currency, subtotal: Money(amount: sum.subtotal, currency: currency),
                vat: Money(amount: sum.vat, currency: currency), shipping: Money(amount: sum.shipping, currency: currency),
                total: Money(amount: sum.total, currency: currency), refunded: Money(amount: 0, currency: currency),
                vatRate: Double(pricing.vatRateBP) / 100, pricesIncludeVat: pricing.pricesIncludeVAT, shippingAddress: needsAddress ? shippingAddress : nil,
                payment: .init(provider: providerName, url: local?.session.url ?? solana?.url, solanaPay: solana?.transfers),
                reservedUntil: try placed.decode("reserved_until"),
                createdAt: createdAt, paidAt: nil, cancelledAt: nil, cancelReason: nil,
                sellerOrders: bySeller.enumerated().map { index, entry in
                    let seller = entry.key
                    let total = totals[index]
                    func money(_ amount: Int64) -> Money { Money(amount: amount, currency: currency) }
                    return SellerOrderView(
                        id: sellerOrderOf[seller] ?? orderID, orderId: orderID, status: .pendingPayment,
                        seller: .init(id: seller, username: "", displayName: ""), buyer: nil,
                        subtotal: money(total.subtotal), vat: money(total.vat), shipping: money(total.shipping), total: money(total.total),
                        platformFee: nil, sellerEarnings: nil, refunded: money(0), carrier: nil, trackingNumber: nil, shippingAddress: nil,
                        createdAt: createdAt, shippedAt: nil, deliveredAt: nil, cancelledAt: nil,
                        lines: zip(lineIDs, lines).filter { $0.1.sellerID == seller }.map { id, line in
                            OrderLineView(id: id, productId: line.productID, title: line.title, type: line.type, unitPrice: money(line.price),
                                          quantity: line.quantity, lineTotal: money(line.price * Int64(line.quantity)), items: nil)
                        }.sorted { ($0.title, $0.id.uuidString) < ($1.title, $1.id.uuidString) }
                    )
                }.sorted { $0.id.uuidString > $1.id.uuidString },  // as `sellerOrderViews` lists them: newest, then by id, descending
                history: [.init(sellerOrderId: nil, from: nil, to: OrderStatus.pendingPayment.rawValue, actor: "buyer", note: nil, at: createdAt)],
                refunds: []
            )
            return PlacedOrder(order: view, buyerEmail: buyerEmail)
        }
    }

    /// 422 for an order whose amounts would not fit the arithmetic (absurd prices × quantities).
    static var orderTooLarge: AgoraError {
        AgoraError(.validation, code: "order_too_large", "This order's total is too large; split it into smaller orders")
    }

    func validate(_ lines: [LockedLine], buyer: UUID, shippingAddress: ShippingAddress?) throws {
        guard !lines.isEmpty else { throw AgoraError(.validation, code: "cart_empty", "The cart is empty") }
        for line in lines {
            guard line.status == "published" else {
                throw AgoraError(.conflict, code: "product_unavailable", "“\(line.title)” is no longer for sale; remove it from the cart",
                                 fields: ["productId": line.productID.uuidString])
            }
            guard line.sellerID != buyer else { throw AgoraError(.validation, code: "own_product", "You cannot buy your own product “\(line.title)”") }
            guard line.available >= line.quantity else {
                throw CartService.insufficientStock(product: line.productID, title: line.title, available: line.available)
            }
        }
        let currencies = Set(lines.map(\.currency))
        guard currencies.count == 1 else {
            throw AgoraError(.validation, code: "mixed_currencies",
                             "An order is in one currency; this cart mixes \(currencies.sorted().joined(separator: ", ")). Check out each separately.")
        }
        if lines.contains(where: { $0.type == "physical" }) {
            guard let shippingAddress else {
                throw AgoraError(.validation, code: "shipping_address_required", "Physical products need a shipping address",
                                 fields: ["shippingAddress": "is required for physical products"])
            }
            let problems = shippingAddress.problems()
            guard problems.isEmpty else { throw AgoraError(.validation, "The shipping address is incomplete", fields: problems) }
        }
    }

    /// Makes sure a pending order has a payment session (opening one if the first attempt never got one).
    /// - Parameter buyerEmail: the buyer's address when the caller has it (else it is read).
    func resumePayment(_ order: OrderView, buyer: UUID, buyerEmail: String?? = nil, logger: Logger) async throws -> OrderView {
        guard order.status == .pendingPayment, order.payment.url == nil else { return order }
        let provider = try provider(order.payment.provider)
        let request = try await paymentRequest(for: order, buyer: buyer, buyerEmail: buyerEmail, logger: logger)
        let session: PaymentSession
        do {
            session = try await provider.startPayment(request, logger: logger)
        } catch {
            logger.error("Payment session could not be opened", metadata: ["agora.order_id": "\(order.id)", "error": "\(String(reflecting: error))"])
            // Nothing is owed: give the stock back now rather than at expiry.
            do {
                _ = try await release(order.id, to: .cancelled, reason: "payment_unavailable", actor: .system, logger: logger)
            } catch let releaseError {
                // The reservation still lapses at `reservedUntil`: the sweeper releases it then.
                logger.warning("Order could not be released after the payment failure; it expires instead", metadata: [
                    "agora.order_id": "\(order.id)", "error": "\(releaseError)",
                ])
            }
            throw (error as? AgoraError) ?? AgoraError(.unavailable, code: "payment_provider_unavailable", "The payment provider cannot be reached; try again")
        }
        try await db.execute(
            "UPDATE orders SET payment_session = \(session.id), payment_url = \(session.url), updated_at = now() WHERE id = \(order.id)",
            logger: logger
        )
        var updated = order
        updated.payment.url = session.url
        return updated
    }

    /// What the provider is asked to charge for `order` (its buyer's address asked of `contacts` unless given).
    func paymentRequest(for order: OrderView, buyer: UUID, buyerEmail: String?? = nil, logger: Logger) async throws -> PaymentRequest {
        let email: String?
        if let buyerEmail {
            email = buyerEmail
        } else {
            email = try await contacts.email(of: buyer, logger: logger)
        }
        return Self.paymentRequest(
            order: order.id, currency: order.currency, total: order.total.amount, shipping: order.shipping.amount, vat: order.vat.amount,
            pricesIncludeVAT: order.pricesIncludeVat,
            lines: order.sellerOrders.flatMap(\.lines).map { .init(name: $0.title, unitAmount: $0.unitPrice.amount, quantity: $0.quantity) },
            buyerEmail: email, expiresAt: order.reservedUntil, publicURL: settings.publicURL
        )
    }

    /// What the provider is asked to charge: the product lines as priced, then shipping, then VAT when prices exclude it.
    static func paymentRequest(
        order: UUID, currency: String, total: Int64, shipping: Int64, vat: Int64, pricesIncludeVAT: Bool, lines: [PaymentRequest.Line],
        buyerEmail: String?, expiresAt: Date, publicURL: String
    ) -> PaymentRequest {
        var lines = lines
        if shipping > 0 { lines.append(.init(name: "Shipping", unitAmount: shipping, quantity: 1)) }
        if !pricesIncludeVAT, vat > 0 { lines.append(.init(name: "VAT", unitAmount: vat, quantity: 1)) }
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        return PaymentRequest(
            orderID: order, currency: currency, total: total, lines: lines, buyerEmail: buyerEmail,
            successURL: "\(base)/orders/\(order.uuidString.lowercased())?paid=1",
            cancelURL: "\(base)/orders/\(order.uuidString.lowercased())?cancelled=1",
            expiresAt: expiresAt
        )
    }
}
