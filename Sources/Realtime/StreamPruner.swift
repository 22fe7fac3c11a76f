package import AgoraCore
package import AgoraPostgres
package import Logging
package import ServiceLifecycle

/// Keeps `user_events` bounded (issue 21, part 3): events older than `days`, and all but the newest `perUser` events
/// of each user, are deleted in batches, and each user's `pruned_seq` moves with them, so a client resuming from
/// before the window gets `reset` (DeliveryMachine) instead of a silent gap. Chat messages themselves stay in
/// `messages`; only their stream entries go.
///
/// Every instance runs one; a transaction-scoped try-lock lets one prune at a time (the others skip the round).
/// Batches keep each transaction short: no long lock on the table, and writers of other users never wait.
package struct StreamPruner: Service {
    package struct Settings: Sendable {
        /// Days an event is kept (`AGORA_STREAM_RETENTION_DAYS`, 30); 0 keeps events of any age.
        package var days: Int
        /// Events kept per user (`AGORA_STREAM_RETENTION_EVENTS`, 10,000); 0 keeps any number.
        package var perUser: Int
        /// How often a round runs (`AGORA_STREAM_PRUNE_MS`, 60 s).
        package var interval: Duration
        /// Rows deleted per statement (`AGORA_STREAM_PRUNE_BATCH`, 5,000).
        package var batch: Int

        package init(days: Int = 30, perUser: Int = 10_000, interval: Duration = .seconds(60), batch: Int = 5000) {
            self.days = days
            self.perUser = perUser
            self.interval = interval
            self.batch = batch
        }
    }

    let db: PGPool
    let settings: Settings
    let logger: Logger
    let isReady: @Sendable () -> Bool
    let duties: DutyMonitor

    package init(db: PGPool, settings: Settings, logger: Logger, isReady: @escaping @Sendable () -> Bool, duties: DutyMonitor = DutyMonitor()) {
        self.duties = duties
        self.db = db
        self.settings = settings
        self.logger = logger
        self.isReady = isReady
    }

    package func run() async throws {
        guard settings.days > 0 || settings.perUser > 0 else { return }
        duties.started("stream_pruner")
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if isReady() {
                do {
                    var total = 0
                    // A round goes on while batches come back full, yielding between them.
                    while !Task.isCancelled {
                        let deleted = try await pruneOnce()
                        total += deleted
                        if deleted < settings.batch { break }
                    }
                    if total > 0 { logger.info("Stream events pruned", metadata: ["events": "\(total)"]) }
                    duties.ran("stream_pruner", items: total)
                } catch {
                    duties.failed("stream_pruner")
                    logger.warning("Stream pruning failed; retrying next round", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.interval) }
        }
    }

    /// One batch of each rule; returns how many events it deleted (0 when another instance holds the lock).
    @discardableResult
    package func pruneOnce() async throws -> Int {
        try await db.withTransaction(logger: logger) { tx in
            let locked: Bool = try await tx.query("SELECT pg_try_advisory_xact_lock(hashtextextended('agora.stream-prune', 0)) AS got").one().decode("got")
            guard locked else { return 0 }
            var deleted = 0
            if settings.days > 0 {
                // By age, oldest first through the created_at index.
                deleted += try await tx.query(
                    """
                    WITH doomed AS (
                        SELECT user_id, seq FROM user_events WHERE created_at < now() - make_interval(days => \(settings.days)::int)
                        ORDER BY created_at LIMIT \(settings.batch)
                    ), gone AS (
                        DELETE FROM user_events e USING doomed d WHERE e.user_id = d.user_id AND e.seq = d.seq RETURNING e.user_id, e.seq
                    ), moved AS (
                        UPDATE user_streams s SET pruned_seq = greatest(s.pruned_seq, g.seq)
                        FROM (SELECT user_id, max(seq) AS seq FROM gone GROUP BY user_id) g WHERE s.user_id = g.user_id
                    )
                    SELECT count(*)::int AS n FROM gone
                    """
                ).one().decode("n")
            }
            if settings.perUser > 0 {
                // By count: the users with more than the window kept, through the primary key.
                deleted += try await tx.query(
                    """
                    WITH heavy AS (
                        SELECT user_id, last_seq - \(settings.perUser) AS upto FROM user_streams
                        WHERE last_seq - pruned_seq > \(settings.perUser) LIMIT 100
                    ), gone AS (
                        DELETE FROM user_events e USING heavy h WHERE e.user_id = h.user_id AND e.seq <= h.upto RETURNING e.seq
                    ), moved AS (
                        UPDATE user_streams s SET pruned_seq = greatest(s.pruned_seq, h.upto) FROM heavy h WHERE s.user_id = h.user_id
                    )
                    SELECT count(*)::int AS n FROM gone
                    """
                ).one().decode("n")
            }
            return deleted
        }
    }
}
