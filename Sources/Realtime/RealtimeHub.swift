package import AgoraCore
package import AgoraRedis
import AgoraWebSocket
package import Foundation
package import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// This process's realtime connections, and the Redis bus between processes.
///
/// Locally: which connections belong to which user and which follow which topic. Between instances: Redis pub/sub,
/// one channel per user (`<prefix>u:<id>`) and per topic (`<prefix>t:<topic>`); this instance subscribes to a channel
/// exactly while one of its connections needs it. A message for many local connections is encoded into one frame
/// once and that buffer is written to each.
///
/// Durable events are stored before they are published (see `UserStream`); the bus only makes them fast. Whatever it
/// loses (Redis down, a publisher that crashed between commit and publish) connections find by comparing their last
/// sequence with the stream head: after every subscriber reconnect and every `resyncInterval`.
package final class RealtimeHub: Service, Sendable {
    private struct State {
        var users: [UUID: Audience] = [:]
        var topics: [String: Audience] = [:]
    }

    let stream: UserStream
    let settings: RealtimeSettings
    let topicAuthorizer: any TopicAuthorizer
    /// Asked every `resyncInterval` whether the sessions of local sockets are still live.
    private let sessions: any SessionLiveness
    private let redis: RedisClient
    private let prefix: String
    private let logger: Logger
    private let state = Mutex(State())
    /// The bus from other instances; its handlers are given in `run`.
    let subscriber: RedisSubscriber
    /// Publishes that failed (Redis away) and were delivered locally only.
    private let localFallbacks = Atomic<Int>(0)
    /// Who is online, across instances.
    package let presence: Presence
    /// Who hears of a user's presence changes (their conversation partners).
    private let audience: any PresenceAudience
    /// Caps on sockets per account and per address, across instances.
    let claims: SocketClaims
    /// The per-account command budget shared by every socket on every instance; nil when rate limits are off.
    private let limiter: RedisRateLimiter?
    /// Work that follows a socket's arrival or departure (presence up/down, giving its claim back), done in order by
    /// one task. Bounded: the latest presence wanted per user (a quick connect and disconnect collapse into where
    /// they ended, and cannot reach Redis the other way round) and the claims released since the last run.
    private let chores = Mutex<(presence: [UUID: Bool], releases: [SocketClaims.Claim])>(([:], []))
    private let choresWake: AsyncStream<Void>
    private let choresContinuation: AsyncStream<Void>.Continuation

    /// - Parameters:
    ///   - prefix: the Redis key prefix (`AGORA_REDIS_PREFIX`), also for channels.
    ///   - topicAuthorizer: decides who may `subscribe` to what.
    ///   - sessions: which sessions are live; a socket whose session ended is closed (`SessionSignals`).
    ///   - audience: who hears of a user's presence changes.
    package init(
        stream: UserStream, redis: RedisClient, presence: Presence, prefix: String, settings: RealtimeSettings,
        topicAuthorizer: any TopicAuthorizer, sessions: any SessionLiveness, audience: any PresenceAudience, logger: Logger
    ) throws {
        self.presence = presence
        self.audience = audience
        self.sessions = sessions
        (choresWake, choresContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.claims = SocketClaims(
            redis: redis, prefix: prefix, perUser: settings.maxSocketsPerUser, perIP: settings.maxSocketsPerIP, ttl: presence.ttl
        )
        self.limiter = settings.commandLimit == nil ? nil : RedisRateLimiter(redis: redis)
        self.stream = stream
        self.redis = redis
        self.prefix = prefix
        self.settings = settings
        self.topicAuthorizer = topicAuthorizer
        self.logger = logger
        self.subscriber = try RedisSubscriber(configuration: redis.configuration, name: "agora-realtime", logger: logger)
    }

    /// A claim for one more socket of `user` from `ip`, or nil when either cap (`maxSocketsPerUser`,
    /// `maxSocketsPerIP`) is reached on the instances together. Asked before the `101`.
    package func claimSocket(user: UUID, ip: String?, logger: Logger) async throws -> SocketClaims.Claim? {
        try await claims.claim(user: user, ip: ip, logger: logger)
    }

    /// Counts one command against `user`'s budget over all their sockets.
    /// - Throws: `AgoraError(.rateLimited)` past it. Redis unavailable lets the command through (logged), like the
    ///   general HTTP limit.
    func chargeCommand(_ user: UUID, logger: Logger) async throws {
        guard let limiter, let limit = settings.commandLimit else { return }
        let decision: RateLimitDecision
        do {
            decision = try await limiter.check([RateLimitRule(key: prefix + "rl:ws:" + user.uuidString, limit: limit, period: settings.commandPeriod)], logger: logger)
        } catch {
            logger.warning("Socket command budget unavailable; allowing", metadata: ["error": "\(error)"])
            return
        }
        guard decision.isAllowed else {
            throw AgoraError(
                .rateLimited, code: "rate_limited", "Too many messages; retry in \(decision.retryAfterSeconds) s", retryAfter: decision.retryAfterSeconds
            )
        }
    }

    // MARK: Service

    /// Runs the subscriber and the periodic resync until shutdown.
    package func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.subscriber.run(
                    onReady: { [weak self] in self?.resyncAll(reason: "subscriber ready") },
                    handler: { [weak self] message in self?.received(message) }
                )
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: self.settings.resyncInterval)
                    await self.resyncFromHeads()
                    await self.closeEndedSessions()
                }
            }
            group.addTask { await self.doChores() }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: self.presence.ttl / 3)
                    await self.renewPresence()
                }
            }
            try await group.next()
            choresContinuation.finish()
            group.cancelAll()
        }
    }

    // MARK: Presence

    private func presenceChanged(_ user: UUID, online: Bool) {
        chores.withLock { $0.presence[user] = online }
        choresContinuation.yield()
    }

    private func doChores() async {
        for await _ in choresWake {
            let (changes, releases) = chores.withLock { chores in
                defer { chores = ([:], []) }
                return (chores.presence, chores.releases)
            }
            for claim in releases {
                do { try await claims.release(claim, logger: logger) } catch {
                    logger.warning("Socket claim not released; it expires on its own", metadata: ["error": "\(error)"])
                }
            }
            for (user, online) in changes { await applyPresence(user, online: online) }
        }
    }

    private func applyPresence(_ user: UUID, online: Bool) async {
        do {
            if online {
                if try await presence.up(user, logger: logger) { await announce(user, online: true, lastSeen: nil) }
            } else if try await presence.down(user, logger: logger) {
                await announce(user, online: false, lastSeen: try await presence.wentOffline(user, logger: logger))
            }
        } catch {
            logger.warning("Presence change not recorded", metadata: ["error": "\(error)"])
        }
    }

    /// Renews this instance's claims, and says offline for users whose instance died.
    func renewPresence() async {
        do {
            let (users, held) = state.withLock { state in
                (Array(state.users.keys), state.users.values.flatMap { $0.connections.compactMap(\.claim) })
            }
            try await presence.renew(users, logger: logger)
            try await claims.renew(held, logger: logger)
            for user in try await presence.sweepExpired(logger: logger) {
                await announce(user, online: false, lastSeen: try await presence.wentOffline(user, logger: logger))
            }
        } catch {
            logger.warning("Presence renewal failed", metadata: ["error": "\(error)"])
        }
    }

    /// Tells `user`'s audience (conversation partners) that their presence changed, unless they hide it.
    private func announce(_ user: UUID, online: Bool, lastSeen: Date?) async {
        do {
            guard try await !presence.isHidden(user, logger: logger) else { return }
            let people = try await audience.audience(of: user, logger: logger)
            guard !people.isEmpty else { return }
            struct Change: Encodable {
                var userId: UUID
                var online: Bool
                var lastSeen: Date?

                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    try container.encode(userId, forKey: .userId)
                    try container.encode(online, forKey: .online)
                    try container.encode(lastSeen, forKey: .lastSeen)  // null while online, as the protocol says
                }

                enum CodingKeys: String, CodingKey { case userId, online, lastSeen }
            }
            let data = try JSONText(encoding: Change(userId: user, online: online, lastSeen: lastSeen))
            await publishEphemeral(type: "presence", data: data, to: people, logger: logger)
        } catch {
            logger.warning("Presence change not announced", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Counts

    /// Local connections.
    package var connectionCount: Int { state.withLock { $0.users.values.reduce(0) { $0 + $1.count } } }
    /// Users with at least one local connection.
    package var userCount: Int { state.withLock { $0.users.count } }
    /// Whether `user` has a connection on this instance.
    package func isConnected(_ user: UUID) -> Bool { state.withLock { $0.users[user] != nil } }
    /// Whether this instance's subscription to `user`'s channel is confirmed by Redis.
    package func isListening(to user: UUID) -> Bool { subscriber.isSubscribed(userChannel(user)) }

    // MARK: Registry (any thread)

    func register(_ connection: RealtimeConnection) {
        let first = state.withLock { state -> Bool in
            let first = state.users[connection.user] == nil
            state.users[connection.user, default: Audience()].insert(connection)
            return first
        }
        if first {
            subscriber.subscribe([userChannel(connection.user)])
            presenceChanged(connection.user, online: true)
        }
    }

    func unregister(_ connection: RealtimeConnection, topics: Set<String>) {
        let (lastOfUser, emptyTopics) = state.withLock { state -> (Bool, [String]) in
            state.users[connection.user]?.remove(connection)
            let last = state.users[connection.user]?.isEmpty == true
            if last { state.users[connection.user] = nil }
            var empty: [String] = []
            for topic in topics {
                state.topics[topic]?.remove(connection)
                if state.topics[topic]?.isEmpty == true {
                    state.topics[topic] = nil
                    empty.append(topic)
                }
            }
            return (last, empty)
        }
        if lastOfUser {
            subscriber.unsubscribe([userChannel(connection.user)])
            presenceChanged(connection.user, online: false)
        }
        if let claim = connection.claim {
            chores.withLock { $0.releases.append(claim) }
            choresContinuation.yield()
        }
        if !emptyTopics.isEmpty { subscriber.unsubscribe(emptyTopics.map(topicChannel)) }
    }

    func join(_ topic: String, _ connection: RealtimeConnection) {
        let first = state.withLock { state -> Bool in
            let first = state.topics[topic] == nil
            state.topics[topic, default: Audience()].insert(connection)
            return first
        }
        if first { subscriber.subscribe([topicChannel(topic)]) }
    }

    func leave(_ topic: String, _ connection: RealtimeConnection) {
        let last = state.withLock { state -> Bool in
            state.topics[topic]?.remove(connection)
            guard state.topics[topic]?.isEmpty == true else { return false }
            state.topics[topic] = nil
            return true
        }
        if last { subscriber.unsubscribe([topicChannel(topic)]) }
    }

    // MARK: Publishing

    /// Publishes stored events to their users' connections on every instance. Call after the transaction that
    /// appended them committed. If Redis is away the events still reach this instance's connections, and the others
    /// catch up from PostgreSQL.
    ///
    /// All of them go in one Redis round trip. Returns, for each event, how many instances heard it on its user's
    /// channel (an instance listens there exactly while it holds a socket of that user, so 0 means the user has no
    /// open socket anywhere), or nil when Redis refused the publish.
    @discardableResult
    package func publish(_ events: [StreamEvent], logger: Logger) async -> [Int?] {
        guard !events.isEmpty else { return [] }
        let texts = events.map(\.frameText)
        do {
            let messages = zip(events, texts).map { event, text in (message: "d\(event.seq)\n" + text, channel: userChannel(event.user)) }
            return try await redis.publish(batch: messages, logger: logger).map { $0 }
        } catch {
            // Delivered here at least; a connection drops what it had already (by sequence), others catch up.
            localFallbacks.add(1, ordering: .relaxed)
            logger.warning("Realtime publish failed; delivering on this instance only", metadata: ["error": "\(error)"])
            for (event, text) in zip(events, texts) { deliver(toUser: event.user, seq: event.seq, frame: Self.encode(text)) }
            return events.map { _ in nil }
        }
    }

    /// Sends an ephemeral event (typing, presence) to every connection of `users`; lost if nobody is connected.
    package func publishEphemeral(type: String, data: JSONText, to users: [UUID], logger: Logger) async {
        let text = ServerMessage.ephemeral(type: type, data: data).text
        for user in users {
            await send("e\n" + text, on: userChannel(user), logger: logger) { self.deliver(toUser: user, seq: nil, frame: Self.encode(text)) }
        }
    }

    /// Sends an ephemeral event to every connection following `topic`.
    package func publish(topic: String, type: String, data: JSONText, logger: Logger) async {
        let text = ServerMessage.topic(type: type, topic: topic, data: data).text
        await send("e\n" + text, on: topicChannel(topic), logger: logger) { self.deliver(toTopic: topic, frame: Self.encode(text)) }
    }

    /// Asks every instance to recheck who may follow `topic` (its product left publication): local followers who may
    /// no longer see it lose the topic, with a `topic_revoked` error.
    package func recheck(topic: String, logger: Logger) async {
        await send("r\n", on: topicChannel(topic), logger: logger) { self.recheckLocal(topic: topic) }
    }

    private func recheckLocal(topic: String) {
        let connections = state.withLock { $0.topics[topic].map { Array($0.connections) } ?? [] }
        for connection in connections { connection.recheck(topic) }
    }

    private func send(_ payload: String, on channel: String, logger: Logger, fallback: () -> Void) async {
        do {
            try await redis.publish(payload, to: channel, logger: logger)
        } catch {
            localFallbacks.add(1, ordering: .relaxed)
            logger.warning("Realtime publish failed; delivering on this instance only", metadata: ["error": "\(error)"])
            fallback()
        }
    }

    /// Publishes that went to local connections only because Redis refused them.
    package var localFallbackCount: Int { localFallbacks.load(ordering: .relaxed) }

    // MARK: Delivery

    /// A message from the bus, on the subscriber thread.
    private func received(_ message: RedisPubSubMessage) {
        guard let newline = message.payload.firstIndex(of: UInt8(ascii: "\n")) else { return }
        let header = message.payload[..<newline]
        if message.channel.hasPrefix(prefix + "u:") {
            guard let user = UUID(uuidString: String(message.channel.dropFirst(prefix.count + 2))) else { return }
            if header.first == UInt8(ascii: "s") {
                let session = String(decoding: header.dropFirst(), as: UTF8.self)
                return endSessions(of: user, session == "*" ? nil : session)
            }
        }
        let frame = Self.encode(message.payload[(newline + 1)...])
        if message.channel.hasPrefix(prefix + "u:") {
            guard let user = UUID(uuidString: String(message.channel.dropFirst(prefix.count + 2))) else { return }
            let seq = header.first == UInt8(ascii: "d") ? Int64(String(decoding: header.dropFirst(), as: UTF8.self)) : nil
            deliver(toUser: user, seq: seq, frame: frame)
        } else if message.channel.hasPrefix(prefix + "t:") {
            let topic = String(message.channel.dropFirst(prefix.count + 2))
            if header.first == UInt8(ascii: "r") { return recheckLocal(topic: topic) }
            deliver(toTopic: topic, frame: frame)
        }
    }

    /// A user's few sockets: each loop's task writes and flushes.
    private func deliver(toUser user: UUID, seq: Int64?, frame: PreparedMessage) {
        guard let shares = state.withLock({ $0.users[user]?.shares() }) else { return }
        for share in shares {
            share.loop.execute {
                for connection in share.connections {
                    if let seq { connection.onDurable(seq, frame) } else { connection.onEphemeral(frame, flush: true) }
                }
            }
        }
    }

    /// A topic's followers, as `BroadcastGroup` does it: one task per event loop writes the one prepared frame to
    /// every follower there, and a second task queued behind it flushes them, so updates that arrive back to back
    /// leave in one write per socket.
    private func deliver(toTopic topic: String, frame: PreparedMessage) {
        guard let shares = state.withLock({ $0.topics[topic]?.shares() }) else { return }
        for share in shares {
            share.loop.execute {
                for connection in share.connections { connection.onEphemeral(frame, flush: false) }
                share.loop.execute {
                    for connection in share.connections { connection.flushWrites() }
                }
            }
        }
    }

    // MARK: Sessions

    /// Closes `user`'s local sockets of `session` (nil: of every session) with `SessionSignals.closeCode`.
    func endSessions(of user: UUID, _ session: String?) {
        let connections = state.withLock { $0.users[user].map { Array($0.connections) } ?? [] }
        for connection in connections where session == nil || connection.identity.sessionID == session {
            connection.endSession()
        }
    }

    /// Closes local sockets whose session is no longer live: a signal that was lost, or a session that expired.
    func closeEndedSessions() async {
        let connections = state.withLock { $0.users.values.flatMap(\.connections) }
        guard !connections.isEmpty else { return }
        do {
            let live = try await sessions.liveSessions(Array(Set(connections.map(\.identity.sessionID))), logger: logger)
            for connection in connections where !live.contains(connection.identity.sessionID) { connection.endSession() }
        } catch {
            logger.warning("Realtime could not check its sockets' sessions", metadata: ["error": "\(error)"])
        }
    }

    /// Asks every local connection to compare itself with its stream in PostgreSQL.
    func resyncAll(reason: String) {
        let connections = state.withLock { $0.users.values.flatMap(\.connections) }
        if !connections.isEmpty { logger.debug("Realtime resync", metadata: ["reason": "\(reason)", "connections": "\(connections.count)"]) }
        for connection in connections { connection.resync() }
    }

    /// One query for the heads of every local user; connections behind theirs catch up.
    func resyncFromHeads() async {
        let byUser = state.withLock { $0.users.mapValues { Array($0.connections) } }
        guard !byUser.isEmpty else { return }
        do {
            for chunk in Array(byUser.keys).chunked(5000) {
                let heads = try await stream.heads(Array(chunk), logger: logger)
                for (user, head) in heads { for connection in byUser[user] ?? [] { connection.resync(ifBehind: head) } }
            }
        } catch {
            logger.warning("Realtime resync could not read stream heads", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Names

    func userChannel(_ user: UUID) -> String { prefix + "u:" + user.uuidString }
    func topicChannel(_ topic: String) -> String { prefix + "t:" + topic }

    /// A text message prepared once for every local socket it goes to (plain, and compressed once per window).
    static func encode(_ text: String) -> PreparedMessage {
        PreparedMessage(text: text)
    }

    static func encode(_ bytes: ArraySlice<UInt8>) -> PreparedMessage {
        PreparedMessage(opcode: .text, payload: ByteBuffer(bytes: bytes))
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

/// Handles client commands of some types (chat, for one).
package protocol RealtimeCommands: Sendable {
    /// The `type`s this handles.
    var commandTypes: Set<String> { get }
    /// Runs one command for `identity`, decoding its own payload from `data`; returns the `data` of its `ack`, or nil
    /// for an empty ack (`{}`).
    /// - Throws: `AgoraError`, sent to the client as an `error` with its code.
    func run(_ type: String, data: CommandData, identity: Identity, logger: Logger) async throws -> JSONText?
}

/// Decides who may follow a topic.
package protocol TopicAuthorizer: Sendable {
    /// Whether `identity` may follow `topic` (e.g. `product:<id>` of a published product).
    func mayFollow(_ topic: String, identity: Identity, logger: Logger) async throws -> Bool
}
