package import AgoraCore
package import AgoraEvents
package import AgoraPostgres
package import Foundation
package import Logging

/// Orders as their buyer and their sellers see them, and shipping: a seller order's moves from paid to shipped to
/// delivered, and the buyer's confirmation.
package struct OrderService: Sendable {
    let db: PGPool
    let events: EventOutbox
    /// Decrypts the digital items delivered to a buyer, for their view of the order.
    let vault: InventoryVault
    /// Who the buyers and sellers are: names come from Accounts, never from its tables.
    let directory: any AccountDirectory
    /// The buyer's mails about shipping and delivery.
    let mailer: any OrderMailer
    /// Base of the links in those mails.
    let publicURL: String

    package init(db: PGPool, events: EventOutbox, vault: InventoryVault, directory: any AccountDirectory, mailer: any OrderMailer, publicURL: String) {
        self.db = db
        self.events = events
        self.vault = vault
        self.directory = directory
        self.mailer = mailer
        self.publicURL = publicURL
    }

    /// The parties `ids` as orders show them, asked of the account directory.
    func parties(_ ids: some Sequence<UUID>, logger: Logger) async throws -> [UUID: SellerOrderView.Party] {
        try await directory.summaries(Array(Set(ids)), logger: logger).mapValues(SellerOrderView.Party.init)
    }
}

extension OrderService {
    /// Order `id` as its buyer sees it, with digital items opened for them once paid.
    /// - Throws: 404 for an order that is not `buyer`'s, whether or not it exists.
    package func buyerOrder(_ id: UUID, buyer: UUID, logger: Logger) async throws -> OrderView {
        try await orderView(id, where: "id = \(id) AND buyer_id = \(buyer)", sellerView: false, logger: logger)
    }

    /// Order `id` if it matches `filter` (over `orders`). The buyer's view opens the digital items once paid; the
    /// seller view of its seller orders (fees, earnings, buyer, address) never does, and is an administrator's.
    func orderView(_ id: UUID, where filter: PGQuery, sellerView: Bool, logger: Logger) async throws -> OrderView {
        let rows = try await db.query(
            """
            SELECT id, status, currency, subtotal_minor, vat_minor, shipping_minor, total_minor, refunded_minor, vat_rate_bp,
                   prices_include_vat, shipping_address::text AS shipping_address, payment_provider, payment_url, reserved_until,
                   created_at, paid_at, cancelled_at, cancel_reason
            FROM orders WHERE \(fragment: filter)
            """,
            logger: logger
        )
        guard let row = rows.first else { throw AgoraError(.notFound, code: "order_not_found", "No such order") }
        let currency: String = try row.decode("currency")
        func money(_ column: String) throws -> Money { Money(amount: try row.decode(column), currency: currency) }
        let status: OrderStatus = try OrderRecords.enumValue(row, "status")
        var sellerOrders = try await sellerOrderViews(where: "so.order_id = \(id)", sellerView: sellerView, logger: logger)
        if !sellerView, status == .paid || status == .refunded {
            try await attachItems(to: &sellerOrders, logger: logger)
        }
        let history = try await db.query(
            "SELECT seller_order_id, from_status, to_status, actor_kind, note, occurred_at FROM order_history WHERE order_id = \(id) ORDER BY id",
            logger: logger
        ).map { row in
            OrderView.HistoryEntry(
                sellerOrderId: try row.decode("seller_order_id"), from: try row.decode("from_status"), to: try row.decode("to_status"),
                actor: try row.decode("actor_kind"), note: try row.decode("note"), at: try row.decode("occurred_at")
            )
        }
        let provider: String = try row.decode("payment_provider")
        return OrderView(
            id: id, status: status, currency: currency, subtotal: try money("subtotal_minor"), vat: try money("vat_minor"),
            shipping: try money("shipping_minor"), total: try money("total_minor"), refunded: try money("refunded_minor"),
            vatRate: Double(try row.decode("vat_rate_bp", as: Int.self)) / 100, pricesIncludeVat: try row.decode("prices_include_vat"),
            shippingAddress: try Self.address(row.decode("shipping_address")),
            payment: .init(
                provider: provider, url: status == .pendingPayment ? try row.decode("payment_url") : nil,
                solanaPay: provider == SolanaPayProvider.providerName ? try await solanaTransfers(of: id, logger: logger) : nil
            ),
            reservedUntil: try row.decode("reserved_until"), createdAt: try row.decode("created_at"), paidAt: try row.decode("paid_at"),
            cancelledAt: try row.decode("cancelled_at"), cancelReason: try row.decode("cancel_reason"), sellerOrders: sellerOrders,
            history: history, refunds: try await refundViews(of: id, logger: logger)
        )
    }

    /// The status of order `id` (for the payment page, which knows the order through its session only).
    package func orderStatus(_ id: UUID, logger: Logger) async throws -> OrderStatus? {
        guard let row = try await db.query("SELECT status FROM orders WHERE id = \(id)", logger: logger).first else { return nil }
        return try OrderRecords.enumValue(row, "status")
    }

    /// The buyer's orders, newest first.
    package func orders(of buyer: UUID, limit: Int, cursor: String?, logger: Logger) async throws -> Page<OrderSummary> {
        var after: PGQuery = "TRUE"
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            after = "(o.created_at, o.id) < (\(position.date), \(position.id))"
        }
        let rows = try await db.query(
            """
            SELECT o.id, o.status, o.currency, o.total_minor, o.created_at,
                   (SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE order_id = o.id) AS item_count,
                   (SELECT title FROM order_lines WHERE order_id = o.id ORDER BY title LIMIT 1) AS title,
                   (SELECT array_agg(status ORDER BY created_at, id) FROM seller_orders WHERE order_id = o.id) AS statuses
            FROM orders o
            WHERE o.buyer_id = \(buyer) AND \(fragment: after)
            ORDER BY o.created_at DESC, o.id DESC
            LIMIT \(limit + 1)
            """,
            logger: logger
        )
        let items = try rows.prefix(limit).map { row in
            OrderSummary(
                id: try row.decode("id"), status: try OrderRecords.enumValue(row, "status"),
                total: Money(amount: try row.decode("total_minor"), currency: try row.decode("currency")),
                itemCount: try row.decode("item_count"), title: try row.decode("title") ?? "",
                sellerOrderStatuses: try row.decode("statuses", as: [String].self).compactMap(SellerOrderStatus.init(rawValue:)),
                createdAt: try row.decode("created_at")
            )
        }
        var next: String?
        if rows.count > limit, let last = items.last { next = OpaqueCursor.encode(TimePosition(last.createdAt, id: last.id)) }
        return Page(items: items, nextCursor: next)
    }

    /// The seller's seller orders, newest first, optionally of one status.
    package func sellerOrders(of seller: UUID, status: SellerOrderStatus?, limit: Int, cursor: String?, logger: Logger) async throws -> Page<SellerOrderView> {
        var filter: PGQuery = "so.seller_id = \(seller) AND (\(status == nil) OR so.status = \(status?.rawValue ?? ""))"
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            filter.append(" AND (so.created_at, so.id) < (\(position.date), \(position.id))")
        }
        let views = try await sellerOrderViews(where: filter, sellerView: true, limit: limit + 1, logger: logger)
        let items = Array(views.prefix(limit))
        var next: String?
        if views.count > limit, let last = items.last { next = OpaqueCursor.encode(TimePosition(last.createdAt, id: last.id)) }
        return Page(items: items, nextCursor: next)
    }

    /// One seller order as its seller sees it.
    /// - Throws: 404 unless it is `seller`'s.
    package func sellerOrder(_ id: UUID, seller: UUID, logger: Logger) async throws -> SellerOrderView {
        guard let view = try await sellerOrderViews(where: "so.id = \(id) AND so.seller_id = \(seller)", sellerView: true, logger: logger).first else {
            throw AgoraError(.notFound, code: "order_not_found", "No such order")
        }
        return view
    }

    /// Seller orders matching `filter` (over `seller_orders so`), newest first, with their lines. The seller's view
    /// adds the buyer, the fee and earnings, and the shipping address of physical orders.
    func sellerOrderViews(where filter: PGQuery, sellerView: Bool, limit: Int = 1000, logger: Logger) async throws -> [SellerOrderView] {
        let rows = try await db.query(
            """
            SELECT so.id, so.order_id, so.status, so.currency, so.subtotal_minor, so.vat_minor, so.shipping_minor, so.total_minor,
                   so.platform_fee_minor, so.seller_earnings_minor, so.refunded_minor, so.carrier, so.tracking_number, so.created_at,
                   so.shipped_at, so.delivered_at, so.cancelled_at, so.has_physical, o.shipping_address::text AS shipping_address,
                   so.seller_id, o.buyer_id
            FROM seller_orders so
            JOIN orders o ON o.id = so.order_id
            WHERE \(fragment: filter)
            ORDER BY so.created_at DESC, so.id DESC
            LIMIT \(limit)
            """,
            logger: logger
        )
        guard !rows.isEmpty else { return [] }
        let ids: [UUID] = try rows.map { try $0.decode("id") }
        // The names are asked of Accounts while the lines are read.
        let partyIDs: [UUID] = try rows.flatMap { row in
            sellerView ? [try row.decode("seller_id"), try row.decode("buyer_id")] : [try row.decode("seller_id")]
        }
        async let names = parties(partyIDs, logger: logger)
        let lineRows = try await db.query(
            """
            SELECT id, seller_order_id, product_id, title, product_type, unit_price_minor, quantity, line_total_minor
            FROM order_lines WHERE seller_order_id = ANY(\(ids)) ORDER BY title, id
            """,
            logger: logger
        )
        let currencies = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode("id", as: UUID.self), try $0.decode("currency", as: String.self)) })
        var lines: [UUID: [OrderLineView]] = [:]
        for row in lineRows {
            let currency = currencies[try row.decode("seller_order_id")] ?? ""
            lines[try row.decode("seller_order_id"), default: []].append(OrderLineView(
                id: try row.decode("id"), productId: try row.decode("product_id"), title: try row.decode("title"),
                type: try row.decode("product_type"), unitPrice: Money(amount: try row.decode("unit_price_minor"), currency: currency),
                quantity: try row.decode("quantity"), lineTotal: Money(amount: try row.decode("line_total_minor"), currency: currency), items: nil
            ))
        }
        let known = try await names
        func party(_ row: PGRow, _ column: String) throws -> SellerOrderView.Party {
            let id: UUID = try row.decode(column)
            return known[id] ?? SellerOrderView.Party(id: id, username: "", displayName: "")
        }
        return try rows.map { row in
            let currency: String = try row.decode("currency")
            func money(_ column: String) throws -> Money { Money(amount: try row.decode(column), currency: currency) }
            let id: UUID = try row.decode("id")
            let physical: Bool = try row.decode("has_physical")
            return SellerOrderView(
                id: id, orderId: try row.decode("order_id"), status: try OrderRecords.enumValue(row, "status"),
                seller: try party(row, "seller_id"), buyer: sellerView ? try party(row, "buyer_id") : nil,
                subtotal: try money("subtotal_minor"), vat: try money("vat_minor"), shipping: try money("shipping_minor"), total: try money("total_minor"),
                platformFee: sellerView ? try money("platform_fee_minor") : nil, sellerEarnings: sellerView ? try money("seller_earnings_minor") : nil,
                refunded: try money("refunded_minor"), carrier: try row.decode("carrier"), trackingNumber: try row.decode("tracking_number"),
                shippingAddress: sellerView && physical ? try Self.address(row.decode("shipping_address")) : nil,
                createdAt: try row.decode("created_at"), shippedAt: try row.decode("shipped_at"), deliveredAt: try row.decode("delivered_at"),
                cancelledAt: try row.decode("cancelled_at"), lines: lines[id] ?? []
            )
        }
    }

    /// Opens the digital items sold to these seller orders' lines. Only ever called for the buyer's own view.
    func attachItems(to sellerOrders: inout [SellerOrderView], logger: Logger) async throws {
        let lineIDs = sellerOrders.flatMap(\.lines).filter { $0.type != "physical" }.map(\.id)
        guard !lineIDs.isEmpty else { return }
        let rows = try await db.query(
            "SELECT order_line_id, product_id, key_id, sealed FROM inventory_items WHERE order_line_id = ANY(\(lineIDs)) ORDER BY created_at, id",
            logger: logger
        )
        var items: [UUID: [String]] = [:]
        for row in rows {
            let sealed: PGBytes = try row.decode("sealed")
            items[try row.decode("order_line_id"), default: []].append(
                try vault.open(sealed.bytes, keyID: try row.decode("key_id"), product: try row.decode("product_id"))
            )
        }
        for s in sellerOrders.indices {
            for l in sellerOrders[s].lines.indices where sellerOrders[s].lines[l].type != "physical" {
                sellerOrders[s].lines[l].items = items[sellerOrders[s].lines[l].id] ?? []
            }
        }
    }

    static func address(_ json: String?) throws -> ShippingAddress? {
        guard let json else { return nil }
        return try JSONDecoder().decode(ShippingAddress.self, from: Data(json.utf8))
    }

    /// The refunds of an order, oldest first, for its buyer's view.
    func refundViews(of order: UUID, logger: Logger) async throws -> [RefundView] {
        try await db.query(
            """
            SELECT id, amount_minor, currency, reason, note, status, seller_order_ids, created_at, completed_at FROM refunds
            WHERE order_id = \(order) ORDER BY created_at, id
            """,
            logger: logger
        ).map { row in
            RefundView(
                id: try row.decode("id"), amount: Money(amount: try row.decode("amount_minor"), currency: try row.decode("currency")),
                reason: try row.decode("reason"), note: try row.decode("note"), status: try row.decode("status"), sellerOrderIds: try row.decode("seller_order_ids"),
                createdAt: try row.decode("created_at"), completedAt: try row.decode("completed_at")
            )
        }
    }
}
