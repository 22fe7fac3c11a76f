package import Accounts
package import AgoraCore
import Catalog
import Foundation
package import Hummingbird
import Logging
package import Moderation

/// The HTTP face of moderation: any user's report, and the administrators' queue, users, roles, suspensions and
/// takedowns. Every administrator route that changes anything records it in the audit log in the same transaction.
package struct ModerationRoutes: Sendable {
    let desk: ModerationDesk
    let defaultPageSize: Int
    let maxPageSize: Int

    package init(desk: ModerationDesk, defaultPageSize: Int, maxPageSize: Int) {
        self.desk = desk
        self.defaultPageSize = defaultPageSize
        self.maxPageSize = maxPageSize
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.post("/api/reports", use: file)
        router.get("/api/admin/reports", use: reports)
        router.post("/api/admin/reports/:id/resolve", use: resolve)
        router.get("/api/admin/users", use: users)
        router.get("/api/admin/users/:id", use: user)
        router.post("/api/admin/users/:id/role", use: role)
        router.post("/api/admin/users/:id/suspend", use: suspend)
        router.post("/api/admin/users/:id/unsuspend", use: unsuspend)
        router.post("/api/admin/products/:id/takedown", use: takeDown)
        router.post("/api/admin/products/:id/restore", use: restore)
    }

    // MARK: Reports

    struct ReportInput: Decodable {
        var targetType: String
        var targetId: String
        var reason: String
        var body: String?
    }

    /// `POST /api/reports`: any signed-in user reports a listing, a user or a message of their conversations.
    @Sendable func file(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<Report> {
        let identity = try context.requireIdentity()
        let input = try await request.decode(as: ReportInput.self, context: context)
        var problems: [String: String] = [:]
        let target = ReportTarget(rawValue: input.targetType)
        if target == nil { problems["targetType"] = "must be one of \(ReportTarget.allCases.map(\.rawValue).joined(separator: ", "))" }
        let reason = ReportReason(rawValue: input.reason)
        if reason == nil { problems["reason"] = "must be one of \(ReportReason.allCases.map(\.rawValue).joined(separator: ", "))" }
        if !(1...64).contains(input.targetId.utf8.count) { problems["targetId"] = "must be an id" }
        var body = ""
        switch TextPolicy.multiLine(input.body?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", max: 2000) {
        case .success(let text): body = text
        case .failure(let problem): problems["body"] = problem.description
        }
        guard problems.isEmpty, let target, let reason else { throw AgoraError(.validation, "The report is not valid", fields: problems) }
        let report = try await desk.file(by: identity.accountID, target: target, targetID: input.targetId, reason: reason, body: body, logger: context.logger)
        return EditedResponse(status: .created, response: report)
    }

    /// `GET /api/admin/reports`: the queue, oldest first; `status` (`open`, `resolved`) and `targetType` narrow it.
    @Sendable func reports(_ request: Request, context: AgoraRequestContext) async throws -> Page<Report> {
        _ = try context.requireRole(.admin)
        let page = try request.pagination(defaultLimit: defaultPageSize, maxLimit: maxPageSize)
        let query = QueryFilters(request)
        let status = try query.text("status", max: 20)
        if let status, !["open", "resolved"].contains(status) {
            throw AgoraError(.badRequest, code: "invalid_parameter", "status must be open or resolved")
        }
        var target: ReportTarget?
        if let raw = try query.text("targetType", max: 20) {
            guard let value = ReportTarget(rawValue: raw) else {
                throw AgoraError(.badRequest, code: "invalid_parameter", "targetType must be product, user or message")
            }
            target = value
        }
        return try await desk.reports.reports(status: status, target: target, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    struct ResolveInput: Decodable { var action: String; var reason: String? }

    /// `POST /api/admin/reports/:id/resolve {"action": "dismiss" | "take_down" | "warn" | "suspend", "reason"}`.
    @Sendable func resolve(_ request: Request, context: AgoraRequestContext) async throws -> Report {
        let identity = try context.requireRole(.admin)
        let input = try await request.decode(as: ResolveInput.self, context: context)
        guard let action = ModerationDesk.Action(rawValue: input.action) else {
            let names = ModerationDesk.Action.allCases.map(\.rawValue).joined(separator: ", ")
            throw AgoraError(.validation, "Unknown action", fields: ["action": "must be one of \(names)"])
        }
        let reason = try Self.reason(input.reason)
        return try await desk.resolve(try context.uuidParameter(), action: action, reason: reason, by: identity.accountID, logger: context.logger)
    }

    // MARK: Users

    /// `GET /api/admin/users`: newest first; `q` (a prefix of the username, display name or email), `role` and
    /// `suspended` (`true`/`false`) narrow it.
    @Sendable func users(_ request: Request, context: AgoraRequestContext) async throws -> Page<AdminUser> {
        _ = try context.requireRole(.admin)
        let page = try request.pagination(defaultLimit: defaultPageSize, maxLimit: maxPageSize)
        let query = QueryFilters(request)
        var filter = AdminUserFilter(query: try query.text("q", max: 254))
        if let raw = try query.text("role", max: 20) {
            guard let role = Role(rawValue: raw) else { throw AgoraError(.badRequest, code: "invalid_parameter", "role must be buyer, seller or admin") }
            filter.role = role
        }
        if let raw = try query.text("suspended", max: 5) {
            guard raw == "true" || raw == "false" else { throw AgoraError(.badRequest, code: "invalid_parameter", "suspended must be true or false") }
            filter.suspended = raw == "true"
        }
        return try await desk.accounts.adminUsers(filter, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    @Sendable func user(_ request: Request, context: AgoraRequestContext) async throws -> AdminUser {
        _ = try context.requireRole(.admin)
        return try await desk.accounts.adminUser(try context.uuidParameter(), logger: context.logger)
    }

    struct RoleInput: Decodable { var role: String; var reason: String? }

    /// `POST /api/admin/users/:id/role {"role", "reason"}`: grant or revoke seller and admin.
    @Sendable func role(_ request: Request, context: AgoraRequestContext) async throws -> AdminUser {
        let identity = try context.requireRole(.admin)
        let input = try await request.decode(as: RoleInput.self, context: context)
        guard let role = Role(rawValue: input.role) else {
            throw AgoraError(.validation, "Unknown role", fields: ["role": "must be buyer, seller or admin"])
        }
        let reason = try Self.reason(input.reason)
        return try await desk.changeRole(try context.uuidParameter(), to: role, reason: reason, by: identity.accountID, logger: context.logger)
    }

    struct ReasonInput: Decodable { var reason: String? }

    @Sendable func suspend(_ request: Request, context: AgoraRequestContext) async throws -> AdminUser {
        let identity = try context.requireRole(.admin)
        let reason = try Self.reason(try await request.decode(as: ReasonInput.self, context: context).reason)
        return try await desk.suspend(try context.uuidParameter(), reason: reason, by: identity.accountID, logger: context.logger)
    }

    @Sendable func unsuspend(_ request: Request, context: AgoraRequestContext) async throws -> AdminUser {
        let identity = try context.requireRole(.admin)
        let reason = try Self.reason(try await request.decode(as: ReasonInput.self, context: context).reason)
        return try await desk.unsuspend(try context.uuidParameter(), reason: reason, by: identity.accountID, logger: context.logger)
    }

    // MARK: Listings

    struct ListingBody: ResponseEncodable {
        var id: UUID
        var sellerId: UUID
        var title: String
        var status: String

        init(_ moderated: ProductService.Moderated) {
            id = moderated.id
            sellerId = moderated.sellerID
            title = moderated.title
            status = moderated.after.rawValue
        }
    }

    @Sendable func takeDown(_ request: Request, context: AgoraRequestContext) async throws -> ListingBody {
        let identity = try context.requireRole(.admin)
        let reason = try Self.reason(try await request.decode(as: ReasonInput.self, context: context).reason)
        return ListingBody(try await desk.takeDown(try context.uuidParameter(), reason: reason, by: identity.accountID, logger: context.logger))
    }

    @Sendable func restore(_ request: Request, context: AgoraRequestContext) async throws -> ListingBody {
        let identity = try context.requireRole(.admin)
        let reason = try Self.reason(try await request.decode(as: ReasonInput.self, context: context).reason)
        return ListingBody(try await desk.restore(try context.uuidParameter(), reason: reason, by: identity.accountID, logger: context.logger))
    }

    /// An administrator's reason: required, trimmed, 1 to 500 characters of text (the person concerned reads it).
    static func reason(_ raw: String?) throws -> String {
        try TextPolicy.field(raw, "reason", max: 500, required: true, missing: "Say why") ?? ""
    }
}

extension Report: ResponseEncodable {}
extension AdminUser: ResponseEncodable {}
