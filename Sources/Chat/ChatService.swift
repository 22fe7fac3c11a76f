package import AgoraCore
package import AgoraPostgres
package import Catalog
package import Foundation
package import Logging
package import Notifications
package import Realtime

/// One-to-one conversations between accounts (a buyer and a seller, say), optionally about a product. Owns
/// `conversations`, `conversation_members` and `messages`; honours blocks (Social's) through `BlockList`: between two
/// accounts where either blocks the other, no conversation opens and no message, typing, receipt or presence flows.
///
/// Every message is stored, with a `chat:message` event in both participants' streams, in one transaction, and
/// published after it commits: a message that was acknowledged reaches the other side even if this instance dies
/// before publishing (the other side's connection finds it in its stream).
package struct ChatService: Sendable {
    package struct Settings: Sendable {
        /// Longest message text, in characters (`AGORA_CHAT_MAX_LENGTH`).
        package var maxLength: Int
        package var defaultPageSize: Int
        package var maxPageSize: Int
        /// At most one typing indicator per sender and conversation per this interval (`AGORA_CHAT_TYPING_INTERVAL_MS`).
        package var typingInterval: Duration

        package init(maxLength: Int = 4000, defaultPageSize: Int = 30, maxPageSize: Int = 100, typingInterval: Duration = .seconds(2)) {
            self.maxLength = maxLength
            self.defaultPageSize = defaultPageSize
            self.maxPageSize = maxPageSize
            self.typingInterval = typingInterval
        }
    }

    package struct Message: Sendable, Codable, Equatable {
        package var id: Int64
        package var conversationId: UUID
        package var senderId: UUID
        /// `text` or `product` (a product card: `productId` names the product, `text` may add a note).
        package var kind: String
        package var text: String
        package var productId: UUID?
        /// The sender's own id for the message, as sent.
        package var clientId: String?
        package var createdAt: Date
    }

    package struct Conversation: Sendable, Codable, Equatable {
        package var id: UUID
        /// The other participant.
        package var with: AccountSummary
        package var productId: UUID?
        package var lastMessage: Message?
        /// Messages from the other participant after the last one read.
        package var unread: Int
        /// The last of my messages the other participant has read (0 for none): read receipts for the history.
        package var otherReadId: Int64
        /// Whether the other participant is online now (false when they hide it).
        package var online: Bool
        package var lastActivity: Date
        package var createdAt: Date
    }

    /// What a participant tells the other side when they read: everything up to `messageId`.
    package struct ReadReceipt: Sendable, Codable, Equatable {
        package var conversationId: UUID
        package var userId: UUID
        package var messageId: Int64
        package var unread: Int?
    }

    let db: PGPool
    let stream: UserStream
    let hub: RealtimeHub
    let accounts: any AccountDirectory
    let products: ProductService
    let typing: TypingThrottle
    let notifications: NotificationService
    let blocks: any BlockList
    package let settings: Settings

    package init(
        db: PGPool, stream: UserStream, hub: RealtimeHub, accounts: any AccountDirectory, products: ProductService,
        notifications: NotificationService, blocks: any BlockList, settings: Settings
    ) {
        self.db = db
        self.blocks = blocks
        self.notifications = notifications
        self.stream = stream
        self.hub = hub
        self.accounts = accounts
        self.products = products
        self.settings = settings
        self.typing = TypingThrottle(interval: settings.typingInterval)
    }

    // MARK: Conversations

    /// Opens the conversation between `user` and `other` about `product` (nil: not about a product), or returns the
    /// existing one.
    /// - Throws: 404 for an unknown account or a product `user` cannot see; 422 `cannot_message_self`.
    package func open(_ user: UUID, with other: UUID, product: UUID?, logger: Logger) async throws -> Conversation {
        guard user != other else {
            throw AgoraError(.validation, code: "cannot_message_self", "You cannot message yourself", fields: ["userId": "is you"])
        }
        guard try await accounts.summaries([other], logger: logger)[other] != nil else {
            throw AgoraError(.notFound, code: "user_not_found", "No such user")
        }
        if let product { _ = try await products.rendered(product, viewer: nil, logger: logger) }
        try await refuseIfBlocked(user, other, logger: logger)
        let id = try await db.withTransaction(logger: logger) { tx in try await self.openOrReuse(user, other, product: product, in: tx) }
        return try await conversation(id, for: user, logger: logger)
    }

    /// The conversation's id, made with both members if new. Concurrent opens of the same pair meet on the unique key.
    func openOrReuse(_ user: UUID, _ other: UUID, product: UUID?, in tx: PGTransaction) async throws -> UUID {
        let (a, b) = user.uuidString < other.uuidString ? (user, other) : (other, user)
        let rows = try await tx.query(
            """
            WITH made AS (
                INSERT INTO conversations (user_a, user_b, product_id) VALUES (\(a), \(b), \(product))
                ON CONFLICT (user_a, user_b, product_id) DO NOTHING RETURNING id
            ), members AS (
                INSERT INTO conversation_members (conversation_id, user_id) SELECT id, unnest(ARRAY[\(a), \(b)]) FROM made
            )
            SELECT id FROM made
            UNION ALL
            SELECT id FROM conversations WHERE user_a = \(a) AND user_b = \(b) AND product_id IS NOT DISTINCT FROM \(product)
            """
        )
        if let row = rows.first { return try row.decode("id") }
        // A concurrent open committed the row after this statement's snapshot: a new statement sees it.
        let again = try await tx.query(
            "SELECT id FROM conversations WHERE user_a = \(a) AND user_b = \(b) AND product_id IS NOT DISTINCT FROM \(product)"
        )
        guard let row = again.first else { throw AgoraError(.conflict, code: "try_again", "The conversation is being opened; try again") }
        return try row.decode("id")
    }

    /// Conversation `id` as `user` sees it.
    /// - Throws: 404 unless `user` takes part in it.
    package func conversation(_ id: UUID, for user: UUID, logger: Logger) async throws -> Conversation {
        let rows = try await db.query(Self.conversationSelect(user: user, extra: "AND c.id = \(id)", limit: 1), logger: logger)
        guard let row = rows.first else { throw Self.notFound }
        return try await decodeConversations([row], viewer: user, logger: logger).one()
    }

    /// `user`'s conversations, most recently active first.
    package func conversations(for user: UUID, limit: Int, cursor: String?, logger: Logger) async throws -> Page<Conversation> {
        var after: PGQuery = ""
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            after = "AND (m.last_activity, c.id) < (\(position.date), \(position.id))"
        }
        let rows = try await db.query(Self.conversationSelect(user: user, extra: after, limit: limit + 1), logger: logger)
        let items = try await decodeConversations(Array(rows.prefix(limit)), viewer: user, logger: logger)
        let next = rows.count > limit ? items.last.map { OpaqueCursor.encode(TimePosition($0.lastActivity, id: $0.id)) } : nil
        return Page(items: items, nextCursor: next)
    }

    static func conversationSelect(user: UUID, extra: PGQuery, limit: Int) -> PGQuery {
        """
        SELECT c.id, c.product_id, c.created_at, m.last_activity, m.unread,
               CASE WHEN c.user_a = \(user) THEN c.user_b ELSE c.user_a END AS other,
               (SELECT o.last_read_id FROM conversation_members o WHERE o.conversation_id = c.id AND o.user_id <> \(user)) AS other_read,
               l.id AS l_id, l.sender_id AS l_sender, l.client_id AS l_client, l.kind AS l_kind, l.body AS l_body,
               l.product_id AS l_product, l.created_at AS l_created
        FROM conversation_members m
        JOIN conversations c ON c.id = m.conversation_id
        LEFT JOIN messages l ON l.id = c.last_message_id
        WHERE m.user_id = \(user) \(fragment: extra)
        ORDER BY m.last_activity DESC, c.id DESC
        LIMIT \(limit)
        """
    }

    func decodeConversations(_ rows: [PGRow], viewer: UUID, logger: Logger) async throws -> [Conversation] {
        let others: [UUID] = try rows.map { try $0.decode("other") }
        let people = try await accounts.summaries(Array(Set(others)), logger: logger)
        var online: Set<UUID> = []
        do {
            // Presence is not told across a block, either way.
            let blocked = try await blocks.blockedEitherWay(viewer, among: Array(Set(others)), logger: logger)
            let visible = Array(Set(others).subtracting(blocked))
            for status in try await hub.presence.status(of: visible, logger: logger) where status.online { online.insert(status.userId) }
        } catch {
            logger.warning("Presence unavailable for the conversation list", metadata: ["error": "\(error)"])
        }
        return try rows.map { row in
            let id: UUID = try row.decode("id")
            let other: UUID = try row.decode("other")
            var last: Message?
            if let lastID: Int64 = try row.decode("l_id") {
                last = Message(
                    id: lastID, conversationId: id, senderId: try row.decode("l_sender"), kind: try row.decode("l_kind"),
                    text: try row.decode("l_body"), productId: try row.decode("l_product"), clientId: try row.decode("l_client"),
                    createdAt: try row.decode("l_created")
                )
            }
            return Conversation(
                id: id, with: people[other] ?? AccountSummary(id: other, username: "deleted", displayName: "Deleted account", avatarUrl: nil),
                productId: try row.decode("product_id"), lastMessage: last, unread: Int(try row.decode("unread") as Int32),
                otherReadId: try row.decode("other_read") as Int64? ?? 0, online: online.contains(other),
                lastActivity: try row.decode("last_activity"), createdAt: try row.decode("created_at")
            )
        }
    }

    // MARK: Messages

    /// The other participant of `conversation`.
    /// - Throws: 404 unless `user` takes part in it (the same answer as for a conversation that does not exist).
    func partner(of user: UUID, in conversation: UUID, tx: PGTransaction? = nil, logger: Logger) async throws -> UUID {
        let query: PGQuery = """
            SELECT CASE WHEN user_a = \(user) THEN user_b ELSE user_a END AS other FROM conversations
            WHERE id = \(conversation) AND (user_a = \(user) OR user_b = \(user))
            """
        let rows = if let tx { try await tx.query(query) } else { try await db.query(query, logger: logger) }
        guard let row = rows.first else { throw Self.notFound }
        return try row.decode("other")
    }

    /// 403 when either account blocks the other: `blocked` when `other` blocks `user`, `blocking` when `user` does.
    ///
    /// Checked before the transaction that writes (a block is Social's, read through its port on a connection of
    /// its own; holding a transaction's connection while asking for another could exhaust the pool). A block placed
    /// in the milliseconds between the check and the write lets that one write through.
    func refuseIfBlocked(_ user: UUID, _ other: UUID, logger: Logger) async throws {
        guard try await !blocks.blockedEitherWay(user, among: [other], logger: logger).isEmpty else { return }
        try Self.refuse(block: try await blocks.blocks(other, user, logger: logger) ? "blocked" : "blocking")
    }

    /// 403 for a block between the two participants, as `block_between` names it: `blocked` (the other side blocks
    /// the caller) or `blocking` (the caller blocks them); nothing for nil.
    static func refuse(block: String?) throws(AgoraError) {
        switch block {
        case "blocked": throw AgoraError(.forbidden, code: "blocked", "This user does not accept your messages")
        case "blocking": throw AgoraError(.forbidden, code: "blocking", "You block this user; unblock them first")
        default: return
        }
    }

    /// A message to send: into an existing conversation, or to a user (opening the conversation on first use).
    package struct Outgoing: Sendable {
        package var conversationId: UUID?
        package var to: UUID?
        /// With `to`: what the conversation is about.
        package var about: UUID?
        package var text: String
        /// A product card.
        package var productId: UUID?
        package var clientId: String?

        package init(conversationId: UUID? = nil, to: UUID? = nil, about: UUID? = nil, text: String, productId: UUID? = nil, clientId: String? = nil) {
            self.conversationId = conversationId
            self.to = to
            self.about = about
            self.text = text
            self.productId = productId
            self.clientId = clientId
        }
    }

    /// Stores a message and tells both participants. A retry with the same `clientId` returns the stored message
    /// and stores nothing.
    /// - Throws: 422 for an empty or too long text or a bad client id; 404 for a conversation `sender` is not in, or
    ///   a product they cannot see; 403 `blocked` when the other participant has blocked the sender.
    package func send(_ outgoing: Outgoing, from sender: UUID, logger: Logger) async throws -> Message {
        try await store(outgoing, from: sender, logger: logger).message
    }

    /// `send`, also returning the `data` of the message's `chat:message` event as PostgreSQL rendered it
    /// (`{"conversationId": ..., "message": {...}}`, the message in the shape its encoder gives it), which the socket
    /// acknowledges with instead of encoding the message again; nil for a retry of a stored message.
    package func store(_ outgoing: Outgoing, from sender: UUID, logger: Logger) async throws -> (message: Message, event: String?) {
        let text = outgoing.text.trimmingCharacters(in: .whitespacesAndNewlines)
        var problems: [String: String] = [:]
        if text.isEmpty && outgoing.productId == nil { problems["text"] = "must not be empty" }
        if TextPolicy.length(outgoing.text) > settings.maxLength { problems["text"] = "must be at most \(settings.maxLength) characters" }
        if let client = outgoing.clientId, client.isEmpty || client.utf8.count > 64 { problems["clientId"] = "must be 1 to 64 characters" }
        if outgoing.conversationId == nil && outgoing.to == nil { problems["conversationId"] = "or a recipient is required" }
        if !problems.isEmpty { throw AgoraError(.validation, "The message is not valid", fields: problems) }
        if let product = outgoing.productId { _ = try await products.rendered(product, viewer: nil, logger: logger) }
        let conversation: UUID
        if let id = outgoing.conversationId {
            conversation = id
        } else if let to = outgoing.to {
            // The first message to someone opens the conversation (its own short transaction), then goes the same way.
            guard to != sender else { throw AgoraError(.validation, code: "cannot_message_self", "You cannot message yourself") }
            guard try await accounts.summaries([to], logger: logger)[to] != nil else {
                throw AgoraError(.notFound, code: "user_not_found", "No such user")
            }
            if let about = outgoing.about { _ = try await products.rendered(about, viewer: nil, logger: logger) }
            try await refuseIfBlocked(sender, to, logger: logger)
            conversation = try await db.withTransaction(logger: logger) { tx in
                try await self.openOrReuse(sender, to, product: outgoing.about, in: tx)
            }
        } else {
            throw AgoraError(.validation, "The message is not valid", fields: ["conversationId": "or a recipient is required"])
        }

        // One statement, one round trip: membership, the block check, the message, the conversation's and members'
        // counters and both stream events (which reference the message rather than copy it).
        let kind = outgoing.productId == nil ? "text" : "product"
        let row = try await db.query(Self.sendStatement(
            conversation: conversation, sender: sender, clientId: outgoing.clientId, kind: kind, text: text, productId: outgoing.productId
        ), logger: logger).first
        guard let row else { throw Self.notFound }  // not a member, or no such conversation
        let recipient: UUID = try row.decode("other")
        if let to = outgoing.to, to != recipient { throw Self.notFound }
        try Self.refuse(block: try row.decode("block", as: String?.self))
        guard let id = try row.decode("id", as: Int64?.self) else {
            // Nothing inserted: this clientId is stored already (a retry, or a twin that won the race).
            guard let client = outgoing.clientId, let existing = try await stored(sender: sender, clientId: client, logger: logger) else {
                throw AgoraError(.conflict, code: "try_again", "The message could not be stored; try again")
            }
            return (try Self.retry(existing, in: conversation), nil)
        }
        let message = Message(
            id: id, conversationId: conversation, senderId: sender, kind: kind, text: text, productId: outgoing.productId,
            clientId: outgoing.clientId, createdAt: try row.decode("created_at")
        )
        let data: String = try row.decode("data")
        let heard = await hub.publish([
            StreamEvent(user: sender, seq: try row.decode("sender_seq"), type: "chat:message", data: data),
            StreamEvent(user: recipient, seq: try row.decode("recipient_seq"), type: "chat:message", data: data),
        ], logger: logger)
        // Someone with no open connection gets a notice too (and the message when they come back). The publish says
        // it without another round trip: an instance listens on the recipient's channel exactly while it holds a
        // socket of theirs. A socket opened here a moment ago counts even before its subscription is confirmed; if
        // Redis refused the publish, no notice (as when presence cannot be read).
        if let recipientHeard = heard.last ?? nil, recipientHeard == 0, !hub.isConnected(recipient) {
            await noticeOffline(recipient, of: message, logger: logger)
        }
        return (message, data)
    }

    /// The offline recipient's notice of a message: stored and appended to their stream in a transaction of its own.
    /// A failure is logged: the message itself is stored and reaches them when they come back.
    func noticeOffline(_ recipient: UUID, of message: Message, logger: Logger) async {
        do {
            let events = try await db.withTransaction(logger: logger) { tx -> [StreamEvent] in
                guard let notice = try await self.notifications.notify(recipient, .message, data: [
                    "conversationId": .string(message.conversationId.uuidString), "senderId": .string(message.senderId.uuidString),
                    "messageId": .integer(message.id), "preview": .string(String(message.text.prefix(140))),
                ], in: tx) else { return [] }
                return try await self.stream.append([notice], in: tx)
            }
            await hub.publish(events, logger: logger)
        } catch {
            logger.warning("Offline notice of a message failed", metadata: ["error": "\(error)"])
        }
    }

    /// A stored message found by its clientId: the same send retried, unless it was sent into another conversation.
    static func retry(_ existing: Message, in conversation: UUID) throws(AgoraError) -> Message {
        guard existing.conversationId == conversation else {
            throw AgoraError(.conflict, code: "client_id_reused", "This clientId was already used for another message", fields: ["clientId": "is taken"])
        }
        return existing
    }

    struct ChatEvent: Encodable {
        var conversationId: UUID
        var message: Message
    }

    func stored(sender: UUID, clientId: String, logger: Logger) async throws -> Message? {
        let rows = try await db.query(
            "SELECT id, conversation_id, kind, body, product_id, created_at FROM messages WHERE sender_id = \(sender) AND client_id = \(clientId)",
            logger: logger
        )
        guard let row = rows.first else { return nil }
        return Message(
            id: try row.decode("id"), conversationId: try row.decode("conversation_id"), senderId: sender, kind: try row.decode("kind"),
            text: try row.decode("body"), productId: try row.decode("product_id"), clientId: clientId, createdAt: try row.decode("created_at")
        )
    }

    /// A conversation's messages, newest first; `cursor` continues towards older ones.
    /// - Throws: 404 unless `user` takes part in it.
    package func messages(in conversation: UUID, for user: UUID, limit: Int, cursor: String?, logger: Logger) async throws -> Page<Message> {
        _ = try await partner(of: user, in: conversation, logger: logger)
        var before = Int64.max
        if let cursor { before = try OpaqueCursor.decode(cursor, as: Int64.self) }
        let rows = try await db.query(
            """
            SELECT id, sender_id, client_id, kind, body, product_id, created_at FROM messages
            WHERE conversation_id = \(conversation) AND id < \(before) ORDER BY id DESC LIMIT \(limit + 1)
            """,
            logger: logger
        )
        let items = try rows.prefix(limit).map { row in
            Message(
                id: try row.decode("id"), conversationId: conversation, senderId: try row.decode("sender_id"), kind: try row.decode("kind"),
                text: try row.decode("body"), productId: try row.decode("product_id"), clientId: try row.decode("client_id"),
                createdAt: try row.decode("created_at")
            )
        }
        return Page(items: items, nextCursor: rows.count > limit ? items.last.map { OpaqueCursor.encode($0.id) } : nil)
    }

    /// Marks `conversation` read by `user` up to `messageId` (default: its latest message) and tells the other side
    /// (a durable `chat:read`). Reading never moves backwards.
    package func markRead(_ conversation: UUID, by user: UUID, upTo messageId: Int64?, logger: Logger) async throws -> ReadReceipt {
        // One statement, one round trip: membership, the block check, the member row and both stream events.
        let row = try await db.query(Self.readStatement(conversation: conversation, user: user, upTo: messageId), logger: logger).first
        guard let row else { throw Self.notFound }
        let other: UUID = try row.decode("other")
        try Self.refuse(block: try row.decode("block", as: String?.self))
        let receipt = ReadReceipt(
            conversationId: conversation, userId: user, messageId: try row.decode("last_read_id"),
            unread: Int(try row.decode("unread") as Int32)
        )
        await hub.publish([
            StreamEvent(user: other, seq: try row.decode("other_seq"), type: "chat:read", data: try row.decode("shared")),
            StreamEvent(user: user, seq: try row.decode("own_seq"), type: "chat:read", data: try row.decode("own")),
        ], logger: logger)
        return receipt
    }

    /// Tells the other participant that `user` is typing; at most one per `typingInterval`, dropped otherwise.
    package func typing(in conversation: UUID, by user: UUID, logger: Logger) async throws {
        let other = try await partner(of: user, in: conversation, logger: logger)
        try await refuseIfBlocked(user, other, logger: logger)
        guard typing.allow(user: user, conversation: conversation) else { return }
        struct Typing: Encodable {
            var conversationId: UUID
            var userId: UUID
        }
        let data = try JSONText(encoding: Typing(conversationId: conversation, userId: user))
        await hub.publishEphemeral(type: "chat:typing", data: data, to: [other], logger: logger)
    }

    /// Of `users`, those whose presence `viewer` may see: `viewer` themself, and conversation partners with no block
    /// either way (the same people presence events reach).
    package func presenceVisible(to viewer: UUID, of users: [UUID], logger: Logger) async throws -> Set<UUID> {
        let partners = try await db.query(
            """
            SELECT CASE WHEN user_a = \(viewer) THEN user_b ELSE user_a END AS other FROM conversations
            WHERE (user_a = \(viewer) AND user_b = ANY(\(users))) OR (user_b = \(viewer) AND user_a = ANY(\(users)))
            """,
            logger: logger
        ).map { try $0.decode("other") as UUID }
        let blocked = try await blocks.blockedEitherWay(viewer, among: partners, logger: logger)
        return Set(partners.filter { !blocked.contains($0) } + (users.contains(viewer) ? [viewer] : []))
    }

    /// The author and text of message `id`, if `viewer` is in its conversation (for a report of it); nil otherwise,
    /// so a report learns nothing of conversations its author is not in.
    package func reportableMessage(_ id: Int64, viewer: UUID, logger: Logger) async throws -> (author: UUID, text: String)? {
        guard
            let row = try await db.query(
                """
                SELECT m.sender_id, m.body FROM messages m
                JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = \(viewer)
                WHERE m.id = \(id)
                """,
                logger: logger
            ).first
        else { return nil }
        return (try row.decode("sender_id"), try row.decode("body"))
    }

    static var notFound: AgoraError { AgoraError(.notFound, code: "conversation_not_found", "No such conversation") }
}
