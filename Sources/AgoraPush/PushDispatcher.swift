package import AgoraCore
import AgoraCrypto
package import AgoraNet
package import AgoraPostgres
package import Foundation
package import Logging
package import ServiceLifecycle
import Synchronization

/// Sends the pushes `push_outbox` holds (written with the notices that cause them, in their transaction) to the
/// browsers' push services, never inside a request.
///
/// Every instance runs one; a batch is claimed with `SKIP LOCKED` and leased (its `next_attempt_at` moved past the
/// sends), so a push is sent by one instance, and one whose instance died is sent after the lease. For each push:
/// - a subscription whose session has ended (logout, password change, suspension) is deleted, and nothing is sent;
/// - a push to someone who has a socket open now is dropped: the socket has told them;
/// - pushes with the same topic for the same device collapse to the newest before sending (and the push service
///   collapses by the `Topic` header as well);
/// - the push service's answer decides: 2xx sent; 404 or 410 the subscription is gone (deleted); 429 and 5xx (and
///   network failures) are retried with backoff, honouring `Retry-After`, up to `maxAttempts`; any other answer
///   drops the push, logged.
package struct PushDispatcher: Service {
    let db: PGPool
    let vapid: VAPID
    package let settings: PushSettings
    let logger: Logger
    let isReady: @Sendable () -> Bool
    /// Whether each user has a live connection on some instance (Presence).
    let isOnline: @Sendable ([UUID], Logger) async -> [Bool]
    /// Which of these sessions are still live (SessionStore).
    let liveSessions: @Sendable ([String], Logger) async -> Set<String>?
    /// Waits for new pushes (a NOTIFY on `notifyChannel`), at most the given time: the poll is the safety net.
    let waitForWork: @Sendable (Duration) async -> Void
    let clients = Clients()
    let duties: DutyMonitor

    /// The channel a statement that queued pushes notifies at its commit (migration 0019), the schema as payload.
    package static let notifyChannel = "agora_push"

    package init(
        db: PGPool, vapid: VAPID, settings: PushSettings, logger: Logger, isReady: @escaping @Sendable () -> Bool,
        isOnline: @escaping @Sendable ([UUID], Logger) async -> [Bool], liveSessions: @escaping @Sendable ([String], Logger) async -> Set<String>?,
        waitForWork: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }, duties: DutyMonitor = DutyMonitor()
    ) {
        self.duties = duties
        self.waitForWork = waitForWork
        self.db = db
        self.vapid = vapid
        self.settings = settings
        self.logger = logger
        self.isReady = isReady
        self.isOnline = isOnline
        self.liveSessions = liveSessions
    }

    package func run() async throws {
        duties.started("push_dispatcher")
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var sent = 0
            if isReady() {
                do {
                    sent = try await dispatchOnce()
                    duties.ran("push_dispatcher", items: sent)
                } catch {
                    duties.failed("push_dispatcher")
                    logger.warning("Push dispatch failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            // A full batch means more may be waiting.
            if sent < settings.batchSize { await cancelWhenGracefulShutdown { await waitForWork(settings.interval) } }
        }
    }

    /// A claimed push with where it goes.
    struct Claimed: Sendable {
        var id: Int64
        var account: UUID
        var kind: String
        var data: String
        var topic: String?
        var urgency: String
        var attempts: Int
        var subscription: UUID
        var endpoint: String
        var p256dh: String
        var auth: String
        var session: String
    }

    /// What became of one push.
    enum Outcome: Sendable, Equatable {
        case sent, gone, dropped(String), retry(after: Duration, reason: String)
    }

    /// Claims and sends one batch; returns how many it claimed.
    @discardableResult
    package func dispatchOnce() async throws -> Int {
        let claimed: [Claimed] = try await db.withTransaction(logger: logger) { tx in
            // Older pushes of a topic to a device are superseded by the newest.
            try await tx.execute(
                """
                DELETE FROM push_outbox o USING push_outbox n
                WHERE o.subscription_id = n.subscription_id AND o.topic = n.topic AND o.id < n.id AND o.next_attempt_at <= now()
                """
            )
            return try await tx.query(
                """
                WITH due AS (
                    SELECT id FROM push_outbox WHERE next_attempt_at <= now() ORDER BY id LIMIT \(settings.batchSize) FOR UPDATE SKIP LOCKED
                )
                UPDATE push_outbox o SET attempts = o.attempts + 1,
                       next_attempt_at = now() + make_interval(secs => \(Self.lease(settings)))
                FROM due, push_subscriptions s
                WHERE o.id = due.id AND s.id = o.subscription_id
                RETURNING o.id, o.account_id, o.kind, o.data::text AS data, o.topic, o.urgency, o.attempts,
                          s.id AS subscription_id, s.endpoint, s.p256dh, s.auth, s.session_id
                """
            ).map { row in
                Claimed(
                    id: try row.decode("id"), account: try row.decode("account_id"), kind: try row.decode("kind"), data: try row.decode("data"),
                    topic: try row.decode("topic"), urgency: try row.decode("urgency"), attempts: try row.decode("attempts"),
                    subscription: try row.decode("subscription_id"), endpoint: try row.decode("endpoint"), p256dh: try row.decode("p256dh"),
                    auth: try row.decode("auth"), session: try row.decode("session_id")
                )
            }
        }
        guard !claimed.isEmpty else { return 0 }

        // Ended sessions take their subscriptions with them; online users are told by their sockets.
        let live = await liveSessions(Array(Set(claimed.map(\.session))), logger)
        let accounts = Array(Set(claimed.map(\.account)))
        let online = Dictionary(uniqueKeysWithValues: zip(accounts, await isOnline(accounts, logger)))
        var ended: Set<UUID> = []
        var toSend: [Claimed] = []
        var skipped: [Int64] = []
        for push in claimed {
            if let live, !live.contains(push.session) {
                ended.insert(push.subscription)
            } else if online[push.account] == true {
                skipped.append(push.id)
            } else {
                toSend.append(push)
            }
        }
        if !ended.isEmpty {
            try await db.execute("DELETE FROM push_subscriptions WHERE id = ANY(\(Array(ended)))", logger: logger)
            logger.info("Push subscriptions of ended sessions removed", metadata: ["count": "\(ended.count)"])
        }
        if !skipped.isEmpty { try await db.execute("DELETE FROM push_outbox WHERE id = ANY(\(skipped.map { Int($0) }))", logger: logger) }

        let outcomes = await withTaskGroup(of: (Claimed, Outcome).self) { group in
            for push in toSend { group.addTask { (push, await send(push)) } }
            return await group.reduce(into: [(Claimed, Outcome)]()) { $0.append($1) }
        }
        try await record(outcomes)
        return claimed.count
    }

    /// How long a claim holds a push: longer than a send can take.
    static func lease(_ settings: PushSettings) -> Int { Int(settings.timeout.components.seconds) * 3 + 30 }

    func record(_ outcomes: [(Claimed, Outcome)]) async throws {
        var sent: [Int64] = []
        var sentTo: [UUID] = []
        var dropped: [Int64] = []
        var gone: [UUID] = []
        for (push, outcome) in outcomes {
            let metadata: Logger.Metadata = ["agora.push_id": "\(push.id)", "kind": "\(push.kind)", "attempt": "\(push.attempts)"]
            switch outcome {
            case .sent:
                sent.append(push.id)
                sentTo.append(push.subscription)
            case .gone:
                gone.append(push.subscription)
            case .dropped(let reason):
                dropped.append(push.id)
                logger.warning("Push dropped", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
            case .retry(let delay, let reason):
                if push.attempts >= settings.maxAttempts {
                    dropped.append(push.id)
                    logger.warning("Push given up after its last attempt", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
                } else {
                    let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
                    try await db.execute(
                        "UPDATE push_outbox SET next_attempt_at = now() + make_interval(secs => \(seconds)) WHERE id = \(push.id)", logger: logger
                    )
                    logger.info("Push to be retried", metadata: metadata.merging(["reason": "\(reason)", "delay_s": "\(seconds)"]) { $1 })
                }
            }
        }
        if !sent.isEmpty || !dropped.isEmpty {
            try await db.execute("DELETE FROM push_outbox WHERE id = ANY(\((sent + dropped).map { Int($0) }))", logger: logger)
        }
        if !sentTo.isEmpty {
            try await db.execute("UPDATE push_subscriptions SET last_success_at = now() WHERE id = ANY(\(Array(Set(sentTo))))", logger: logger)
        }
        if !gone.isEmpty {
            try await db.execute("DELETE FROM push_subscriptions WHERE id = ANY(\(Array(Set(gone))))", logger: logger)
            logger.info("Push subscriptions the push service no longer knows removed", metadata: ["count": "\(Set(gone).count)"])
        }
    }

    /// Encrypts and posts one push.
    func send(_ push: Claimed) async -> Outcome {
        guard var message = PushMessage.render(kind: push.kind, data: push.data, recipient: push.account) else {
            return .dropped("nothing to show for kind \(push.kind)")
        }
        // The device replaces a shown notification with the same tag, as the push service collapses the topic.
        message.tag = push.topic
        guard var payload = try? JSONEncoder().encode(message).map({ $0 }) else { return .dropped("payload not encodable") }
        if payload.count > WebPushCipher.maxPayload {
            var shorter = message
            shorter.body = String(shorter.body.prefix(200))
            payload = (try? JSONEncoder().encode(shorter).map { $0 }) ?? []
        }
        guard let key = Base64.decode(push.p256dh, url: true), let auth = Base64.decode(push.auth, url: true) else { return .gone }
        let body: [UInt8]
        do {
            body = try WebPushCipher.encrypt(payload, subscriberKey: key, authSecret: auth)
        } catch {
            return error == .invalidSubscription ? .gone : .dropped("encryption: \(error)")
        }
        guard let url = URLComponents(string: push.endpoint), settings.allows(endpoint: url), let scheme = url.scheme, let host = url.host else {
            return .gone
        }
        let origin = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host)\(url.port.map { ":\($0)" } ?? "")"
        let target = (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + (url.percentEncodedQuery.map { "?\($0)" } ?? "")
        do {
            let client = try clients.client(for: origin, timeout: settings.timeout)
            var headers: [HTTPSClient.Header] = [
                .init("Authorization", try vapid.authorization(audience: origin)),
                .init("Content-Encoding", "aes128gcm"), .init("Content-Type", "application/octet-stream"),
                .init("TTL", String(settings.ttl)), .init("Urgency", push.urgency),
            ]
            if let topic = push.topic { headers.append(.init("Topic", topic)) }
            let response = try await client.send(.post, target, headers: headers, body: body)
            switch response.status {
            case 200...299: return .sent
            case 404, 410: return .gone
            case 429, 500...599:
                let retryAfter = response.header("Retry-After").flatMap(Int.init).map { Duration.seconds(min(max($0, 1), 3600)) }
                return .retry(after: retryAfter ?? PushSettings.backoff(after: push.attempts), reason: "HTTP \(response.status)")
            default:
                return .dropped("HTTP \(response.status)")
            }
        } catch {
            return .retry(after: PushSettings.backoff(after: push.attempts), reason: "\(error)")
        }
    }

    /// One HTTP client per push service origin, made on first use.
    final class Clients: Sendable {
        let clients = Mutex<[String: HTTPSClient]>([:])

        func client(for origin: String, timeout: Duration) throws -> HTTPSClient {
            try clients.withLock { clients in
                if let client = clients[origin] { return client }
                let client = try HTTPSClient(baseURL: origin, connectTimeout: .seconds(5), timeout: timeout, maxResponseBytes: 64 * 1024)
                clients[origin] = client
                return client
            }
        }
    }
}
