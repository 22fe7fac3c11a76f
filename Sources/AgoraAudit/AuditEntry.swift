package import AgoraCore
package import Foundation

/// One recorded admin action, as the audit list shows it.
package struct AuditEntry: Sendable, Codable, Equatable {
    package var id: UUID
    /// The admin who acted.
    package var actorId: UUID
    package var action: AuditAction
    /// What was acted on: `payout`, `seller_order`, `account`, `product`, `report`, `dispute`.
    package var targetType: String
    package var targetId: String
    /// Why, in the admin's words, when the action takes a reason.
    package var reason: String?
    package var before: AuditLog.State
    package var after: AuditLog.State
    package var createdAt: Date

    /// An entry to record.
    package struct New: Sendable {
        package var actor: UUID
        package var action: AuditAction
        package var targetType: String
        package var targetID: String
        package var reason: String?
        package var before: AuditLog.State
        package var after: AuditLog.State

        package init(
            actor: UUID, action: AuditAction, targetType: String, targetID: String, reason: String?, before: AuditLog.State,
            after: AuditLog.State
        ) {
            self.actor = actor
            self.action = action
            self.targetType = targetType
            self.targetID = targetID
            self.reason = reason
            self.before = before
            self.after = after
        }
    }
}

/// The kinds of admin action. A new admin route that changes anything adds its kind here and records it.
package enum AuditAction: String, Sendable, Codable, CaseIterable {
    /// A requested payout marked paid or failed.
    case payoutSettled = "payout.settled"
    /// Money given back on a seller order, in part or in full (a full refund before shipping cancels it).
    case orderRefunded = "order.refunded"
    /// A seller order moved by hand along its state machine, or cancelled (with a full refund).
    case orderStatusOverridden = "order.status_overridden"
    /// An account suspended (its sessions ended, its listings hidden), or its suspension lifted.
    case accountSuspended = "account.suspended"
    case accountUnsuspended = "account.unsuspended"
    /// An account given another role (its sessions ended).
    case accountRoleChanged = "account.role_changed"
    /// A warning mailed to an account's owner.
    case accountWarned = "account.warned"
    /// A listing taken down (its seller sees why), or put back.
    case productTakenDown = "product.taken_down"
    case productRestored = "product.restored"
    /// A dispute decided: refunded (in part or in full) or closed.
    case disputeDecided = "dispute.decided"
    /// A report closed, with what was done about it.
    case reportResolved = "report.resolved"
    /// A row written by a later version that this one does not know; never recorded by this version.
    case unknown
}

/// Which entries to list; nil fields do not narrow.
package struct AuditFilter: Sendable, Equatable {
    package var actor: UUID?
    package var action: AuditAction?
    package var targetType: String?
    package var targetID: String?
    /// Inclusive lower bound of `createdAt`.
    package var from: Date?
    /// Exclusive upper bound of `createdAt`.
    package var to: Date?

    package init(
        actor: UUID? = nil, action: AuditAction? = nil, targetType: String? = nil, targetID: String? = nil, from: Date? = nil, to: Date? = nil
    ) {
        self.actor = actor
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.from = from
        self.to = to
    }
}
