package import AgoraCore
import AgoraCrypto
package import AgoraPostgres
package import AgoraRedis
package import Foundation
package import Logging
import ServiceLifecycle
import Synchronization

/// Product view counts, kept cheap: a view costs a request nothing but an insert into an in-process set;
/// `ProductViewFlusher` then, once per interval, sends the views it collected to Redis in one script (which keeps
/// one marker per viewer and product for the window, across instances, and counts only new pairs), and moves the
/// counts from Redis into `products.view_count` in one UPDATE.
///
/// What a crash can lose: the views of the last interval that were still in this process.
package final class ProductViews: Sendable {
    let redis: RedisClient
    let db: PGPool
    let prefix: String
    /// One viewer counts once per product in this window (an hour by default).
    package let window: Duration
    /// Views held in memory at most; beyond it new ones are dropped (and logged) until the next flush.
    let maxPending: Int
    private let pending = Mutex<Set<Pending>>([])

    struct Pending: Hashable {
        var product: UUID
        var viewer: String
    }

    package init(redis: RedisClient, db: PGPool, prefix: String, window: Duration = .seconds(3600), maxPending: Int = 100_000) {
        self.redis = redis
        self.db = db
        self.prefix = prefix
        self.window = window
        self.maxPending = maxPending
    }

    var pendingKey: String { "\(prefix)views:pending" }

    // KEYS[1] = the pending counts; ARGV[1] = the window in seconds, then marker/product pairs. A marker is set and
    // its product counted in the same step, so a counted view always has its marker and the other way round.
    static let recordScript = RedisScript("""
        local counted = 0
        for i = 2, #ARGV, 2 do
            if redis.call('SET', ARGV[i], '1', 'NX', 'EX', ARGV[1]) then
                redis.call('HINCRBY', KEYS[1], ARGV[i + 1], 1)
                counted = counted + 1
            end
        end
        return counted
        """)
    // Read and clear in one step: with several instances flushing, each count is taken by exactly one of them.
    static let takeScript = RedisScript("""
        local counts = redis.call('HGETALL', KEYS[1])
        redis.call('DEL', KEYS[1])
        return counts
        """)

    /// Notes a view of `product` by `viewer` (an account id, or the client address); counted at the next flush
    /// unless that viewer was counted in the window. Never blocks and never fails the request.
    package func record(_ product: UUID, viewer: String, logger: Logger) {
        let dropped = pending.withLock { set -> Bool in
            guard set.count < maxPending else { return true }
            set.insert(Pending(product: product, viewer: viewer))
            return false
        }
        if dropped { logger.warning("Product view dropped: too many pending views") }
    }

    /// Sends the views collected in this process to Redis; returns how many counted (new in their window).
    @discardableResult
    package func push(logger: Logger) async throws -> Int {
        let views = pending.withLock { set in
            defer { set.removeAll(keepingCapacity: true) }
            return Array(set)
        }
        var counted = 0
        var start = 0
        // In chunks, so one script never holds Redis for long.
        while start < views.count {
            let chunk = views[start..<min(start + 500, views.count)]
            start += chunk.count
            var arguments: [any RedisArgument] = [Int(window.components.seconds)]
            for view in chunk {
                let product = view.product.uuidString.lowercased()
                arguments.append("\(prefix)views:seen:\(product):\(Hex.encode(SHA256.hash(Array(view.viewer.utf8)).prefix(12)))")
                arguments.append(product)
            }
            do {
                counted += try await redis.run(Self.recordScript, keys: [pendingKey], arguments: arguments, logger: logger).int ?? 0
            } catch {
                // Keep what was not sent for the next flush.
                pending.withLock { set in
                    for view in views[(start - chunk.count)...] where set.count < maxPending { set.insert(view) }
                }
                throw error
            }
        }
        return counted
    }

    /// Sends pending views to Redis, then moves the counts in Redis into PostgreSQL; returns how many views it
    /// wrote to PostgreSQL.
    @discardableResult
    /// - Parameter totals: told the new view counts of the products flushed (for live product pages).
    package func flush(logger: Logger, totals: (@Sendable ([UUID: Int]) async -> Void)? = nil) async throws -> Int {
        try await push(logger: logger)
        let reply = try await redis.run(Self.takeScript, keys: [pendingKey], arguments: [], logger: logger).array ?? []
        var ids: [UUID] = []
        var counts: [Int] = []
        for pair in stride(from: 0, to: reply.count - 1, by: 2) {
            guard let id = reply[pair].string.flatMap(UUID.init(uuidString:)), let count = reply[pair + 1].int else { continue }
            ids.append(id)
            counts.append(count)
        }
        guard !ids.isEmpty else { return 0 }
        do {
            let rows = try await db.query(
                """
                UPDATE products SET view_count = view_count + v.n
                FROM unnest(\(ids), \(counts)) AS v(id, n) WHERE products.id = v.id
                RETURNING products.id, products.view_count
                """,
                logger: logger
            )
            if let totals {
                var byProduct: [UUID: Int] = [:]
                for row in rows { byProduct[try row.decode("id")] = try row.decode("view_count") }
                await totals(byProduct)
            }
        } catch {
            // Put them back for the next flush rather than lose them.
            for (id, count) in zip(ids, counts) {
                do {
                    _ = try await redis.send("HINCRBY", pendingKey, id.uuidString.lowercased(), count, logger: logger)
                } catch let putBack {
                    logger.warning("Product views lost: they could not be put back after a failed flush", metadata: [
                        "agora.product_id": "\(id)", "views": "\(count)", "error": "\(putBack)",
                    ])
                }
            }
            throw error
        }
        return counts.reduce(0, +)
    }
}

/// Flushes view counts every `interval` (`AGORA_VIEW_FLUSH_INTERVAL`), and once more on shutdown.
package struct ProductViewFlusher: Service {
    let views: ProductViews
    let interval: Duration
    let logger: Logger
    let isReady: @Sendable () -> Bool
    let totals: (@Sendable ([UUID: Int]) async -> Void)?
    let duties: DutyMonitor

    /// - Parameter totals: told the new view counts after each flush.
    package init(
        views: ProductViews, interval: Duration, logger: Logger, isReady: @escaping @Sendable () -> Bool,
        totals: (@Sendable ([UUID: Int]) async -> Void)? = nil, duties: DutyMonitor = DutyMonitor()
    ) {
        self.duties = duties
        self.views = views
        self.interval = interval
        self.logger = logger
        self.isReady = isReady
        self.totals = totals
    }

    package func run() async throws {
        duties.started("view_flush")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Ends early on graceful shutdown; the flush after the loop then writes what is pending.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            await flushOnce()
        }
        await flushOnce()
    }

    func flushOnce() async {
        guard isReady() else { return }
        do {
            let written = try await views.flush(logger: logger, totals: totals)
            duties.ran("view_flush", items: written)
            if written > 0 { logger.debug("Product views flushed", metadata: ["views": "\(written)"]) }
        } catch let error as RedisError where error.code == .poolClosed {
            // Shutting down: nothing was taken, the counts wait in Redis for the next process.
            logger.debug("Product view flush skipped: Redis client closed")
        } catch {
            duties.failed("view_flush")
            logger.warning("Product view flush failed; counts kept for the next one", metadata: ["error": "\(error)"])
        }
    }
}
