package import Foundation
package import Logging

/// How the end of a session reaches the sockets opened with it, on every instance.
///
/// Whatever ends sessions (logout, logout everywhere, a password change or reset, a role change, a replayed refresh
/// token) publishes, atomically with the change in Redis, a control message on the account's realtime channel
/// `<prefix>u:<accountId>`: the header line `s<sessionId>` for one session or `s*` for all of them, with no body.
/// The realtime hub of each instance that holds a socket of that account closes the matching sockets with
/// `SessionSignals.closeCode`. What a lost publish misses (the subscriber was reconnecting) the hub finds on its next
/// periodic check of `SessionLiveness`, which also ends sockets whose session expired.
package enum SessionSignals {
    /// The WebSocket close code of a socket whose session ended: the client should refresh (or log in) and reconnect.
    package static let closeCode: UInt16 = 4401
    /// The header of "every session of the account ended".
    package static let allSessions = "s*"

    /// The channel of `account`'s realtime events and session signals.
    package static func channel(prefix: String, account: UUID) -> String { prefix + "u:" + account.uuidString }
}

/// Which sessions are still live, for sockets that must not outlive theirs.
package protocol SessionLiveness: Sendable {
    /// The ids among `sessions` that are live (not ended, not expired).
    func liveSessions(_ sessions: [String], logger: Logger) async throws -> Set<String>
}
