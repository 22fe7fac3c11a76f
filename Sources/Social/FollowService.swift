package import AgoraCore
package import AgoraEvents
package import AgoraPostgres
package import Catalog
package import Foundation
package import Logging

/// The social graph: who follows whom, and the feed of products from followed sellers. Owns `follows` and
/// `follow_counts`; reads accounts through `AccountDirectory` and products through `ProductService`.
package struct FollowService: Sendable {
    /// Follower and following counts of an account, and whether the caller follows it.
    package struct FollowState: Sendable, Codable, Equatable {
        package var following: Bool?
        package var followerCount: Int
        package var followingCount: Int
    }

    /// An account in a follower or following list.
    package struct Entry: Sendable, Codable, Equatable {
        package var account: AccountSummary
        package var since: Date
    }

    /// One page of a follower or following list.
    package typealias Page = AgoraCore.Page<Entry>

    let db: PGPool
    let accounts: any AccountDirectory
    let products: ProductService
    let events: EventOutbox
    /// The feed looks at the most recently followed this many accounts (`AGORA_FEED_MAX_FOLLOWS`).
    let feedFollowLimit: Int

    package init(db: PGPool, accounts: any AccountDirectory, products: ProductService, events: EventOutbox, feedFollowLimit: Int = 5000) {
        self.db = db
        self.accounts = accounts
        self.products = products
        self.events = events
        self.feedFollowLimit = feedFollowLimit
    }

    /// The account id of `username`, or 404.
    func resolve(_ username: String, logger: Logger) async throws -> UUID {
        guard let id = try await accounts.accountID(username: username, logger: logger) else {
            throw AgoraError(.notFound, code: "user_not_found", "No user named \(username.prefix(30))")
        }
        return id
    }

    /// Makes `follower` follow (or with `false`, unfollow) `username`. Idempotent; counts move in the same
    /// transaction as the follow row, so they are exact under concurrent toggles.
    /// - Throws: 404 for an unknown user; 422 `cannot_follow_self`; 403 `blocked` when either account blocks the other.
    package func setFollow(_ username: String, follower: UUID, following: Bool, logger: Logger) async throws -> FollowState {
        let followee = try await resolve(username, logger: logger)
        guard followee != follower else {
            throw AgoraError(.validation, code: "cannot_follow_self", "You cannot follow yourself", fields: ["username": "is you"])
        }
        return try await db.withTransaction(logger: logger) { tx in
            try await Self.lockPair(follower, followee, in: tx)
            if following, try await !tx.query(
                "SELECT 1 FROM blocks WHERE (blocker_id = \(followee) AND blocked_id = \(follower)) OR (blocker_id = \(follower) AND blocked_id = \(followee))"
            ).isEmpty {
                throw AgoraError(.forbidden, code: "blocked", "You cannot follow this account")
            }
            _ = try await self.changeFollow(follower: follower, followee: followee, following: following, in: tx)
            let counts = try await Self.counts(followee, in: tx)
            return FollowState(following: following, followerCount: counts.followers, followingCount: counts.following)
        }
    }

    /// Adds or removes one follow with its counts and domain event, in `tx`; returns whether anything changed.
    func changeFollow(follower: UUID, followee: UUID, following: Bool, in tx: PGTransaction) async throws -> Bool {
        let changed: Bool
        if following {
            changed = try await tx.execute(
                "INSERT INTO follows (follower_id, followee_id) VALUES (\(follower), \(followee)) ON CONFLICT DO NOTHING"
            ).affectedRows == 1
        } else {
            changed = try await tx.execute("DELETE FROM follows WHERE follower_id = \(follower) AND followee_id = \(followee)").affectedRows == 1
        }
        guard changed else { return false }
        let delta = Int32(following ? 1 : -1)
        // Always in the same order (followee row, then follower row) to avoid deadlocks between A→B and B→A.
        for (account, column) in [(followee, "followers"), (follower, "following")].sorted(by: { $0.0.uuidString < $1.0.uuidString }) {
            if column == "followers" {
                try await tx.execute(
                    """
                    INSERT INTO follow_counts (account_id, followers) VALUES (\(account), greatest(\(delta), 0))
                    ON CONFLICT (account_id) DO UPDATE SET followers = follow_counts.followers + \(delta)
                    """
                )
            } else {
                try await tx.execute(
                    """
                    INSERT INTO follow_counts (account_id, following) VALUES (\(account), greatest(\(delta), 0))
                    ON CONFLICT (account_id) DO UPDATE SET following = follow_counts.following + \(delta)
                    """
                )
            }
        }
        try await events.record(DomainEvent(following ? .userFollowed : .userUnfollowed, actor: follower, subject: followee), in: tx)
        return true
    }

    /// Counts of `username`, and whether `viewer` follows them.
    package func state(_ username: String, viewer: UUID?, logger: Logger) async throws -> FollowState {
        let account = try await resolve(username, logger: logger)
        let rows = try await db.query(
            """
            SELECT coalesce((SELECT followers FROM follow_counts WHERE account_id = \(account)), 0) AS followers,
                   coalesce((SELECT following FROM follow_counts WHERE account_id = \(account)), 0) AS following,
                   EXISTS (SELECT 1 FROM follows WHERE follower_id = \(viewer) AND followee_id = \(account)) AS followed
            """,
            logger: logger
        )
        return FollowState(
            following: viewer == nil ? nil : try rows.one().decode("followed"),
            followerCount: try rows.one().decode("followers"),
            followingCount: try rows.one().decode("following")
        )
    }

    static func counts(_ account: UUID, in tx: PGTransaction) async throws -> (followers: Int, following: Int) {
        let rows = try await tx.query("SELECT followers, following FROM follow_counts WHERE account_id = \(account)")
        guard let row = rows.first else { return (0, 0) }
        return (try row.decode("followers"), try row.decode("following"))
    }

    /// Which list of an account.
    package enum Direction: Sendable { case followers, following }

    /// Who follows `username` (or whom they follow), most recent first.
    package func list(_ username: String, _ direction: Direction, limit: Int, cursor: String?, logger: Logger) async throws -> Page {
        let account = try await resolve(username, logger: logger)
        let position = try cursor.map { raw throws(AgoraError) in try OpaqueCursor.decode(raw, as: TimePosition.self) }
        let query: PGQuery =
            switch direction {
            case .followers:
                """
                SELECT f.follower_id AS other, f.created_at FROM follows f
                WHERE f.followee_id = \(account)
                  AND (\(position == nil) OR (f.created_at, f.follower_id) < (\(position?.date), \(position?.id)))
                ORDER BY f.created_at DESC, f.follower_id DESC LIMIT \(limit + 1)
                """
            case .following:
                """
                SELECT f.followee_id AS other, f.created_at FROM follows f
                WHERE f.follower_id = \(account)
                  AND (\(position == nil) OR (f.created_at, f.followee_id) < (\(position?.date), \(position?.id)))
                ORDER BY f.created_at DESC, f.followee_id DESC LIMIT \(limit + 1)
                """
            }
        let rows = try await db.query(query, logger: logger)
        let page = Array(rows.prefix(limit))
        let ids: [UUID] = try page.map { try $0.decode("other") }
        let summaries = ids.isEmpty ? [:] : try await accounts.summaries(ids, logger: logger)
        let items = try page.compactMap { row -> Entry? in
            guard let summary = summaries[try row.decode("other")] else { return nil }
            return Entry(account: summary, since: try row.decode("created_at"))
        }
        var next: String?
        if rows.count > limit, let last = page.last {
            next = OpaqueCursor.encode(TimePosition(try last.decode("created_at"), id: try last.decode("other")))
        }
        return Page(items: items, nextCursor: next)
    }

    /// The newest published products of the accounts `viewer` follows.
    package func feed(_ viewer: UUID, limit: Int, cursor: String?, logger: Logger) async throws -> ProductPage {
        let rows = try await db.query(
            "SELECT followee_id FROM follows WHERE follower_id = \(viewer) ORDER BY created_at DESC LIMIT \(feedFollowLimit)",
            logger: logger
        )
        var query = ProductQuery(limit: limit)
        query.sellerIDs = try rows.map { try $0.decode("followee_id") }
        query.sort = .newest
        query.cursor = cursor
        return try await products.feed(query, viewer: viewer, logger: logger)
    }
}

