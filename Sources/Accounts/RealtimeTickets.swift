package import AgoraCore
import AgoraCrypto
package import AgoraRedis
import Foundation
package import Logging

/// One-time tickets that let a client open the WebSocket without a cookie (`POST /api/realtime/ticket`).
///
/// A ticket is 256 random bits; Redis keeps only its SHA-256, with the caller's identity, for `lifetime`.
/// Redeeming is `GETDEL`, so a ticket works once even when two upgrades race on two instances.
package struct RealtimeTickets: Sendable {
    private let redis: RedisClient
    private let prefix: String
    package let lifetime: Duration

    package init(redis: RedisClient, prefix: String, lifetime: Duration = .seconds(30)) {
        self.redis = redis
        self.prefix = prefix
        self.lifetime = lifetime
    }

    /// Issues a ticket standing for `identity`.
    package func issue(for identity: Identity, logger: Logger) async throws -> String {
        let ticket = SecureRandom.token(byteCount: 32)
        let value = [identity.accountID.uuidString, identity.role.rawValue, identity.sessionID].joined(separator: " ")
        try await redis.send("SET", key(ticket), value, "EX", Int(lifetime.components.seconds), logger: logger)
        return ticket
    }

    /// The identity a ticket stands for, consuming the ticket; nil if it is unknown, used or expired.
    package func redeem(_ ticket: String, logger: Logger) async throws -> Identity? {
        guard ticket.utf8.count == 43 else { return nil }
        guard let value = try await redis.send("GETDEL", key(ticket), logger: logger).string else { return nil }
        let parts = value.split(separator: " ").map(String.init)
        guard parts.count == 3, let account = UUID(uuidString: parts[0]), let role = Role(rawValue: parts[1]) else { return nil }
        return Identity(accountID: account, role: role, sessionID: parts[2], transport: .ticket)
    }

    private func key(_ ticket: String) -> String { prefix + "wst:" + SHA256.hexDigest(Array(ticket.utf8)) }
}
