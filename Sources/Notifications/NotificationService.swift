import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging
package import Realtime

/// The bell: one row per notice, each also a `notification:new` in its user's stream. Owns `notifications` and
/// `notification_mutes`.
package struct NotificationService: Sendable {
    /// What a notification is about; each can be muted.
    package enum Kind: String, Sendable, Codable, CaseIterable {
        /// Someone followed me.
        case follower
        /// Someone liked my product.
        case like
        /// A message arrived while I was offline.
        case message
        /// A new paid seller order (sellers).
        case order
        /// An order of mine shipped, was delivered or was cancelled (buyers).
        case orderStatus = "order_status"
        /// A product of mine fell to its low-stock threshold (sellers).
        case lowStock = "low_stock"
        /// Something an administrator must look at: a payment that does not match its order, a failed refund (admins).
        case adminAlert = "admin_alert"
    }

    package struct Notice: Sendable, Codable, Equatable {
        package var id: Int64
        package var kind: String
        package var data: JSON
        package var read: Bool
        package var createdAt: Date
    }

    /// A page of notices with the unread count.
    package struct NoticePage: Sendable, Codable {
        package var items: [Notice]
        package var nextCursor: String?
        package var unread: Int

        enum CodingKeys: String, CodingKey { case items, nextCursor, unread }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(items, forKey: .items)
            try container.encode(nextCursor, forKey: .nextCursor)
            try container.encode(unread, forKey: .unread)
        }
    }

    let db: PGPool
    let stream: UserStream

    package init(db: PGPool, stream: UserStream) {
        self.db = db
        self.stream = stream
    }

    /// Stores a notice for `user` in `tx` unless they muted its kind; returns its `notification:new` stream entry to
    /// append in the same transaction (all of a transaction's entries in one `UserStream.append`, which locks users
    /// in order). Nil when muted.
    package func notify(_ user: UUID, _ kind: Kind, data: [String: JSON], in tx: PGTransaction) async throws -> StreamEntry? {
        try await notify([NoticeRequest(user, kind, data: data)], in: tx).first ?? nil
    }

    /// A notice to store with others (`notify(_:in:)`).
    package struct NoticeRequest: Sendable {
        package var user: UUID
        package var kind: Kind
        package var data: [String: JSON]

        package init(_ user: UUID, _ kind: Kind, data: [String: JSON]) {
            self.user = user
            self.kind = kind
            self.data = data
        }
    }

    /// How a notice of this kind reaches its user's devices by Web Push, when it does: a new order and a message
    /// are urgent, an order's journey (a dispute step included) normal. The topic collapses a burst about the same
    /// order or conversation into its newest push (RFC 8030 section 5.4: at most 32 URL-safe characters).
    static func push(_ request: NoticeRequest) -> (urgency: String, topic: String)? {
        func topic(_ prefix: String, _ key: String) -> String {
            guard case .string(let id)? = request.data[key] else { return "" }
            return prefix + String(id.lowercased().filter { $0.isHexDigit }.prefix(24))
        }
        switch request.kind {
        case .order: return ("high", topic("ord-", "orderId"))
        case .message: return ("high", topic("msg-", "conversationId"))
        case .orderStatus: return (request.data["step"] == nil ? "normal" : "high", topic("ord-", "orderId"))
        default: return nil
        }
    }

    /// `notify` for many notices in one statement: each stored unless its user muted its kind, and queued for Web
    /// Push to each of the user's subscribed devices when its kind is pushed (`push_outbox`, sent by AgoraPush's
    /// dispatcher after the commit, only if no socket of theirs is open by then). Returns, in the order of
    /// `requests`, each one's `notification:new` entry, nil for a muted one.
    package func notify(_ requests: [NoticeRequest], in tx: PGTransaction) async throws -> [StreamEntry?] {
        guard !requests.isEmpty else { return [] }
        let pushes = requests.map(Self.push)
        let rows = try await tx.query(
            // Rows are inserted in request order, so the ids `stored` returns, ranked, pair with the kept requests,
            // ranked. Each user's count (`notification_counts`) moves once by their kept notices, the rows locked in
            // user-id order; a notice's unread count is the new count less the user's notices after it.
            """
            WITH n AS (
                SELECT user_id, kind, data, push_urgency, push_topic, i
                FROM unnest(\(requests.map(\.user)), \(requests.map(\.kind.rawValue)), \(try requests.map { try AgoraJSON.text($0.data) }),
                            \(pushes.map { $0?.urgency ?? "" }), \(pushes.map { $0?.topic ?? "" }))
                    WITH ORDINALITY AS n(user_id, kind, data, push_urgency, push_topic, i)
            ), kept AS (
                SELECT n.*, row_number() OVER (ORDER BY i) AS r FROM n
                WHERE NOT EXISTS (SELECT 1 FROM notification_mutes m WHERE m.user_id = n.user_id AND m.kind = n.kind)
            ), stored AS (
                INSERT INTO notifications (user_id, kind, data)
                SELECT user_id, kind, data::jsonb FROM kept ORDER BY i
                RETURNING id, created_at
            ), counted AS (
                INSERT INTO notification_counts (user_id, unread)
                SELECT user_id, count(*) FROM kept GROUP BY user_id ORDER BY user_id
                ON CONFLICT (user_id) DO UPDATE SET unread = notification_counts.unread + EXCLUDED.unread
                RETURNING user_id, unread
            ), pushed AS (
                INSERT INTO push_outbox (subscription_id, account_id, kind, data, topic, urgency)
                SELECT s.id, kept.user_id, kept.kind, kept.data::jsonb, nullif(kept.push_topic, ''), kept.push_urgency
                FROM kept JOIN push_subscriptions s ON s.account_id = kept.user_id
                WHERE kept.push_urgency <> ''
                ORDER BY kept.i, s.id
            )
            SELECT kept.i, s.id, s.created_at,
                   counted.unread - count(*) OVER (PARTITION BY kept.user_id)
                       + row_number() OVER (PARTITION BY kept.user_id ORDER BY kept.i) AS unread
            FROM kept JOIN (SELECT id, created_at, row_number() OVER (ORDER BY id) AS r FROM stored) s ON s.r = kept.r
                 JOIN counted ON counted.user_id = kept.user_id
            """
        )
        var entries = [StreamEntry?](repeating: nil, count: requests.count)
        for row in rows {
            let index = Int(try row.decode("i", as: Int64.self)) - 1
            let request = requests[index]
            let notice = Notice(id: try row.decode("id"), kind: request.kind.rawValue, data: .object(request.data), read: false,
                                createdAt: try row.decode("created_at"))
            entries[index] = try StreamEntry(user: request.user, type: "notification:new",
                                             encoding: NewNotice(notification: notice, unread: Int(try row.decode("unread") as Int64)))
        }
        return entries
    }

    struct NewNotice: Encodable {
        var notification: Notice
        var unread: Int
    }

    /// `user`'s notices, newest first.
    package func list(_ user: UUID, limit: Int, cursor: String?, logger: Logger) async throws -> NoticePage {
        var before = Int64.max
        if let cursor { before = try OpaqueCursor.decode(cursor, as: Int64.self) }
        let rows = try await db.query(
            """
            SELECT id, kind, data::text AS data, read_at IS NOT NULL AS read, created_at FROM notifications
            WHERE user_id = \(user) AND id < \(before) ORDER BY id DESC LIMIT \(limit + 1)
            """,
            logger: logger
        )
        let items = try rows.prefix(limit).map { row in
            Notice(
                id: try row.decode("id"), kind: try row.decode("kind"),
                data: try JSONDecoder().decode(JSON.self, from: Data((try row.decode("data") as String).utf8)),
                read: try row.decode("read"), createdAt: try row.decode("created_at")
            )
        }
        return NoticePage(
            items: items, nextCursor: rows.count > limit ? items.last.map { OpaqueCursor.encode($0.id) } : nil,
            unread: try await unreadCount(user, logger: logger)
        )
    }

    package func unreadCount(_ user: UUID, logger: Logger) async throws -> Int {
        let rows = try await db.query(
            "SELECT coalesce((SELECT unread FROM notification_counts WHERE user_id = \(user)), 0)::bigint AS n", logger: logger
        )
        return Int(try rows.one().decode("n") as Int64)
    }

    /// Marks one notice (or with nil, all) of `user` read; returns the unread count after.
    /// - Throws: 404 for a notice that is not `user`'s.
    package func markRead(_ user: UUID, id: Int64?, logger: Logger) async throws -> Int {
        // One statement: the notices marked, and the user's count less the ones that were unread (a notice stored
        // meanwhile, unseen by this statement, stays counted). Returns the count after, and how many notices matched.
        let marked: PGQuery =
            id.map { id in
                """
                UPDATE notifications n SET read_at = coalesce(n.read_at, now())
                FROM (SELECT id, read_at IS NULL AS unread FROM notifications WHERE id = \(id) AND user_id = \(user) FOR UPDATE) old
                WHERE n.id = old.id
                RETURNING old.unread
                """
            } ?? "UPDATE notifications SET read_at = now() WHERE user_id = \(user) AND read_at IS NULL RETURNING true AS unread"
        let row = try await db.query(
            """
            WITH marked AS (\(fragment: marked)), counted AS (
                UPDATE notification_counts SET unread = unread - (SELECT count(*) FROM marked WHERE unread)
                WHERE user_id = \(user)
                RETURNING unread
            )
            SELECT (SELECT count(*) FROM marked) AS matched, coalesce((SELECT unread FROM counted), 0)::bigint AS unread
            """,
            logger: logger
        ).one()
        if id != nil, try row.decode("matched", as: Int64.self) != 1 {
            throw AgoraError(.notFound, code: "notification_not_found", "No such notification")
        }
        return Int(try row.decode("unread", as: Int64.self))
    }

    /// The kinds `user` has muted.
    package func muted(_ user: UUID, logger: Logger) async throws -> [String] {
        try await db.query("SELECT kind FROM notification_mutes WHERE user_id = \(user) ORDER BY kind", logger: logger).map { try $0.decode("kind") }
    }

    /// Replaces the kinds `user` has muted.
    /// - Throws: 422 naming an unknown kind.
    package func setMuted(_ user: UUID, kinds: [String], logger: Logger) async throws -> [String] {
        let unknown = kinds.filter { Kind(rawValue: $0) == nil }
        guard unknown.isEmpty else {
            throw AgoraError(.validation, "Unknown notification kind", fields: ["muted": "unknown: \(unknown.prefix(3).joined(separator: ", ").prefix(100))"])
        }
        let unique = Array(Set(kinds))
        try await db.withTransaction(logger: logger) { tx in
            try await tx.execute("DELETE FROM notification_mutes WHERE user_id = \(user)")
            if !unique.isEmpty {
                try await tx.execute("INSERT INTO notification_mutes (user_id, kind) SELECT \(user), unnest(\(unique))")
            }
        }
        return unique.sorted()
    }
}
