package import AgoraCore
package import AgoraCrypto
package import AgoraPostgres
package import Foundation
package import Logging

/// A browser's push subscription as the Push API gives it (`PushSubscription.toJSON()`).
package struct PushSubscriptionInput: Decodable, Sendable {
    package struct Keys: Decodable, Sendable {
        package var p256dh: String
        package var auth: String
    }
    package var endpoint: String
    package var keys: Keys
}

/// The devices of each account that asked for pushes: one row per endpoint, tied to the session that subscribed, so
/// whatever ends that session (logout, password change, suspension) ends its pushes too (the dispatcher drops a
/// subscription whose session is gone). Owns `push_subscriptions`.
package struct PushSubscriptions: Sendable {
    let db: PGPool
    let settings: PushSettings

    package init(db: PGPool, settings: PushSettings) {
        self.db = db
        self.settings = settings
    }

    /// Records (or moves to this account and session) a subscription. Past `maxSubscriptionsPerAccount`, the
    /// account's oldest subscriptions go.
    /// - Throws: 422 naming `endpoint`, `keys.p256dh` or `keys.auth`.
    @discardableResult
    package func subscribe(_ input: PushSubscriptionInput, account: UUID, session: String, userAgent: String?, logger: Logger) async throws -> UUID {
        var problems: [String: String] = [:]
        let endpoint = input.endpoint.trimmingCharacters(in: .whitespaces)
        if endpoint.utf8.count > 2048 || TextPolicy.containsNUL(endpoint) {
            problems["endpoint"] = "must be a URL of at most 2048 characters"
        } else if let url = URLComponents(string: endpoint), settings.allows(endpoint: url) {
            // allowed
        } else {
            problems["endpoint"] = "must be an https URL of a browser's push service"
        }
        let p256dh = Base64.decode(input.keys.p256dh, url: true)
        if p256dh.map(P256.isPublicKey) != true { problems["keys.p256dh"] = "must be a P-256 public key (65 bytes, base64url)" }
        if Base64.decode(input.keys.auth, url: true)?.count != 16 { problems["keys.auth"] = "must be 16 bytes, base64url" }
        guard problems.isEmpty else { throw AgoraError(.validation, "The push subscription is not valid", fields: problems) }
        let agent = userAgent.map { String($0.prefix(200)) }
        let id: UUID = try await db.withTransaction(logger: logger) { tx in
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('agora.push:' || \(account.uuidString.lowercased()), 0))")
            let id: UUID = try await tx.query(
                """
                INSERT INTO push_subscriptions (account_id, session_id, endpoint, p256dh, auth, user_agent)
                VALUES (\(account), \(session), \(endpoint), \(input.keys.p256dh), \(input.keys.auth), \(agent))
                ON CONFLICT (endpoint) DO UPDATE SET account_id = EXCLUDED.account_id, session_id = EXCLUDED.session_id,
                    p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, user_agent = EXCLUDED.user_agent, created_at = now()
                RETURNING id
                """
            ).one().decode("id")
            try await tx.execute(
                """
                DELETE FROM push_subscriptions WHERE id IN (
                    SELECT id FROM push_subscriptions WHERE account_id = \(account) ORDER BY created_at DESC, id OFFSET \(settings.maxSubscriptionsPerAccount))
                """
            )
            return id
        }
        logger.info("Push subscription saved", metadata: ["agora.push_subscription": "\(id)"])
        return id
    }

    /// Forgets the account's subscription of `endpoint` (a browser unsubscribing, or logging out). Unknown is fine.
    package func unsubscribe(endpoint: String, account: UUID, logger: Logger) async throws {
        try await db.execute("DELETE FROM push_subscriptions WHERE endpoint = \(endpoint) AND account_id = \(account)", logger: logger)
    }

    /// How many devices of `account` get pushes.
    package func count(of account: UUID, logger: Logger) async throws -> Int {
        try await db.query("SELECT count(*) AS n FROM push_subscriptions WHERE account_id = \(account)", logger: logger).one().decode("n")
    }
}
