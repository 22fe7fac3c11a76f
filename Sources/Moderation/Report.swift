package import Foundation

/// What a report is about.
package enum ReportTarget: String, Sendable, Codable, CaseIterable {
    /// A listing (`targetId` the product id); the subject is its seller.
    case product
    /// A user (`targetId` the account id); the subject is that user.
    case user
    /// A chat message (`targetId` its numeric id) the reporter received or sent; the subject is its author.
    case message
}

/// Why a user reports.
package enum ReportReason: String, Sendable, Codable, CaseIterable {
    case spam, scam, counterfeit, prohibited, harassment, other
}

/// How an administrator closed a report.
package enum ReportResolution: String, Sendable, Codable, CaseIterable {
    /// Nothing wrong (or nothing to do).
    case dismissed
    /// The reported listing was taken down.
    case takenDown = "taken_down"
    /// The subject was sent a warning.
    case warned
    /// The subject's account was suspended.
    case suspended
}

/// A report, as the back office (and its reporter) sees it.
package struct Report: Sendable, Codable, Equatable {
    package var id: UUID
    package var reporterId: UUID
    package var targetType: ReportTarget
    package var targetId: String
    /// The account a resolution acts on: the listing's seller, the user, the message's author.
    package var subjectId: UUID
    package var reason: ReportReason
    package var body: String
    /// A reported message's text as it was when reported.
    package var evidence: String?
    /// `open` or `resolved`.
    package var status: String
    package var resolution: ReportResolution?
    package var resolutionNote: String?
    package var resolvedBy: UUID?
    package var resolvedAt: Date?
    package var createdAt: Date
}

/// A report to file: checked by the caller (the target exists and the reporter may see it).
package struct NewReport: Sendable, Equatable {
    package var reporter: UUID
    package var target: ReportTarget
    package var targetID: String
    package var subject: UUID
    package var reason: ReportReason
    package var body: String
    package var evidence: String?

    package init(reporter: UUID, target: ReportTarget, targetID: String, subject: UUID, reason: ReportReason, body: String, evidence: String?) {
        self.reporter = reporter
        self.target = target
        self.targetID = targetID
        self.subject = subject
        self.reason = reason
        self.body = body
        self.evidence = evidence
    }
}
