package import Accounts
package import AgoraAudit
package import AgoraCore
package import AgoraPostgres
package import Catalog
package import Chat
package import Commerce
package import Foundation
package import Logging
package import Moderation

/// What administrators do about people and listings: suspend and reinstate accounts, change roles, take listings
/// down and put them back, and resolve the reports users file. Each change runs in one transaction with its audit
/// entry (and the mail that tells the person concerned); what lives outside PostgreSQL follows the commit: the
/// account's sessions end (closing its sockets on every instance) and the cached listings are dropped.
package struct ModerationDesk: Sendable {
    let db: PGPool
    let accounts: AccountsService
    let products: ProductService
    let chat: ChatService
    let reports: ReportService
    /// Mails addressed by account id, written in the caller's transaction.
    let mailer: any OrderMailer

    package init(db: PGPool, accounts: AccountsService, products: ProductService, chat: ChatService, reports: ReportService, mailer: any OrderMailer) {
        self.db = db
        self.accounts = accounts
        self.products = products
        self.chat = chat
        self.reports = reports
        self.mailer = mailer
    }

    // MARK: Reports

    /// Files a user's report after checking that its target exists and that the reporter may see it (a listing that
    /// is published, an account, a message of one of their conversations).
    /// - Throws: 404 `target_not_found`; 422 for a malformed target id, or for reporting oneself.
    package func file(
        by reporter: UUID, target: ReportTarget, targetID raw: String, reason: ReportReason, body: String, logger: Logger
    ) async throws -> Report {
        let notFound = AgoraError(.notFound, code: "target_not_found", "Nothing to report there")
        func malformed(_ what: String) -> AgoraError {
            AgoraError(.validation, "The target is not valid", fields: ["targetId": what])
        }
        let subject: UUID
        var targetID = raw
        var evidence: String?
        switch target {
        case .product, .user:
            guard let id = UUID(uuidString: raw) else { throw malformed("must be an id") }
            targetID = id.uuidString
            if target == .product {
                guard let product = try await products.reportable(id, logger: logger) else { throw notFound }
                subject = product.sellerID
            } else {
                do { subject = try await accounts.adminUser(id, logger: logger).id } catch let error as AgoraError where error.kind == .notFound { throw notFound }
            }
        case .message:
            guard let id = Int64(raw), id > 0 else { throw malformed("must be a message id") }
            targetID = String(id)
            guard let message = try await chat.reportableMessage(id, viewer: reporter, logger: logger) else { throw notFound }
            subject = message.author
            evidence = String(message.text.unicodeScalars.prefix(10_000))
        }
        guard subject != reporter else {
            throw AgoraError(.validation, code: "own_target", "You cannot report yourself or what is yours", fields: ["targetId": "is yours"])
        }
        let report = try await reports.file(
            NewReport(reporter: reporter, target: target, targetID: targetID, subject: subject, reason: reason, body: body, evidence: evidence),
            logger: logger
        )
        logger.info("Report filed", metadata: ["agora.report_id": "\(report.id)", "target": "\(target.rawValue)"])
        return report
    }

    /// What an administrator does about a report.
    package enum Action: String, Sendable, CaseIterable {
        case dismiss, takeDown = "take_down", warn, suspend
    }

    /// Resolves an open report with `action` (and every other open report of the same target with it).
    /// - Throws: 404; 409 `report_resolved`; 422 for `take_down` of anything but a listing; what the action throws.
    package func resolve(_ id: UUID, action: Action, reason: String, by admin: UUID, logger: Logger) async throws -> Report {
        var ended: UUID?
        var forget: [UUID] = []
        let report: Report = try await db.withTransaction(logger: logger) { tx in
            let report = try await reports.lockOpen(id, in: tx)
            let resolution: ReportResolution
            switch action {
            case .dismiss:
                resolution = .dismissed
            case .takeDown:
                guard report.targetType == .product, let product = UUID(uuidString: report.targetId) else {
                    throw AgoraError(.validation, "Only a reported listing can be taken down", fields: ["action": "take_down applies to product reports"])
                }
                forget = [try await takeDown(product, reason: reason, by: admin, in: tx).id]
                resolution = .takenDown
            case .warn:
                try await accounts.warn(report.subjectId, reason: reason, in: tx)
                try await AuditLog.record(
                    .init(
                        actor: admin, action: .accountWarned, targetType: "account", targetID: report.subjectId.uuidString, reason: reason,
                        before: [:], after: ["reportId": .string(report.id.uuidString)]
                    ),
                    in: tx
                )
                resolution = .warned
            case .suspend:
                forget = try await suspend(report.subjectId, reason: reason, by: admin, in: tx)
                ended = report.subjectId
                resolution = .suspended
            }
            let resolved = try await reports.resolve(id, as: resolution, note: reason, by: admin, in: tx)
            try await AuditLog.record(
                .init(
                    actor: admin, action: .reportResolved, targetType: "report", targetID: id.uuidString, reason: reason,
                    before: Self.state(report), after: Self.state(resolved)
                ),
                in: tx
            )
            return resolved
        }
        await afterCommit(endingSessionsOf: ended, forgetting: forget, logger: logger)
        return report
    }

    static func state(_ report: Report) -> AuditLog.State {
        var state: AuditLog.State = [
            "targetType": .string(report.targetType.rawValue), "targetId": .string(report.targetId), "subjectId": .string(report.subjectId.uuidString),
            "status": .string(report.status),
        ]
        if let resolution = report.resolution { state["resolution"] = .string(resolution.rawValue) }
        return state
    }

    // MARK: Accounts

    /// Suspends an account: it cannot log in, its sessions end and its sockets close on every instance, its listings
    /// are hidden; its orders stay refundable.
    /// - Throws: 404; 409 `already_suspended`, or `own_account` for oneself.
    package func suspend(_ id: UUID, reason: String, by admin: UUID, logger: Logger) async throws -> AdminUser {
        let hidden = try await db.withTransaction(logger: logger) { tx in try await suspend(id, reason: reason, by: admin, in: tx) }
        await afterCommit(endingSessionsOf: id, forgetting: hidden, logger: logger)
        return try await accounts.adminUser(id, logger: logger)
    }

    func suspend(_ id: UUID, reason: String, by admin: UUID, in tx: PGTransaction) async throws -> [UUID] {
        guard id != admin else { throw AgoraError(.conflict, code: "own_account", "You cannot suspend your own account") }
        let change = try await accounts.suspend(id, reason: reason, in: tx)
        let hidden = try await products.hideListings(of: id, actor: admin, in: tx)
        try await AuditLog.record(
            .init(
                actor: admin, action: .accountSuspended, targetType: "account", targetID: id.uuidString, reason: reason,
                before: Self.state(change.before), after: Self.state(change.after).merging(["listingsHidden": .int(Int64(hidden.count))]) { $1 }
            ),
            in: tx
        )
        return hidden
    }

    /// Lifts a suspension: the account can log in again and the listings its suspension hid come back.
    /// - Throws: 404; 409 `not_suspended`.
    package func unsuspend(_ id: UUID, reason: String, by admin: UUID, logger: Logger) async throws -> AdminUser {
        let restored: [UUID] = try await db.withTransaction(logger: logger) { tx in
            let change = try await accounts.unsuspend(id, in: tx)
            let restored = try await products.restoreListings(of: id, in: tx)
            try await AuditLog.record(
                .init(
                    actor: admin, action: .accountUnsuspended, targetType: "account", targetID: id.uuidString, reason: reason,
                    before: Self.state(change.before), after: Self.state(change.after).merging(["listingsRestored": .int(Int64(restored.count))]) { $1 }
                ),
                in: tx
            )
            return restored
        }
        await afterCommit(endingSessionsOf: nil, forgetting: restored, logger: logger)
        return try await accounts.adminUser(id, logger: logger)
    }

    /// Gives an account another role; its sessions end, so no token keeps the old one.
    /// - Throws: 404; 409 `role_unchanged`, or `own_account` for one's own role (the CLI stays for that); 422
    ///   `email_not_verified` to make an unverified account a seller or an admin.
    package func changeRole(_ id: UUID, to role: Role, reason: String, by admin: UUID, logger: Logger) async throws -> AdminUser {
        guard id != admin else { throw AgoraError(.conflict, code: "own_account", "You cannot change your own role here; use agora set-role") }
        try await db.withTransaction(logger: logger) { tx in
            let change = try await accounts.changeRole(id, to: role, in: tx)
            try await AuditLog.record(
                .init(
                    actor: admin, action: .accountRoleChanged, targetType: "account", targetID: id.uuidString, reason: reason,
                    before: Self.state(change.before), after: Self.state(change.after)
                ),
                in: tx
            )
        }
        await afterCommit(endingSessionsOf: id, forgetting: [], logger: logger)
        return try await accounts.adminUser(id, logger: logger)
    }

    static func state(_ user: AdminUser) -> AuditLog.State {
        ["username": .string(user.username), "role": .string(user.role.rawValue), "suspended": .bool(user.suspendedAt != nil)]
    }

    // MARK: Listings

    /// Takes a listing down; its seller is mailed why, and sees it on the listing.
    package func takeDown(_ id: UUID, reason: String, by admin: UUID, logger: Logger) async throws -> ProductService.Moderated {
        let moderated = try await db.withTransaction(logger: logger) { tx in try await takeDown(id, reason: reason, by: admin, in: tx) }
        await afterCommit(endingSessionsOf: nil, forgetting: [id], logger: logger)
        return moderated
    }

    func takeDown(_ id: UUID, reason: String, by admin: UUID, in tx: PGTransaction) async throws -> ProductService.Moderated {
        let moderated = try await products.takeDown(id, reason: reason, actor: admin, in: tx)
        try await AuditLog.record(
            .init(
                actor: admin, action: .productTakenDown, targetType: "product", targetID: id.uuidString, reason: reason,
                before: Self.state(moderated, moderated.before), after: Self.state(moderated, moderated.after)
            ),
            in: tx
        )
        let mail = OrderMail(
            to: moderated.sellerID, subject: "Your listing was taken down",
            body: "Your listing \"\(moderated.title)\" was taken down by the marketplace's administrators.\n\nReason: \(reason)\n\n"
                + "It is hidden from buyers; you still see it among your products.\n"
        )
        if let statement = try mailer.enqueueStatement([mail]) { try await tx.execute(statement) }
        return moderated
    }

    /// Puts a listing an administrator took down back as it was.
    package func restore(_ id: UUID, reason: String, by admin: UUID, logger: Logger) async throws -> ProductService.Moderated {
        let moderated = try await db.withTransaction(logger: logger) { tx in
            let moderated = try await products.restore(id, actor: admin, in: tx)
            try await AuditLog.record(
                .init(
                    actor: admin, action: .productRestored, targetType: "product", targetID: id.uuidString, reason: reason,
                    before: Self.state(moderated, moderated.before), after: Self.state(moderated, moderated.after)
                ),
                in: tx
            )
            return moderated
        }
        await afterCommit(endingSessionsOf: nil, forgetting: [id], logger: logger)
        return moderated
    }

    static func state(_ product: ProductService.Moderated, _ status: ProductStatus) -> AuditLog.State {
        ["sellerId": .string(product.sellerID.uuidString), "title": .string(product.title), "status": .string(status.rawValue)]
    }

    // MARK: After the commit

    /// Ends the sessions of an account whose suspension or role change committed, and drops cached listings. A
    /// failure here is logged, not thrown: the change stands, a suspended account's refresh and login are refused
    /// anyway, and its access tokens run out within their lifetime.
    func afterCommit(endingSessionsOf account: UUID?, forgetting products: [UUID], logger: Logger) async {
        if let account {
            do {
                try await accounts.endSessions(of: account, logger: logger)
            } catch {
                logger.error(
                    "Could not end the sessions of a moderated account; they end at their next refresh",
                    metadata: [LogKey.account.rawValue: "\(account)", "error": "\(String(reflecting: error))"]
                )
            }
        }
        await self.products.forget(products, logger: logger)
    }
}
