package import AgoraCore
package import Commerce
import Foundation
package import Hummingbird
import Logging

/// The operator's HTTP face: the dashboard's figures and the payouts to settle. Every route needs the admin role.
package struct AdminRoutes: Sendable {
    let admin: AdminService
    let payouts: PayoutService
    let settings: CommerceSettings

    package init(admin: AdminService, payouts: PayoutService, settings: CommerceSettings) {
        self.admin = admin
        self.payouts = payouts
        self.settings = settings
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/admin/stats", use: stats)
        router.get("/api/admin/payouts", use: adminPayouts)
        router.post("/api/admin/payouts/:id/settle", use: settlePayout)
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
        _ = try context.requireRole(.admin)
        let input = try await request.decode(as: SettleInput.self, context: context)
        return try await payouts.settlePayout(try context.uuidParameter(), status: input.status, note: input.note, logger: context.logger)
    }
}

extension AdminStats: ResponseEncodable {}
