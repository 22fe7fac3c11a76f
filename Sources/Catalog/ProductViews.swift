public import AgoraPostgres
public import AgoraRedis
import AgoraCrypto
public import Foundation
public import Logging
public import ServiceLifecycle

/// Product view counts, kept cheap: a view is one Redis call (at most one per viewer per product per window),
/// and `ProductViewFlusher` moves the counts into `products.view_count` in batches.
public struct ProductViews: Sendable {
    let redis: RedisClient
    let db: PGPool
    let prefix: String
    /// One viewer counts once per product in this window (an hour by default).
    public let window: Duration

    public init(redis: RedisClient, db: PGPool, prefix: String, window: Duration = .seconds(3600)) {
        self.redis = redis
        self.db = db
        self.prefix = prefix
        self.window = window
    }

    var pendingKey: String { "\(prefix)views:pending" }

    // KEYS[1] = the viewer's marker, KEYS[2] = the pending counts; both in one script so a counted view always has
    // its marker and the other way round.
    static let recordScript = RedisScript("""
        if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
            redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
            return 1
        end
        return 0
        """)
    // Read and clear in one step: with several instances flushing, each count is taken by exactly one of them.
    static let takeScript = RedisScript("""
        local counts = redis.call('HGETALL', KEYS[1])
        redis.call('DEL', KEYS[1])
        return counts
        """)

    /// Counts a view of `product` by `viewer` (an account id, or a hash of the client address) unless that viewer
    /// was counted in the window. Never throws: a view that cannot be counted is logged and dropped.
    /// - Returns: whether the view counted.
    @discardableResult
    public func record(_ product: UUID, viewer: String, logger: Logger) async -> Bool {
        let marker = "\(prefix)views:seen:\(product.uuidString.lowercased()):\(Hex.encode(SHA256.hash(Array(viewer.utf8)).prefix(12)))"
        do {
            let reply = try await redis.run(
                Self.recordScript, keys: [marker, pendingKey],
                arguments: [product.uuidString.lowercased(), Int(window.components.seconds)], logger: logger
            )
            return reply.int == 1
        } catch {
            logger.warning("Product view not counted", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Moves pending counts into PostgreSQL; returns how many views it wrote.
    @discardableResult
    public func flush(logger: Logger) async throws -> Int {
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
            try await db.execute(
                """
                UPDATE products SET view_count = view_count + v.n
                FROM unnest(\(ids), \(counts)) AS v(id, n) WHERE products.id = v.id
                """,
                logger: logger
            )
        } catch {
            // Put them back for the next flush rather than lose them.
            for (id, count) in zip(ids, counts) {
                _ = try? await redis.send("HINCRBY", pendingKey, id.uuidString.lowercased(), count, logger: logger)
            }
            throw error
        }
        return counts.reduce(0, +)
    }
}

/// Flushes view counts every `interval` (`AGORA_VIEW_FLUSH_INTERVAL`), and once more on shutdown.
public struct ProductViewFlusher: Service {
    let views: ProductViews
    let interval: Duration
    let logger: Logger
    let isReady: @Sendable () -> Bool

    public init(views: ProductViews, interval: Duration, logger: Logger, isReady: @escaping @Sendable () -> Bool) {
        self.views = views
        self.interval = interval
        self.logger = logger
        self.isReady = isReady
    }

    public func run() async throws {
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
            let written = try await views.flush(logger: logger)
            if written > 0 { logger.debug("Product views flushed", metadata: ["views": "\(written)"]) }
        } catch let error as RedisError where error.code == .poolClosed {
            // Shutting down: nothing was taken, the counts wait in Redis for the next process.
            logger.debug("Product view flush skipped: Redis client closed")
        } catch {
            logger.warning("Product view flush failed; counts kept for the next one", metadata: ["error": "\(error)"])
        }
    }
}
