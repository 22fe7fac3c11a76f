package import AgoraAudit
package import AgoraCore
package import Commerce
import Foundation
import HTTPTypes
package import Hummingbird
import Logging

/// The operator's HTTP face: the dashboard's figures, the payouts to settle and the audit log. Every route needs the
/// admin role, and every one that changes anything records it in the audit log in the same transaction.
package struct AdminRoutes: Sendable {
    let admin: AdminService
    let commerce: CommerceServices
    let disputes: DisputeService
    let audit: AuditLog
    var payouts: PayoutService { commerce.payouts }
    var settings: CommerceSettings { commerce.settings }

    package init(admin: AdminService, commerce: CommerceServices, disputes: DisputeService, audit: AuditLog) {
        self.admin = admin
        self.commerce = commerce
        self.disputes = disputes
        self.audit = audit
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/admin/stats", use: stats)
        router.get("/api/admin/payouts", use: adminPayouts)
        router.post("/api/admin/payouts/:id/settle", use: settlePayout)
        router.get("/api/admin/audit", use: auditEntries)
        router.get("/api/admin/orders", use: orders)
        router.get("/api/admin/orders/:id", use: order)
        router.post("/api/admin/seller-orders/:id/refunds", use: refund)
        router.post("/api/admin/seller-orders/:id/status", use: overrideStatus)
        router.get("/api/admin/disputes", use: disputeQueue)
        router.post("/api/admin/disputes/:id/decide", use: decide)
    }

    // MARK: Disputes

    /// `GET /api/admin/disputes?status=`: oldest first (`open`, `seller_replied`, `escalated`, `resolved`).
    @Sendable func disputeQueue(_ request: Request, context: AgoraRequestContext) async throws -> Page<DisputeView> {
        let identity = try context.requireRole(.admin)
        let page = try request.pagination(defaultLimit: settings.defaultPageSize, maxLimit: settings.maxPageSize)
        let status = try QueryFilters(request).text("status", max: 20)
        if let status, !["open", "seller_replied", "escalated", "resolved"].contains(status) {
            throw AgoraError(.badRequest, code: "invalid_parameter", "status must be open, seller_replied, escalated or resolved")
        }
        return try await disputes.list(for: .admin(identity.accountID), status: status, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    struct DecideInput: Decodable {
        var outcome: String
        var amount: Int64?
        var reason: String?
    }

    /// `POST /api/admin/disputes/:id/decide {"outcome": "refund" | "close", "amount"?, "reason"}`: a refund of `amount`
    /// (everything left when absent), or close with nothing refunded.
    @Sendable func decide(_ request: Request, context: AgoraRequestContext) async throws -> DisputeView {
        let identity = try context.requireRole(.admin)
        let input = try await request.decode(as: DecideInput.self, context: context)
        guard input.outcome == "refund" || input.outcome == "close" else {
            throw AgoraError(.validation, "Unknown outcome", fields: ["outcome": "must be refund or close"])
        }
        if input.outcome == "close", input.amount != nil {
            throw AgoraError(.validation, "A closed dispute refunds nothing", fields: ["amount": "only with outcome refund"])
        }
        let reason = try ModerationRoutes.reason(input.reason)
        return try await disputes.decide(
            try context.uuidParameter(), refund: input.outcome == "refund", amount: input.amount, reason: reason, by: identity.accountID, logger: context.logger
        )
    }

    // MARK: Orders

    /// `GET /api/admin/orders`: newest first; `status`, `buyer`, `seller`, `from`, `to` (RFC 3339, `to` exclusive),
    /// `minTotal` and `maxTotal` (minor units) narrow it.
    @Sendable func orders(_ request: Request, context: AgoraRequestContext) async throws -> Page<AdminOrderSummary> {
        _ = try context.requireRole(.admin)
        let page = try request.pagination(defaultLimit: settings.defaultPageSize, maxLimit: settings.maxPageSize)
        let query = QueryFilters(request)
        var filter = AdminOrderFilter()
        if let status = try query.text("status", max: 40) {
            guard let value = OrderStatus(rawValue: status) else {
                throw AgoraError(.badRequest, code: "invalid_parameter", "status must be one of pending_payment, paid, cancelled, refunded")
            }
            filter.status = value
        }
        filter.buyer = try query.id("buyer")
        filter.seller = try query.id("seller")
        filter.from = try query.time("from")
        filter.to = try query.time("to")
        filter.minTotal = try query.amount("minTotal")
        filter.maxTotal = try query.amount("maxTotal")
        return try await commerce.orders.adminOrders(filter, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    @Sendable func order(_ request: Request, context: AgoraRequestContext) async throws -> AdminOrderView {
        _ = try context.requireRole(.admin)
        return try await commerce.orders.adminOrder(try context.uuidParameter(), logger: context.logger)
    }

    struct RefundInput: Decodable {
        var amount: Int64?
        var full: Bool?
        var includeDelivered: Bool?
        var reason: String?
    }

    /// `POST /api/admin/seller-orders/:id/refunds`: `amount` (minor units) or `full: true`, and a `reason`;
    /// `includeDelivered: true` gives back delivered digital items too. `Idempotency-Key` makes a retry refund once.
    @Sendable func refund(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<AdminOrderView> {
        let identity = try context.requireRole(.admin)
        let input = try await request.decode(as: RefundInput.self, context: context)
        let scope: RefundScope
        switch (input.amount, input.full ?? false) {
        case (let amount?, false): scope = .amount(amount)
        case (nil, true): scope = .everything(includeDelivered: input.includeDelivered ?? false)
        default:
            throw AgoraError(.validation, "Refund an amount or everything, not both", fields: ["amount": "give an amount, or full: true"])
        }
        let orderID = try await commerce.checkout.adminRefund(
            try context.uuidParameter(), scope: scope, reason: input.reason, by: identity.accountID,
            idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!], logger: context.logger
        )
        return EditedResponse(status: .created, response: try await commerce.orders.adminOrder(orderID, logger: context.logger))
    }

    struct StatusInput: Decodable { var status: String; var reason: String? }

    /// `POST /api/admin/seller-orders/:id/status`: moves a seller order along its state machine, or cancels it.
    @Sendable func overrideStatus(_ request: Request, context: AgoraRequestContext) async throws -> AdminOrderView {
        let identity = try context.requireRole(.admin)
        let input = try await request.decode(as: StatusInput.self, context: context)
        guard let next = SellerOrderStatus(rawValue: input.status), [.shipped, .delivered, .cancelled].contains(next) else {
            throw AgoraError(.validation, "A seller order can be moved to shipped, delivered or cancelled", fields: ["status": "must be shipped, delivered or cancelled"])
        }
        let orderID = try await commerce.checkout.overrideStatus(
            try context.uuidParameter(), to: next, reason: input.reason, by: identity.accountID, logger: context.logger)
        return try await commerce.orders.adminOrder(orderID, logger: context.logger)
    }

    @Sendable func stats(_ request: Request, context: AgoraRequestContext) async throws -> AdminStats {
        _ = try context.requireRole(.admin)
        let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
        func day(_ name: String, _ fallback: Date) throws -> Date {
            guard let raw = request.uri.queryParameters[Substring(name)] else { return fallback }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            guard let date = formatter.date(from: String(raw)) else {
                throw AgoraError(.badRequest, code: "invalid_parameter", "\(name) must be a date like 2026-12-01")
            }
            return date
        }
        let to = try day("to", today)
        let from = try day("from", to.addingTimeInterval(-29 * 86_400))
        guard from <= to, to.timeIntervalSince(from) <= 366 * 86_400 else {
            throw AgoraError(.badRequest, code: "invalid_parameter", "from must not be after to, and the range at most 366 days")
        }
        return try await admin.stats(from: from, to: to, logger: context.logger)
    }

    @Sendable func adminPayouts(_ request: Request, context: AgoraRequestContext) async throws -> Page<Payout> {
        _ = try context.requireRole(.admin)
        let page = try request.pagination(defaultLimit: settings.defaultPageSize, maxLimit: settings.maxPageSize)
        let status = request.uri.queryParameters["status"].map(String.init)
        if let status, !["requested", "paid", "failed"].contains(status) {
            throw AgoraError(.badRequest, code: "invalid_parameter", "status must be requested, paid or failed")
        }
        return try await payouts.payouts(seller: nil, status: status, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    struct SettleInput: Decodable { var status: String; var note: String? }

    @Sendable func settlePayout(_ request: Request, context: AgoraRequestContext) async throws -> Payout {
        let identity = try context.requireRole(.admin)
        let input = try await request.decode(as: SettleInput.self, context: context)
        return try await payouts.settlePayout(
            try context.uuidParameter(), status: input.status, note: input.note, by: identity.accountID, logger: context.logger)
    }

    /// `GET /api/admin/audit`: newest first; `actor`, `action`, `targetType`, `targetId`, `from` and `to` (RFC 3339 times,
    /// `to` exclusive) narrow it.
    @Sendable func auditEntries(_ request: Request, context: AgoraRequestContext) async throws -> Page<AuditEntry> {
        _ = try context.requireRole(.admin)
        let page = try request.pagination(defaultLimit: settings.defaultPageSize, maxLimit: settings.maxPageSize)
        let query = QueryFilters(request)
        var filter = AuditFilter()
        filter.actor = try query.id("actor")
        if let action = try query.text("action", max: 64) {
            guard let known = AuditAction(rawValue: action), known != .unknown else {
                let names = AuditAction.allCases.filter { $0 != .unknown }.map(\.rawValue).joined(separator: ", ")
                throw AgoraError(.badRequest, code: "invalid_parameter", "action must be one of \(names)")
            }
            filter.action = known
        }
        filter.targetType = try query.text("targetType", max: 64)
        filter.targetID = try query.text("targetId", max: 200)
        filter.from = try query.time("from")
        filter.to = try query.time("to")
        return try await audit.entries(filter, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }
}

/// The query parameters of the back office's lists, each checked at the edge: a bad one is a 400 naming it.
struct QueryFilters {
    let parameters: [String: String]

    init(_ request: Request) {
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
        self.parameters = parameters
    }

    func text(_ name: String, max: Int) throws -> String? {
        guard let raw = parameters[name] else { return nil }
        guard !raw.isEmpty, raw.utf8.count <= max, !raw.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw AgoraError(.badRequest, code: "invalid_parameter", "\(name) must be 1 to \(max) characters without control characters")
        }
        return raw
    }

    func id(_ name: String) throws -> UUID? {
        guard let raw = try text(name, max: 36) else { return nil }
        guard let id = UUID(uuidString: raw) else { throw AgoraError(.badRequest, code: "invalid_parameter", "\(name) must be an id") }
        return id
    }

    /// An RFC 3339 time, with or without fractional seconds.
    func time(_ name: String) throws -> Date? {
        guard let raw = try text(name, max: 40) else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: raw) ?? ISO8601DateFormatter().date(from: raw) else {
            throw AgoraError(.badRequest, code: "invalid_parameter", "\(name) must be a time like 2026-12-01T00:00:00Z")
        }
        return date
    }

    /// An amount in minor units, 0 or more.
    func amount(_ name: String) throws -> Int64? {
        guard let raw = try text(name, max: 19) else { return nil }
        guard let value = Int64(raw), value >= 0 else {
            throw AgoraError(.badRequest, code: "invalid_parameter", "\(name) must be a whole number of minor units, 0 or more")
        }
        return value
    }
}

extension AdminStats: ResponseEncodable {}
extension AdminOrderView: ResponseEncodable {}
