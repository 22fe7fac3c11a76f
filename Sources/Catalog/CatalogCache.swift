import AgoraCrypto
package import AgoraRedis
package import Foundation
package import Logging
import Synchronization

/// Redis caches of product details and of first listing pages.
///
/// Invalidation is exact for what a seller edits (title, price, stock, status, images): after the change commits it
/// bumps a version that is part of the value's key (so the old entry is never read again), and a reader only stores
/// what it read from PostgreSQL if the version it saw before reading is still current, so a slow reader can never
/// put back a value older than the edit. Every product change also bumps the one listing version, retiring every
/// cached first page. Like and view counts do not invalidate: they lag by at most the TTL (`AGORA_CACHE_TTL_MS`,
/// 10 s by default).
/// Redis being down is never an error here: reads fall through to PostgreSQL, writes are skipped.
package struct CatalogCache: Sendable {
    let redis: RedisClient
    let prefix: String
    /// How long an entry lives; also the bound on how stale like and view counts can be.
    package let ttl: Duration
    let isEnabled: Bool
    /// Hits and misses since start, for `/metrics` and the benchmark's hit ratio.
    package let statistics = Statistics()

    package init(redis: RedisClient, prefix: String, ttl: Duration, isEnabled: Bool = true) {
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self.isEnabled = isEnabled
    }

    /// Counts of cache lookups.
    package final class Statistics: Sendable {
        private let counts = Mutex((hits: 0, misses: 0, unavailable: 0))
        /// Lookups answered from Redis.
        package var hits: Int { counts.withLock { $0.hits } }
        /// Lookups that went to PostgreSQL (and stored what they read, unless an edit raced them).
        package var misses: Int { counts.withLock { $0.misses } }
        /// Lookups that could not ask Redis (down, or caching off).
        package var unavailable: Int { counts.withLock { $0.unavailable } }

        func count(_ lookup: Lookup) {
            counts.withLock {
                switch lookup {
                case .hit: $0.hits += 1
                case .miss: $0.misses += 1
                case .unavailable: $0.unavailable += 1
                }
            }
        }
    }

    /// A cached value, or the version to present when storing a freshly read one.
    enum Lookup {
        case hit([UInt8])
        case miss(version: String)
        case unavailable
    }

    // KEYS[1] = version key, KEYS[2] = value key prefix; the value lives under prefix .. version, so a bumped
    // version also retires every value stored under the old one.
    static let getScript = RedisScript("""
        local v = redis.call('GET', KEYS[1]) or '0'
        return {v, redis.call('GET', KEYS[2] .. v)}
        """)
    // Store only if the version is still the one seen before reading PostgreSQL.
    static let setScript = RedisScript("""
        local v = redis.call('GET', KEYS[1]) or '0'
        if v ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[2] .. v, ARGV[2], 'PX', ARGV[3])
        return 1
        """)
    static let bumpScript = RedisScript("""
        for i, key in ipairs(KEYS) do
            redis.call('INCR', key)
            redis.call('PEXPIRE', key, ARGV[1])
        end
        return 1
        """)

    /// The shape of the cached JSON: bumped when a product's JSON gains or loses a field, so instances running the
    /// new code never serve an entry the old code rendered (2: `slug`).
    static let shape = "3"

    func productKeys(_ id: UUID) -> (version: String, value: String) {
        ("\(prefix)cache:product:\(id.uuidString.lowercased()):v", "\(prefix)cache:product:\(Self.shape):\(id.uuidString.lowercased()):")
    }

    func listingKeys(_ query: String) -> (version: String, value: String) {
        let digest = Hex.encode(SHA256.hash(Array(query.utf8)).prefix(16))
        return ("\(prefix)cache:listing:v", "\(prefix)cache:listing:\(Self.shape):\(digest):")
    }

    func lookup(_ keys: (version: String, value: String), logger: Logger) async -> Lookup {
        let lookup = await read(keys, logger: logger)
        statistics.count(lookup)
        return lookup
    }

    private func read(_ keys: (version: String, value: String), logger: Logger) async -> Lookup {
        guard isEnabled else { return .unavailable }
        do {
            let reply = try await redis.run(Self.getScript, keys: [keys.version, keys.value], arguments: [], logger: logger).array ?? []
            guard reply.count == 2, let version = reply[0].string else { return .unavailable }
            if case .bulk(let bytes) = reply[1] { return .hit(bytes) }
            return .miss(version: version)
        } catch {
            logger.warning("Catalog cache read failed; serving from PostgreSQL", metadata: ["error": "\(error)"])
            return .unavailable
        }
    }

    func store(_ bytes: [UInt8], _ keys: (version: String, value: String), seen version: String, logger: Logger) async {
        do {
            let millis = Int(ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000)
            try await redis.run(Self.setScript, keys: [keys.version, keys.value], arguments: [version, bytes, millis], logger: logger)
        } catch {
            logger.warning("Catalog cache write failed", metadata: ["error": "\(error)"])
        }
    }

    /// Retires the cached detail of `products` and every cached listing page. Call after the change committed.
    package func invalidate(products: [UUID], logger: Logger) async {
        guard isEnabled else { return }
        let keys = products.map { productKeys($0).version } + [listingKeys("").version]
        do {
            // Versions outlive any value stored under them (a day against seconds).
            try await redis.run(Self.bumpScript, keys: keys, arguments: [86_400_000], logger: logger)
        } catch {
            // The entries then expire by TTL; say so, since an edit may look stale until then.
            logger.warning("Catalog cache invalidation failed; entries expire by TTL", metadata: ["error": "\(error)"])
        }
    }
}
