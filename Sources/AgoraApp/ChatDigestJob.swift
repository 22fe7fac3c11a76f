import AgoraCore
import AgoraPostgres
import Chat
import Commerce
import Foundation
package import Logging
import Realtime
import ServiceLifecycle

/// Mails a digest of unread chat to people who have been away: when a message from someone else has waited
/// `AGORA_CHAT_DIGEST_AFTER_MINUTES` unread and its recipient has not been online for as long, one mail says how many
/// messages wait in how many conversations (never their text). Nothing more is sent until newer messages wait. Muting
/// `message` notifications mutes the digest too. Every instance runs the job; the claim (`chat_digests`) written in
/// the mail's transaction makes each digest go out once.
package struct ChatDigestJob: Service {
    let chat: ChatService
    let presence: Presence
    let db: PGPool
    let mailer: any OrderMailer
    /// How long a message waits, and its recipient is away, before a digest.
    let after: Duration
    let interval: Duration
    let publicURL: String
    let logger: Logger
    let isReady: @Sendable () -> Bool
    var duties = DutyMonitor()

    package func run() async throws {
        duties.started("chat_digest")
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if isReady() {
                do {
                    duties.ran("chat_digest", items: try await round(logger: logger))
                } catch {
                    duties.failed("chat_digest")
                    logger.warning("Chat digest round failed; trying again next round", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One round: returns how many digests this instance sent.
    @discardableResult
    package func round(batch: Int = 200, logger: Logger) async throws -> Int {
        let candidates = try await chat.digestCandidates(waiting: after, limit: batch, logger: logger)
        guard !candidates.isEmpty else { return 0 }
        let status = try await presence.status(of: candidates.map(\.user), logger: logger)
        // Away: not online, and last seen (if ever) at least `after` ago. A hidden user's last-seen time is not
        // shown to others, so the server asks again, ignoring hiding, whether they are online now.
        let online = try await presence.isOnline(candidates.map(\.user), logger: logger)
        let cutoff = Date().addingTimeInterval(-Double(after.components.seconds))
        var sent = 0
        for (index, candidate) in candidates.enumerated() where !online[index] && (status[index].lastSeen ?? .distantPast) <= cutoff {
            let plural = candidate.unread == 1 ? "message" : "messages"
            let mail = OrderMail(
                to: candidate.user, subject: "\(candidate.unread) unread \(plural) on Agora",
                body: "You have \(candidate.unread) unread \(plural) in \(candidate.conversations) "
                    + (candidate.conversations == 1 ? "conversation" : "conversations") + ".\n\nRead them: \(publicURL)/#/messages\n\n"
                    + "Mute message notifications in your settings to stop these mails.\n",
                muteKind: "message"
            )
            let claimed = try await db.withTransaction(logger: logger) { tx in
                guard try await chat.claimDigest(candidate.user, upTo: candidate.newestMessageID, in: tx) else { return false }
                if let statement = try mailer.enqueueStatement([mail]) { try await tx.execute(statement) }
                return true
            }
            if claimed { sent += 1 }
        }
        if sent > 0 { logger.info("Chat digests queued", metadata: ["count": "\(sent)"]) }
        return sent
    }
}
