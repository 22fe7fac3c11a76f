package import AgoraAudit
package import AgoraCore
package import Commerce
import Foundation
package import Hummingbird
import Logging

/// The operator's HTTP face: the dashboard's figures, the payouts to settle and the audit log. Every route needs the
/// admin role, and every one that changes anything records it in the audit log in the same transaction.
package struct AdminRoutes: Sendable {
    let admin: AdminService
    let payouts: PayoutService
    let audit: AuditLog
    let settings: CommerceSettings

    package init(admin: AdminService, payouts: PayoutService, audit: AuditLog, settings: CommerceSettings) {
        self.admin = admin
        self.payouts = payouts
        self.audit = audit
        self.settings = settings
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/admin/stats", use: stats)
        router.get("/api/admin/payouts", use: adminPayouts)
        router.post("/api/admin/payouts/:id/settle", use: settlePayout)
        router.get("/api/admin/audit", use: auditEntries)
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
        let query = request.uri.queryParameters
        func text(_ name: String, max: Int) throws -> String? {
            guard let raw = query[Substring(name)].map(String.init) else { return nil }
            guard !raw.isEmpty, raw.utf8.count <= max, !raw.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw AgoraError(.badRequest, code: "invalid_parameter", "\(name) must be 1 to \(max) characters without control characters")
            }
            return raw
        }
        func time(_ name: String) throws -> Date? {
            guard let raw = try text(name, max: 40) else { return nil }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let plain = ISO8601DateFormatter()
            guard let date = formatter.date(from: raw) ?? plain.date(from: raw) else {
                throw AgoraError(.badRequest, code: "invalid_parameter", "\(name) must be a time like 2026-12-01T00:00:00Z")
            }
            return date
        }
        var filter = AuditFilter()
        if let actor = try text("actor", max: 36) {
            guard let id = UUID(uuidString: actor) else { throw AgoraError(.badRequest, code: "invalid_parameter", "actor must be an account id") }
            filter.actor = id
        }
        if let action = try text("action", max: 64) {
            guard let known = AuditAction(rawValue: action), known != .unknown else {
                let names = AuditAction.allCases.filter { $0 != .unknown }.map(\.rawValue).joined(separator: ", ")
                throw AgoraError(.badRequest, code: "invalid_parameter", "action must be one of \(names)")
            }
            filter.action = known
        }
        filter.targetType = try text("targetType", max: 64)
        filter.targetID = try text("targetId", max: 200)
        filter.from = try time("from")
        filter.to = try time("to")
        return try await audit.entries(filter, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }
}

extension AdminStats: ResponseEncodable {}
