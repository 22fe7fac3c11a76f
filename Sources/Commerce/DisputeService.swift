package import AgoraAudit
package import AgoraCore
import AgoraEvents
package import AgoraMedia
package import AgoraPostgres
package import Foundation
package import Logging

/// A dispute, as its buyer, its seller and administrators see it.
package struct DisputeView: Codable, Sendable, Equatable {
    package struct Entry: Codable, Sendable, Equatable {
        package var id: Int64
        /// `buyer`, `seller` or `admin`.
        package var author: String
        package var body: String
        package var photoUrl: String?
        package var createdAt: Date
    }

    package var id: UUID
    package var orderId: UUID
    package var sellerOrderId: UUID
    package var buyer: SellerOrderView.Party
    package var seller: SellerOrderView.Party
    package var reason: String
    /// `open`, `seller_replied`, `escalated` or `resolved`.
    package var status: String
    /// Once resolved: `refunded` or `closed`.
    package var outcome: String?
    package var messages: [Entry]
    package var createdAt: Date
    package var resolvedAt: Date?
}

/// Disputes: a buyer's claim about a shipped or delivered seller order, the seller's answer (accept, which refunds
/// everything left, or a reply), the buyer's escalation, and an administrator's decision (a refund, whole or in
/// part, or close). While one is unresolved the seller order's earnings are held: not available, not payable. Every
/// step writes a history row of the order, a live `order.dispute` event to both sides and a mail to the other side,
/// in the transaction of the step.
package struct DisputeService: Sendable {
    let checkout: CheckoutService
    let images: ImageStore
    let imageLimits: ImageLimits
    var db: PGPool { checkout.db }

    package init(checkout: CheckoutService, images: ImageStore, imageLimits: ImageLimits = .init()) {
        self.checkout = checkout
        self.images = images
        self.imageLimits = imageLimits
    }

    package static let reasons = ["not_received", "not_as_described", "damaged", "other"]

    /// Who is acting on a dispute.
    package enum Party: Sendable {
        case buyer(UUID), seller(UUID), admin(UUID)

        var kind: String {
            switch self {
            case .buyer: "buyer"
            case .seller: "seller"
            case .admin: "admin"
            }
        }

        var id: UUID {
            switch self {
            case .buyer(let id), .seller(let id), .admin(let id): id
            }
        }

        var actor: OrderActor {
            switch self {
            case .buyer(let id): .buyer(id)
            case .seller(let id): .seller(id)
            case .admin(let id): .admin(id)
            }
        }
    }

    struct Locked {
        var id: UUID
        var orderID: UUID
        var sellerOrderID: UUID
        var buyerID: UUID
        var sellerID: UUID
        var status: String
    }

    // MARK: Steps

    /// The buyer opens a dispute on a seller order of theirs that is shipped, or delivered within the window.
    /// - Throws: 404 unless it is the buyer's; 409 `dispute_exists` (one per seller order), 409 `dispute_not_allowed`
    ///   (not shipped or delivered, or delivered longer ago than the window); 422 for a bad reason or message.
    package func open(order: UUID, sellerOrder: UUID, buyer: UUID, reason: String, message: String, logger: Logger) async throws -> DisputeView {
        guard Self.reasons.contains(reason) else {
            throw AgoraError(.validation, "Unknown reason", fields: ["reason": "must be one of \(Self.reasons.joined(separator: ", "))"])
        }
        let text = try Self.text(message, field: "message", required: true)
        let id: UUID = try await db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query(
                """
                SELECT so.status, so.seller_id, so.delivered_at, so.delivered_at > now() - make_interval(secs => \(checkout.settings.disputeWindow.wholeSeconds))
                       AS within_window
                FROM seller_orders so JOIN orders o ON o.id = so.order_id
                WHERE so.id = \(sellerOrder) AND so.order_id = \(order) AND o.buyer_id = \(buyer)
                FOR UPDATE OF so
                """
            )
            guard let row = rows.first else { throw AgoraError(.notFound, code: "order_not_found", "No such order") }
            let status: SellerOrderStatus = try OrderRecords.enumValue(row, "status")
            let withinWindow = try row.decode("within_window", as: Bool?.self) ?? false
            let allowed = status == .shipped || (status == .delivered && withinWindow)
            guard allowed else {
                throw AgoraError(
                    .conflict, code: "dispute_not_allowed",
                    "A dispute can be opened on a shipped order, or within \(checkout.settings.disputeWindow.wholeSeconds / 86_400) days of its delivery"
                )
            }
            let seller: UUID = try row.decode("seller_id")
            guard
                let id: UUID = try await tx.query(
                    """
                    INSERT INTO disputes (order_id, seller_order_id, buyer_id, seller_id, reason) VALUES (\(order), \(sellerOrder), \(buyer), \(seller), \(reason))
                    ON CONFLICT (seller_order_id) DO NOTHING RETURNING id
                    """
                ).first?.decode("id")
            else { throw AgoraError(.conflict, code: "dispute_exists", "This order already has a dispute") }
            try await tx.execute("INSERT INTO dispute_messages (dispute_id, author_id, author_kind, body) VALUES (\(id), \(buyer), 'buyer', \(text))")
            if status == .delivered { try await hold(sellerOrder, seller: seller, in: tx) }
            let locked = Locked(id: id, orderID: order, sellerOrderID: sellerOrder, buyerID: buyer, sellerID: seller, status: "open")
            try await record(locked, step: "opened", by: .buyer(buyer), note: "dispute opened (\(reason.replacingOccurrences(of: "_", with: " ")))", in: tx)
            try await mail(locked, to: seller, subject: "A buyer opened a dispute", text: "The buyer says: \(text)\n\nAnswer it on your order page.", in: tx)
            return id
        }
        logger.info("Dispute opened", metadata: ["agora.dispute_id": "\(id)"])
        return try await view(id, viewer: .buyer(buyer), logger: logger)
    }

    /// The buyer or the seller adds a message (with a photo, through `addPhoto`). A seller's first reply moves an open
    /// dispute to `seller_replied`.
    package func reply(_ id: UUID, by party: Party, message: String, logger: Logger) async throws -> DisputeView {
        let text = try Self.text(message, field: "message", required: true)
        try await db.withTransaction(logger: logger) { tx in
            let dispute = try await lock(id, for: party, in: tx)
            try await addMessage(dispute, by: party, body: text ?? "", photo: nil, in: tx)
        }
        return try await view(id, viewer: party, logger: logger)
    }

    /// The buyer or the seller adds a photo (JPEG, PNG, GIF or WebP, checked like product images).
    package func addPhoto(_ id: UUID, by party: Party, bytes: [UInt8], logger: Logger) async throws -> DisputeView {
        _ = try ImageUpload.validate(bytes: bytes, limits: imageLimits)
        // Who may add it is checked before anything is stored.
        _ = try await view(id, viewer: party, logger: logger)
        let stored = try await images.store(bytes, limits: imageLimits, thumbnails: false, logger: logger)
        do {
            try await db.withTransaction(logger: logger) { tx in
                let dispute = try await lock(id, for: party, in: tx)
                try await addMessage(dispute, by: party, body: "", photo: stored.url, in: tx)
            }
        } catch {
            await images.remove(stored.key, thumbnailWidths: [], logger: logger)
            throw error
        }
        return try await view(id, viewer: party, logger: logger)
    }

    func addMessage(_ dispute: Locked, by party: Party, body: String, photo: String?, in tx: PGTransaction) async throws {
        guard dispute.status != "resolved" else { throw AgoraError(.conflict, code: "dispute_resolved", "This dispute is resolved") }
        let count: Int = try await tx.query("SELECT count(*) AS n FROM dispute_messages WHERE dispute_id = \(dispute.id)").one().decode("n")
        guard count < Self.maxMessages else {
            throw AgoraError(.conflict, code: "too_many_messages", "A dispute holds at most \(Self.maxMessages) messages; an administrator can decide it")
        }
        try await tx.execute(
            "INSERT INTO dispute_messages (dispute_id, author_id, author_kind, body, photo_url) VALUES (\(dispute.id), \(party.id), \(party.kind), \(body), \(photo))"
        )
        var next = dispute
        if case .seller = party, dispute.status == "open" {
            next.status = "seller_replied"
            try await tx.execute("UPDATE disputes SET status = 'seller_replied', updated_at = now() WHERE id = \(dispute.id)")
        } else {
            try await tx.execute("UPDATE disputes SET updated_at = now() WHERE id = \(dispute.id)")
        }
        try await record(next, step: "message", by: party, note: nil, in: tx)
        let other = party.id == dispute.buyerID ? dispute.sellerID : dispute.buyerID
        try await mail(dispute, to: other, subject: "New message in a dispute", text: body.isEmpty ? "A photo was added." : body, in: tx)
    }

    /// The most messages (photos included) one dispute holds.
    static let maxMessages = 100

    /// The buyer asks an administrator to decide.
    /// - Throws: 409 `dispute_resolved` or `already_escalated`.
    package func escalate(_ id: UUID, buyer: UUID, logger: Logger) async throws -> DisputeView {
        try await db.withTransaction(logger: logger) { tx in
            let dispute = try await lock(id, for: .buyer(buyer), in: tx)
            guard dispute.status != "resolved" else { throw AgoraError(.conflict, code: "dispute_resolved", "This dispute is resolved") }
            guard dispute.status != "escalated" else { throw AgoraError(.conflict, code: "already_escalated", "An administrator is already asked to decide") }
            try await tx.execute("UPDATE disputes SET status = 'escalated', updated_at = now() WHERE id = \(id)")
            var next = dispute
            next.status = "escalated"
            try await record(next, step: "escalated", by: .buyer(buyer), note: "dispute escalated to the marketplace", in: tx)
            try await mail(dispute, to: dispute.sellerID, subject: "A dispute was escalated", text: "The buyer asked the marketplace to decide.", in: tx)
        }
        return try await view(id, viewer: .buyer(buyer), logger: logger)
    }

    /// The seller accepts the claim: everything left of what was paid goes back (delivered digital items included:
    /// the seller agreed), and the dispute is resolved.
    package func accept(_ id: UUID, seller: UUID, logger: Logger) async throws -> DisputeView {
        let refund = try await resolve(id, by: .seller(seller), amount: nil, refund: true, note: "accepted by the seller", logger: logger)
        await checkout.ask(refund, logger: logger)
        return try await view(id, viewer: .seller(seller), logger: logger)
    }

    /// An administrator decides: a refund (`amount`, or everything left when nil) or close with nothing refunded.
    package func decide(_ id: UUID, refund: Bool, amount: Int64?, reason: String, by admin: UUID, logger: Logger) async throws -> DisputeView {
        let pending = try await resolve(id, by: .admin(admin), amount: amount, refund: refund, note: reason, logger: logger)
        await checkout.ask(pending, logger: logger)
        return try await view(id, viewer: .admin(admin), logger: logger)
    }

    func resolve(_ id: UUID, by party: Party, amount: Int64?, refund: Bool, note: String, logger: Logger) async throws -> RefundService.PendingRefund? {
        try await db.withTransaction(logger: logger) { tx in
            // The order first, then the seller order (as every refund locks them), then the dispute.
            let head = try await tx.query("SELECT seller_order_id FROM disputes WHERE id = \(id)").first
            guard let sellerOrder: UUID = try head?.decode("seller_order_id") else { throw Self.notFound }
            let target = try await checkout.lockRefundTarget(sellerOrder, seller: nil, in: tx)
            let dispute = try await lock(id, for: party, in: tx)
            guard dispute.status != "resolved" else { throw AgoraError(.conflict, code: "dispute_resolved", "This dispute is resolved") }
            var pending: RefundService.PendingRefund?
            if refund {
                let left = target.total - target.refunded
                let value = amount ?? left
                guard left > 0 || amount != nil else {
                    throw AgoraError(.conflict, code: "nothing_refundable", "Everything paid for this order was refunded already")
                }
                pending = try await checkout.refundMoney(
                    target, amount: value, reason: "dispute", actor: party.actor, note: note, key: "dispute-\(id.uuidString.lowercased())", in: tx
                )
            }
            let outcome = refund ? "refunded" : "closed"
            try await tx.execute(
                """
                UPDATE disputes SET status = 'resolved', outcome = \(outcome), refund_id = \(pending?.id), resolved_at = now(), updated_at = now()
                WHERE id = \(id)
                """
            )
            try await unhold(sellerOrder, seller: dispute.sellerID, in: tx)
            var next = dispute
            next.status = "resolved"
            try await record(next, step: refund ? "refunded" : "closed", by: party, note: "dispute \(outcome): \(note)", in: tx)
            for account in [dispute.buyerID, dispute.sellerID] where account != party.id {
                try await mail(dispute, to: account, subject: "A dispute was resolved", text: "Outcome: \(outcome).\n\n\(note)", in: tx)
            }
            if case .admin(let admin) = party {
                try await AuditLog.record(
                    .init(
                        actor: admin, action: .disputeDecided, targetType: "dispute", targetID: id.uuidString, reason: note,
                        before: ["status": .string(dispute.status), "sellerOrderId": .string(sellerOrder.uuidString)],
                        after: [
                            "status": .string("resolved"), "outcome": .string(outcome), "sellerOrderId": .string(sellerOrder.uuidString),
                            "amountMinor": .int(pending?.amount ?? 0),
                        ]
                    ),
                    in: tx
                )
            }
            return pending
        }
    }

    // MARK: Held earnings

    /// Whether a seller order has an unresolved dispute (its earnings then stay pending).
    static func isDisputed(_ sellerOrder: UUID, in tx: PGTransaction) async throws -> Bool {
        try await !tx.query("SELECT 1 FROM disputes WHERE seller_order_id = \(sellerOrder) AND status <> 'resolved'").isEmpty
    }

    /// A delivered seller order's available credit moves back to pending while it is disputed.
    func hold(_ sellerOrder: UUID, seller: UUID, in tx: PGTransaction) async throws {
        let row = try await tx.query(
            """
            SELECT coalesce(sum(amount_minor) FILTER (WHERE bucket = 'available'), 0)::bigint AS available, min(currency) AS currency
            FROM seller_ledger WHERE seller_order_id = \(sellerOrder)
            """
        ).one()
        let available: Int64 = try row.decode("available")
        guard available > 0, let currency: String = try row.decode("currency") else { return }
        try await SellerLedger.record(seller: seller, currency: currency, bucket: "available", amount: -available, entry: "hold", sellerOrder: sellerOrder, in: tx)
        try await SellerLedger.record(seller: seller, currency: currency, bucket: "pending", amount: available, entry: "hold_credit", sellerOrder: sellerOrder, in: tx)
    }

    /// At the end of a dispute, a delivered seller order's pending credit (what a refund left of it) becomes
    /// available: given back after a hold, or released for the first time when it was delivered while disputed. A
    /// seller order still shipped keeps it pending until its delivery.
    func unhold(_ sellerOrder: UUID, seller: UUID, in tx: PGTransaction) async throws {
        let row = try await tx.query(
            """
            SELECT so.status, so.currency,
                   coalesce((SELECT sum(amount_minor) FROM seller_ledger WHERE seller_order_id = so.id AND bucket = 'pending'), 0)::bigint AS pending,
                   EXISTS (SELECT 1 FROM seller_ledger WHERE seller_order_id = so.id AND entry = 'hold') AS held
            FROM seller_orders so WHERE so.id = \(sellerOrder)
            """
        ).one()
        guard try row.decode("status", as: String.self) == "delivered" else { return }
        let pending: Int64 = try row.decode("pending")
        let currency: String = try row.decode("currency")
        if try row.decode("held", as: Bool.self) {
            try await SellerLedger.record(seller: seller, currency: currency, bucket: "pending", amount: -pending, entry: "unhold", sellerOrder: sellerOrder, in: tx)
            try await SellerLedger.record(seller: seller, currency: currency, bucket: "available", amount: pending, entry: "unhold_credit", sellerOrder: sellerOrder, in: tx)
        } else {
            try await SellerLedger.releaseEarnings(sellerOrder: sellerOrder, seller: seller, currency: currency, amount: pending, in: tx)
        }
    }

    // MARK: Reading

    /// Locks a dispute for `party`: its buyer, its seller, or any administrator.
    /// - Throws: 404 for anyone else, as for one that does not exist.
    func lock(_ id: UUID, for party: Party, in tx: PGTransaction) async throws -> Locked {
        guard let row = try await tx.query(
            "SELECT order_id, seller_order_id, buyer_id, seller_id, status FROM disputes WHERE id = \(id) FOR UPDATE"
        ).first else { throw Self.notFound }
        let locked = Locked(
            id: id, orderID: try row.decode("order_id"), sellerOrderID: try row.decode("seller_order_id"), buyerID: try row.decode("buyer_id"),
            sellerID: try row.decode("seller_id"), status: try row.decode("status")
        )
        switch party {
        case .buyer(let account) where account == locked.buyerID: return locked
        case .seller(let account) where account == locked.sellerID: return locked
        case .admin: return locked
        default: throw Self.notFound
        }
    }

    /// Which side of dispute `id` an account is on: its buyer, its seller, or (for an administrator who is neither)
    /// the marketplace.
    /// - Throws: 404 for anyone else, as for one that does not exist.
    package func party(_ id: UUID, account: UUID, isAdmin: Bool, logger: Logger) async throws -> Party {
        guard let row = try await db.query("SELECT buyer_id, seller_id FROM disputes WHERE id = \(id)", logger: logger).first else { throw Self.notFound }
        if try row.decode("buyer_id", as: UUID.self) == account { return .buyer(account) }
        if try row.decode("seller_id", as: UUID.self) == account { return .seller(account) }
        if isAdmin { return .admin(account) }
        throw Self.notFound
    }

    /// Dispute `id` as `viewer` sees it.
    /// - Throws: 404 unless the viewer is its buyer, its seller or an administrator.
    package func view(_ id: UUID, viewer: Party, logger: Logger) async throws -> DisputeView {
        let rows = try await db.query(
            """
            SELECT id, order_id, seller_order_id, buyer_id, seller_id, reason, status, outcome, created_at, resolved_at FROM disputes
            WHERE id = \(id) AND (\(viewer.kind == "admin") OR buyer_id = \(viewer.id) OR seller_id = \(viewer.id))
            """,
            logger: logger
        )
        guard let row = rows.first, let view = try await views([row], logger: logger).first else { throw Self.notFound }
        return view
    }

    /// The disputes of `party` (as buyer or as seller; an administrator sees all, optionally of one status), newest
    /// first for people and oldest first for the administrators' queue.
    package func list(for party: Party, status: String?, limit: Int, cursor: String?, logger: Logger) async throws -> Page<DisputeView> {
        var filter: PGQuery
        switch party {
        case .buyer(let id): filter = "buyer_id = \(id)"
        case .seller(let id): filter = "seller_id = \(id)"
        case .admin: filter = "TRUE"
        }
        if let status { filter.append(" AND status = \(status)") }
        let queue = party.kind == "admin"
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            filter.append(queue ? " AND (created_at, id) > (\(position.date), \(position.id))" : " AND (created_at, id) < (\(position.date), \(position.id))")
        }
        let order: PGQuery = queue ? "created_at, id" : "created_at DESC, id DESC"
        let rows = try await db.query(
            """
            SELECT id, order_id, seller_order_id, buyer_id, seller_id, reason, status, outcome, created_at, resolved_at FROM disputes
            WHERE \(fragment: filter) ORDER BY \(fragment: order) LIMIT \(limit + 1)
            """,
            logger: logger
        )
        let items = try await views(Array(rows.prefix(limit)), logger: logger)
        var next: String?
        if rows.count > limit, let last = items.last { next = OpaqueCursor.encode(TimePosition(last.createdAt, id: last.id)) }
        return Page(items: items, nextCursor: next)
    }

    func views(_ rows: [PGRow], logger: Logger) async throws -> [DisputeView] {
        guard !rows.isEmpty else { return [] }
        let ids: [UUID] = try rows.map { try $0.decode("id") }
        let people: [UUID] = try rows.flatMap { [try $0.decode("buyer_id"), try $0.decode("seller_id")] }
        async let names = checkout.orders.parties(people, logger: logger)
        var messages: [UUID: [DisputeView.Entry]] = [:]
        for row in try await db.query(
            "SELECT id, dispute_id, author_kind, body, photo_url, created_at FROM dispute_messages WHERE dispute_id = ANY(\(ids)) ORDER BY id", logger: logger
        ) {
            messages[try row.decode("dispute_id"), default: []].append(
                DisputeView.Entry(
                    id: try row.decode("id"), author: try row.decode("author_kind"), body: try row.decode("body"), photoUrl: try row.decode("photo_url"),
                    createdAt: try row.decode("created_at")
                )
            )
        }
        let known = try await names
        func party(_ id: UUID) -> SellerOrderView.Party { known[id] ?? SellerOrderView.Party(id: id, username: "", displayName: "") }
        return try rows.map { row in
            let id: UUID = try row.decode("id")
            return DisputeView(
                id: id, orderId: try row.decode("order_id"), sellerOrderId: try row.decode("seller_order_id"), buyer: party(try row.decode("buyer_id")),
                seller: party(try row.decode("seller_id")), reason: try row.decode("reason"), status: try row.decode("status"),
                outcome: try row.decode("outcome"), messages: messages[id] ?? [], createdAt: try row.decode("created_at"),
                resolvedAt: try row.decode("resolved_at")
            )
        }
    }

    // MARK: Records

    /// The history row and the live event of a step (both sides get it on their `order:status` stream).
    func record(_ dispute: Locked, step: String, by party: Party, note: String?, in tx: PGTransaction) async throws {
        let row = try await tx.query("SELECT status, total_minor, currency FROM seller_orders WHERE id = \(dispute.sellerOrderID)").one()
        let status: SellerOrderStatus = try OrderRecords.enumValue(row, "status")
        if let note {
            try await OrderRecords.recordHistory(
                order: dispute.orderID, sellerOrder: dispute.sellerOrderID, from: status.rawValue, to: status.rawValue, actor: party.actor, note: note, in: tx
            )
        }
        try await checkout.events.record(
            OrderRecords.orderEvent(
                .orderDispute, order: dispute.orderID, sellerOrder: dispute.sellerOrderID, buyer: dispute.buyerID, seller: dispute.sellerID, status: status,
                total: try row.decode("total_minor"), currency: try row.decode("currency"), actor: party.id,
                extra: ["disputeId": .string(dispute.id.uuidString.lowercased()), "step": .string(step), "disputeStatus": .string(dispute.status)]
            ),
            in: tx
        )
    }

    func mail(_ dispute: Locked, to account: UUID, subject: String, text: String, in tx: PGTransaction) async throws {
        let order = dispute.orderID.uuidString.lowercased()
        let mail = OrderMail(
            to: account, subject: subject, body: "\(text)\n\nOrder: \(checkout.settings.publicURL)/#/orders/\(order)\n", muteKind: "order_status"
        )
        if let statement = try checkout.mailer.enqueueStatement([mail]) { try await tx.execute(statement) }
    }

    /// A dispute message: trimmed, at most 2000 characters of text.
    static func text(_ raw: String?, field: String, required: Bool) throws -> String? {
        try TextPolicy.field(raw, field, max: 2000, required: required, missing: "Say what happened")
    }

    static var notFound: AgoraError { AgoraError(.notFound, code: "dispute_not_found", "No such dispute") }
}

extension Duration {
    /// Whole seconds.
    var wholeSeconds: Int64 { components.seconds }
}
