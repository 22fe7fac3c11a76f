import Accounts
import AgoraCrypto
import AgoraMail
package import AgoraMedia
package import AgoraPool
package import AgoraPostgres
package import AgoraPush
package import AgoraRedis
package import AgoraWebSocket
package import Chat
package import Commerce
import Foundation
package import Logging
import NIOCore
package import Realtime

/// Every setting, read once from the environment at start-up. The only code that reads the environment.
///
/// Each setting has a safe local default (see the README's table); a value that cannot be parsed stops start-up
/// with a message naming the variable.
package struct AgoraConfig: Sendable {
    /// `development` (default) or `production`.
    package enum Mode: String, Sendable { case development, production }

    package var mode: Mode
    package var host: String
    package var port: Int
    package var postgres: PGConfiguration
    package var redis: RedisConfiguration
    package var publicDirectory: String
    /// URLs per page of the sitemap (`AGORA_SITEMAP_PAGE_SIZE`, 5,000; at most 50,000, the protocol's limit).
    package var sitemapPageSize = 5000
    /// The small files of `publicDirectory` held in memory, and how often they are checked against the disk.
    package var staticFileCache: StaticFileCacheSettings
    package var dataDirectory: String
    package var allowedOrigins: [String]
    /// Web clients on other origins that may call the API from a browser (`AGORA_CORS_ORIGINS`, comma-separated; none
    /// by default), and how long a browser may cache a preflight's answer (`AGORA_CORS_MAX_AGE`, seconds, 600).
    package var corsOrigins: [String]
    package var corsMaxAge: Int
    /// Largest request body accepted, in bytes.
    package var maxBodySize: Int
    package var logLevel: Logger.Level
    package var jsonLogs: Bool
    /// Apply pending migrations before the server starts accepting requests.
    package var migrateOnStart: Bool
    package var secrets: Secrets
    /// Keys of earlier rotations of the inventory key, still used to open the items they sealed
    /// (`AGORA_INVENTORY_PREVIOUS_KEYS`, comma-separated).
    package var inventoryPreviousKeys: [[UInt8]]
    /// Largest inventory upload in bytes (`AGORA_INVENTORY_MAX_BYTES`, 2 MiB).
    package var inventoryUploadLimit: Int
    /// Accounts, tokens and cookies.
    package var auth: AuthSettings
    /// Request rate limits, counted in Redis.
    package var rateLimits: RateLimitSettings
    /// Namespace of every Redis key Agora writes (`AGORA_REDIS_PREFIX`).
    package var redisPrefix: String
    /// Take the client address from the last `X-Forwarded-For` entry (behind a reverse proxy that appends it).
    package var trustProxy: Bool
    /// Outgoing mail: the outbox dispatcher and where it sends.
    package var mail: MailSettings
    /// Where uploaded images are kept: this host's folder or a shared bucket.
    package var media: MediaSettings
    /// Login providers (`AGORA_OAUTH_*`): none unless configured.
    package var oauth: OAuthSettings
    /// How uploaded images are cleaned and which thumbnails are made.
    package var images = ImagePipeline.Settings()
    /// Catalog, search, caches, views and the feed.
    package var catalog: CatalogSettings
    /// Carts, checkout, VAT, shipping, fees, reservations, deliveries and inventory limits.
    package var commerce: CommerceSettings
    /// Which provider new checkouts pay with, and Stripe's settings.
    package var payments: PaymentSettings
    /// The socket at `/ws`: frame, message and queue limits, inbound rate, keep-alive.
    package var webSocket: WebSocketConfiguration
    /// Durable delivery: resume pages and waits, resync, topics per connection.
    package var realtime: RealtimeSettings
    /// Message length, page sizes, typing throttle.
    package var chat: ChatService.Settings
    /// How long a chat message waits unread, its recipient away, before a digest mail (`AGORA_CHAT_DIGEST_AFTER_MINUTES`,
    /// 60; 0 turns digests off).
    package var chatDigestAfter: Duration
    /// Web Push: where subscriptions may point, TTL, retries (`AGORA_PUSH_*`), and the VAPID contact
    /// (`AGORA_VAPID_SUBJECT`, `mailto:` or `https:`; the public URL by default).
    package var push = PushSettings()
    /// The retention window of `user_events` (`AGORA_STREAM_RETENTION_DAYS`, `…_EVENTS`, `AGORA_STREAM_PRUNE_MS`, `…_BATCH`).
    package var streamRetention = StreamPruner.Settings()
    package var vapidSubject = ""
    /// How long a presence claim lasts unless renewed (every third of it) (`AGORA_PRESENCE_TTL_SECONDS`).
    package var presenceTTL: Duration
    /// How often the notification relay looks for new domain events when nothing woke it (`AGORA_RELAY_INTERVAL_MS`):
    /// the safety net behind LISTEN/NOTIFY.
    package var relayInterval: Duration
    /// At most one live `product:updated` per product per this interval (`AGORA_PRODUCT_UPDATE_INTERVAL_MS`).
    package var realtimeCoalesce: Duration
    /// Threads of blocking work, a pool per kind: bcrypt (`AGORA_BCRYPT_THREADS`, one per core) and file I/O
    /// (`AGORA_FILE_THREADS`, 4).
    package var workerPools: WorkerPools.Sizes

    /// Reads the configuration from `environment` (usually `ProcessInfo.processInfo.environment`).
    /// - Throws: `ConfigError` listing every variable that is wrong, or every secret missing in production.
    package init(environment env: [String: String]) throws {
        var problems: [String] = []
        func string(_ key: String, _ fallback: String) -> String {
            env[key].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        }
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) -> Int {
            guard let raw = env[key], !raw.isEmpty else { return fallback }
            guard let value = Int(raw), range.contains(value) else {
                problems.append("\(key) must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(raw)'")
                return fallback
            }
            return value
        }
        func bool(_ key: String, _ fallback: Bool) -> Bool {
            switch env[key]?.lowercased() {
            case nil, "": return fallback
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            case let raw?:
                problems.append("\(key) must be true or false, got '\(raw)'")
                return fallback
            }
        }

        let modeName = string("AGORA_ENV", "development")
        if let mode = Mode(rawValue: modeName) {
            self.mode = mode
        } else {
            problems.append("AGORA_ENV must be development or production, got '\(modeName)'")
            self.mode = .development
        }
        host = string("AGORA_HOST", "127.0.0.1")
        port = int("AGORA_PORT", 8080, 0...65535)
        publicDirectory = string("AGORA_PUBLIC_DIR", "Public")
        sitemapPageSize = int("AGORA_SITEMAP_PAGE_SIZE", 5000, 1...50_000)
        staticFileCache = StaticFileCacheSettings(
            maxFileSize: int("AGORA_STATIC_CACHE_MAX_FILE", 1 << 20, 0...(1 << 30)),
            capacity: int("AGORA_STATIC_CACHE_BYTES", 32 << 20, 0...(1 << 34)),
            revalidateAfter: .milliseconds(int("AGORA_STATIC_CACHE_REVALIDATE_MS", 1000, 0...3_600_000))
        )
        dataDirectory = string("AGORA_DATA_DIR", ".local/data")
        allowedOrigins = string("AGORA_ALLOWED_ORIGINS", "http://127.0.0.1:8080,http://localhost:8080")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        corsOrigins = string("AGORA_CORS_ORIGINS", "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if let bad = corsOrigins.first(where: { OriginPolicy.normalize($0) == nil }) {
            problems.append("AGORA_CORS_ORIGINS must list http(s) origins like https://app.example; '\(bad.prefix(60))' is not one")
        }
        corsMaxAge = int("AGORA_CORS_MAX_AGE", 600, 0...86_400)
        maxBodySize = int("AGORA_MAX_BODY_SIZE", 1 << 20, 1024...(1 << 30))
        let levelName = string("AGORA_LOG_LEVEL", "info")
        if let level = Logger.Level(rawValue: levelName) {
            logLevel = level
        } else {
            problems.append("AGORA_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical, got '\(levelName)'")
            logLevel = .info
        }
        let format = string("AGORA_LOG_FORMAT", "text")
        if format != "text" && format != "json" { problems.append("AGORA_LOG_FORMAT must be text or json, got '\(format)'") }
        jsonLogs = format == "json"
        migrateOnStart = bool("AGORA_MIGRATE_ON_START", true)
        workerPools = WorkerPools.Sizes(
            // bcrypt is pure CPU: more threads than cores would only slice the same cores thinner.
            hashing: int("AGORA_BCRYPT_THREADS", System.coreCount, 1...256),
            files: int("AGORA_FILE_THREADS", 4, 1...256),
            // libvips is pure CPU too; one image per thread.
            images: int("AGORA_IMAGE_THREADS", System.coreCount, 1...256)
        )

        let dbPool = int("AGORA_DB_POOL_SIZE", 16, 1...500)
        let dbTimeout = int("AGORA_DB_CHECKOUT_TIMEOUT_MS", 5000, 1...600_000)
        let redisPool = int("AGORA_REDIS_POOL_SIZE", 8, 1...500)
        let prepared = int("AGORA_DB_PREPARED_STATEMENTS", 1000, 0...100_000)
        let pipelineDepth = int("AGORA_DB_PIPELINE_DEPTH", 4, 1...256)
        do {
            postgres = try PGConfiguration(
                url: string("AGORA_DATABASE_URL", "postgres://agora:agora@127.0.0.1:55432/agora?sslmode=disable"),
                poolSize: dbPool,
                checkoutTimeout: .milliseconds(dbTimeout)
            )
            postgres.preparedStatements = prepared
            postgres.pipelineDepth = pipelineDepth
        } catch {
            problems.append("AGORA_DATABASE_URL: \(error.message)")
            postgres = try PGConfiguration(url: "postgres://127.0.0.1/agora")
        }
        do {
            redis = try RedisConfiguration(url: string("AGORA_REDIS_URL", "redis://127.0.0.1:56379/0"), poolSize: redisPool)
        } catch {
            problems.append("AGORA_REDIS_URL: \(error.message)")
            redis = try RedisConfiguration(url: "redis://127.0.0.1")
        }
        do {
            redis.sentinels = try RedisConfiguration.sentinels(parsing: string("AGORA_REDIS_SENTINELS", ""))
        } catch {
            problems.append("AGORA_REDIS_SENTINELS: \(error.message)")
        }
        redis.masterName = string("AGORA_REDIS_MASTER_NAME", "agora")
        redis.sentinelPassword = env["AGORA_REDIS_SENTINEL_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        redis.waitReplicas = int("AGORA_REDIS_WAIT_REPLICAS", 0, 0...16)
        redis.waitTimeout = .milliseconds(int("AGORA_REDIS_WAIT_MS", 200, 1...10_000))
        redisPrefix = string("AGORA_REDIS_PREFIX", "agora:")
        trustProxy = bool("AGORA_TRUST_PROXY", false)
        auth = AuthSettings(
            publicURL: string("AGORA_PUBLIC_URL", "http://localhost:\(port)"),
            bcryptCost: int("AGORA_BCRYPT_COST", 12, 4...31),
            accessTokenLifetime: .seconds(int("AGORA_ACCESS_TOKEN_TTL", 900, 60...86_400)),
            refreshTokenLifetime: .seconds(int("AGORA_REFRESH_TOKEN_TTL", 30 * 86_400, 300...365 * 86_400)),
            verificationLinkLifetime: .seconds(int("AGORA_VERIFY_LINK_TTL", 86_400, 60...30 * 86_400)),
            resetLinkLifetime: .seconds(int("AGORA_RESET_LINK_TTL", 3_600, 60...86_400)),
            secureCookies: bool("AGORA_COOKIE_SECURE", true)
        )
        rateLimits = RateLimitSettings(
            isEnabled: bool("AGORA_RATE_LIMITS", true),
            window: .seconds(int("AGORA_RATE_LIMIT_WINDOW", 60, 1...86_400)),
            auth: int("AGORA_RATE_LIMIT_AUTH", 10, 1...1_000_000),
            general: int("AGORA_RATE_LIMIT_GENERAL", 100, 1...1_000_000),
            payment: int("AGORA_RATE_LIMIT_PAYMENT", 5, 1...1_000_000)
        )
        catalog = CatalogSettings(
            defaultPageSize: int("AGORA_PAGE_SIZE", 24, 1...1000),
            maxPageSize: int("AGORA_PAGE_SIZE_MAX", 100, 1...1000),
            cacheTTL: .milliseconds(int("AGORA_CACHE_TTL_MS", 10_000, 0...3_600_000)),
            viewWindow: .seconds(int("AGORA_VIEW_WINDOW", 3600, 1...86_400 * 7)),
            viewFlushInterval: .milliseconds(int("AGORA_VIEW_FLUSH_INTERVAL_MS", 5000, 10...3_600_000)),
            fuzzyThreshold: int("AGORA_SEARCH_FUZZY_PERCENT", 20, 1...100),
            feedFollowLimit: int("AGORA_FEED_MAX_FOLLOWS", 5000, 1...100_000),
            maxImagesPerProduct: int("AGORA_MAX_IMAGES_PER_PRODUCT", 10, 1...100),
            maxImageSize: int("AGORA_MAX_IMAGE_SIZE", 5 << 20, 1024...(1 << 30))
        )
        if catalog.defaultPageSize > catalog.maxPageSize { problems.append("AGORA_PAGE_SIZE must not exceed AGORA_PAGE_SIZE_MAX") }
        // Typo tolerance: how similar (trigram percent) a catalog word must be to a search word to be a correction
        // candidate. A connection setting, so the trigram index answers `%` with it.
        postgres.serverSettings["pg_trgm.similarity_threshold"] = String(Double(catalog.fuzzyThreshold) / 100)
        // A host that vanishes (cut off the network, not stopped) sends PostgreSQL no close: its backends, with any
        // transaction and row locks they hold, would stay for the kernel's keepalive (two hours). Probing after this
        // many idle seconds lets PostgreSQL end them within about twice that (scripts/cluster-test.sh measures it).
        let keepalive = int("AGORA_DB_TCP_KEEPALIVE_SECONDS", 10, 0...7200)
        if keepalive > 0 {
            postgres.serverSettings["tcp_keepalives_idle"] = String(keepalive)
            postgres.serverSettings["tcp_keepalives_interval"] = String(max(1, keepalive / 2))
            postgres.serverSettings["tcp_keepalives_count"] = "3"
            // And for a connection with data in flight, which keepalives do not probe: unacknowledged for this long.
            postgres.serverSettings["tcp_user_timeout"] = String(keepalive * 3000)
        }
        var commerce = CommerceSettings(
            reservationTTL: .seconds(int("AGORA_RESERVATION_TTL", 900, 10...86_400)),
            pricesIncludeVAT: bool("AGORA_PRICES_INCLUDE_VAT", true),
            platformFeeBP: int("AGORA_PLATFORM_FEE_BP", 1000, 0...10_000),
            autoCompleteAfter: .seconds(int("AGORA_AUTO_COMPLETE_DAYS", 14, 0...365) * 86_400),
            sweepInterval: .milliseconds(int("AGORA_COMMERCE_SWEEP_MS", 10_000, 10...3_600_000)),
            maxCartItems: int("AGORA_CART_MAX_ITEMS", 50, 1...1000),
            maxQuantity: int("AGORA_CART_MAX_QUANTITY", 100, 1...1000),
            maxInventoryLines: int("AGORA_INVENTORY_MAX_LINES", 10_000, 1...100_000),
            defaultPageSize: catalog.defaultPageSize, maxPageSize: catalog.maxPageSize,
            publicURL: auth.publicURL
        )
        commerce.disputeWindow = .seconds(int("AGORA_DISPUTE_WINDOW_DAYS", 14, 0...365) * 86_400)
        commerce.maxSavedAddresses = int("AGORA_ADDRESS_BOOK_MAX", 10, 1...100)
        if let rates = CommerceSettings.parseRates(string("AGORA_VAT_RATES", "ZAR=15")) { commerce.vatRates = rates } else {
            problems.append("AGORA_VAT_RATES must look like ZAR=15,EUR=21.5 (percent, at most two decimals)")
        }
        if let amounts = CommerceSettings.parseAmounts(string("AGORA_SHIPPING_FLAT", "ZAR=6000")) { commerce.shippingFlat = amounts } else {
            problems.append("AGORA_SHIPPING_FLAT must look like ZAR=6000,USD=500 (minor units)")
        }
        commerce.solana = SolanaPaySettings.read(env: env, string: string, int: int) { problems.append($0) }
        self.commerce = commerce
        inventoryUploadLimit = int("AGORA_INVENTORY_MAX_BYTES", 2 << 20, 1024...(1 << 30))
        let pingSeconds = int("AGORA_WS_PING_SECONDS", 30, 0...3600)
        webSocket = WebSocketConfiguration(
            paths: ["/ws"],
            maxFrameSize: int("AGORA_WS_MAX_FRAME", 64 << 10, 125...(16 << 20)),
            maxMessageSize: int("AGORA_WS_MAX_MESSAGE", 64 << 10, 125...(16 << 20)),
            // Slowloris guard: a connection must complete its first request head (HTTP or an upgrade) within this.
            handshakeTimeout: .seconds(int("AGORA_HEAD_TIMEOUT_SECONDS", 10, 1...3600)),
            pingInterval: pingSeconds == 0 ? nil : .seconds(pingSeconds),
            pongTimeout: .seconds(int("AGORA_WS_PONG_SECONDS", 10, 1...3600)),
            maxQueuedBytes: int("AGORA_WS_MAX_QUEUE", 1 << 20, 4096...(1 << 30)),
            messagesPerSecond: Double(int("AGORA_WS_RATE", 20, 1...100_000)),
            messageBurst: Double(int("AGORA_WS_BURST", 50, 1...100_000)),
            // permessage-deflate: accepted when the browser offers it (all do). No context takeover by default, so a
            // socket owns no zlib state and a topic message is compressed once (README, "WebSocket compression").
            compression: bool("AGORA_WS_COMPRESSION", true)
                ? PerMessageDeflateConfiguration(
                    serverMaxWindowBits: int("AGORA_WS_COMPRESSION_WINDOW_BITS", 15, 9...15),
                    clientMaxWindowBits: int("AGORA_WS_COMPRESSION_CLIENT_WINDOW_BITS", 15, 9...15),
                    serverNoContextTakeover: !bool("AGORA_WS_COMPRESSION_CONTEXT", false),
                    clientNoContextTakeover: !bool("AGORA_WS_COMPRESSION_CLIENT_CONTEXT", false),
                    threshold: int("AGORA_WS_COMPRESSION_THRESHOLD", 128, 0...(16 << 20)),
                    level: int("AGORA_WS_COMPRESSION_LEVEL", 6, 1...9),
                    memoryLevel: int("AGORA_WS_COMPRESSION_MEMORY_LEVEL", 8, 1...9))
                : nil
        )
        realtime = RealtimeSettings(
            resumePageSize: int("AGORA_WS_RESUME_PAGE", 200, 1...10_000),
            resumeWait: .milliseconds(int("AGORA_WS_RESUME_WAIT_MS", 2000, 0...60_000)),
            resyncInterval: .seconds(int("AGORA_WS_RESYNC_SECONDS", 10, 1...3600)),
            maxTopicsPerConnection: int("AGORA_WS_MAX_TOPICS", 100, 1...10_000),
            maxSocketsPerUser: int("AGORA_WS_MAX_PER_USER", 16, 1...10_000),
            maxSocketsPerIP: int("AGORA_WS_MAX_PER_IP", 64, 1...1_000_000),
            maxPendingCommands: int("AGORA_WS_MAX_PENDING", 32, 1...10_000),
            commandLimit: rateLimits.isEnabled ? int("AGORA_WS_COMMAND_LIMIT", 240, 1...1_000_000) : nil,
            commandPeriod: rateLimits.window
        )
        streamRetention = StreamPruner.Settings(
            days: int("AGORA_STREAM_RETENTION_DAYS", 30, 0...3650), perUser: int("AGORA_STREAM_RETENTION_EVENTS", 10_000, 0...100_000_000),
            interval: .milliseconds(int("AGORA_STREAM_PRUNE_MS", 60_000, 100...86_400_000)), batch: int("AGORA_STREAM_PRUNE_BATCH", 5000, 1...1_000_000)
        )
        presenceTTL = .seconds(int("AGORA_PRESENCE_TTL_SECONDS", 30, 3...3600))
        relayInterval = .milliseconds(int("AGORA_RELAY_INTERVAL_MS", 1000, 10...60_000))
        realtimeCoalesce = .milliseconds(int("AGORA_PRODUCT_UPDATE_INTERVAL_MS", 250, 0...60_000))
        chat = ChatService.Settings(
            maxLength: int("AGORA_CHAT_MAX_LENGTH", 4000, 1...100_000),
            defaultPageSize: catalog.defaultPageSize, maxPageSize: catalog.maxPageSize,
            typingInterval: .milliseconds(int("AGORA_CHAT_TYPING_INTERVAL_MS", 2000, 0...60_000))
        )
        chatDigestAfter = .seconds(int("AGORA_CHAT_DIGEST_AFTER_MINUTES", 60, 0...10_080) * 60)
        if let hosts = env["AGORA_PUSH_HOSTS"], !hosts.isEmpty {
            push.allowedHosts = hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        }
        push.allowHTTP = bool("AGORA_PUSH_ALLOW_HTTP", false)
        push.maxSubscriptionsPerAccount = int("AGORA_PUSH_MAX_SUBSCRIPTIONS", 10, 1...100)
        push.ttl = int("AGORA_PUSH_TTL", 86_400, 0...2_419_200)
        push.maxAttempts = int("AGORA_PUSH_MAX_ATTEMPTS", 8, 1...50)
        push.interval = .milliseconds(int("AGORA_PUSH_DISPATCH_MS", 5000, 10...60_000))
        push.batchSize = int("AGORA_PUSH_BATCH", 50, 1...1000)
        push.isDispatcherEnabled = bool("AGORA_PUSH_DISPATCH", true)
        push.timeout = .milliseconds(int("AGORA_PUSH_TIMEOUT_MS", 10_000, 100...120_000))
        vapidSubject = string("AGORA_VAPID_SUBJECT", "")
        payments = PaymentSettings(
            provider: string("AGORA_PAYMENT_PROVIDER", "simulated"),
            stripeSecretKey: env["AGORA_STRIPE_SECRET_KEY"].flatMap { $0.isEmpty ? nil : $0 },
            stripeWebhookSecret: env["AGORA_STRIPE_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 },
            stripeAPIBase: string("AGORA_STRIPE_API_BASE", "https://api.stripe.com"),
            stripeCAFile: env["AGORA_STRIPE_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        )
        switch payments.provider {
        case "simulated":
            if mode == .production { problems.append("AGORA_PAYMENT_PROVIDER=simulated takes no money; production needs stripe") }
        case "stripe":
            if payments.stripeSecretKey == nil { problems.append("AGORA_STRIPE_SECRET_KEY is required with AGORA_PAYMENT_PROVIDER=stripe") }
            if payments.stripeWebhookSecret == nil { problems.append("AGORA_STRIPE_WEBHOOK_SECRET is required with AGORA_PAYMENT_PROVIDER=stripe") }
        default:
            problems.append("AGORA_PAYMENT_PROVIDER must be simulated or stripe, got '\(payments.provider)'")
        }
        inventoryPreviousKeys = []
        for (index, raw) in string("AGORA_INVENTORY_PREVIOUS_KEYS", "").split(separator: ",").enumerated() {
            let text = raw.trimmingCharacters(in: .whitespaces)
            if let key = Base64.decode(text) ?? Hex.decode(text), key.count == 32 { inventoryPreviousKeys.append(key) } else {
                problems.append("AGORA_INVENTORY_PREVIOUS_KEYS entry \(index + 1) must be 32 bytes, as base64 or hex")
            }
        }
        mail = MailSettings.read(env: env, mode: mode, dataDirectory: dataDirectory, string: string, int: int, bool: bool) { problems.append($0) }
        let widths = string("AGORA_IMAGE_THUMBNAIL_WIDTHS", "320,960").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let thumbnailWidths = widths.compactMap { Int($0) }.filter { (16...4096).contains($0) }
        if thumbnailWidths.count != widths.count || Set(thumbnailWidths).count != widths.count || widths.count > 8 {
            problems.append("AGORA_IMAGE_THUMBNAIL_WIDTHS must list at most 8 different widths of 16-4096 pixels, like 320,960")
        }
        images = ImagePipeline.Settings(thumbnailWidths: thumbnailWidths.sorted(), quality: int("AGORA_IMAGE_QUALITY", 85, 1...100))
        media = MediaSettings.read(
            env: env, dataDirectory: dataDirectory, maxImageSize: catalog.maxImageSize, string: string, int: int, bool: bool
        ) { problems.append($0) }
        oauth = OAuthSettings.read(env: env, string: string, int: int) { problems.append($0) }
        guard problems.isEmpty else { throw ConfigError(problems: problems) }
        secrets = try Secrets(environment: env, mode: mode, dataDirectory: dataDirectory)
    }

    /// What the configuration points at, safe to log: no passwords, no secrets.
    package var summary: Logger.Metadata {
        [
            "mode": "\(mode.rawValue)", "listen": "\(host):\(port)", "database": "\(postgres.redacted)",
            "db_pool": "\(postgres.poolSize)", "redis": "\(redis.redacted)", "public_dir": "\(publicDirectory)",
            "max_body_size": "\(maxBodySize)", "bcrypt_cost": "\(auth.bcryptCost)",
            "threads": "bcrypt \(workerPools.hashing), files \(workerPools.files), images \(workerPools.images)",
            "rate_limits": "\(rateLimits.isEnabled ? "\(rateLimits.auth)/\(rateLimits.general)/\(rateLimits.payment) per \(rateLimits.window)" : "off")",
            "mail": "\(mail.summary)", "media": "\(media.summary)", "oauth": "\(oauth.summary)", "solana_pay": "\(commerce.solana.summary)",
        ]
    }
}

/// Configuration that cannot be used; every problem is listed.
package struct ConfigError: Error, CustomStringConvertible {
    package var problems: [String]
    package var description: String { "Invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
}

/// Settings of accounts and sessions.
package struct AuthSettings: Sendable {
    /// Where the app is reached, for links in mails (`AGORA_PUBLIC_URL`).
    package var publicURL: String
    /// bcrypt's cost (`AGORA_BCRYPT_COST`, 12; tests use 4).
    package var bcryptCost: Int
    /// Lifetime of access tokens (`AGORA_ACCESS_TOKEN_TTL` seconds, 900).
    package var accessTokenLifetime: Duration
    /// Lifetime of refresh tokens, renewed on each refresh (`AGORA_REFRESH_TOKEN_TTL` seconds, 30 days).
    package var refreshTokenLifetime: Duration
    /// Lifetime of email verification links (`AGORA_VERIFY_LINK_TTL` seconds, a day).
    package var verificationLinkLifetime: Duration
    /// Lifetime of password reset links (`AGORA_RESET_LINK_TTL` seconds, an hour).
    package var resetLinkLifetime: Duration
    /// Mark session cookies `Secure` (`AGORA_COOKIE_SECURE`, true). Browsers accept Secure cookies from
    /// http://localhost, so only a plain-HTTP deployment on another host needs this off.
    package var secureCookies: Bool
}

/// The payment provider of new checkouts and Stripe's credentials.
package struct PaymentSettings: Sendable {
    /// `simulated` (default; refused in production) or `stripe` (`AGORA_PAYMENT_PROVIDER`).
    package var provider: String
    /// `AGORA_STRIPE_SECRET_KEY` (`sk_…`) and `AGORA_STRIPE_WEBHOOK_SECRET` (`whsec_…`); secrets, never logged.
    package var stripeSecretKey: String?
    package var stripeWebhookSecret: String?
    /// `AGORA_STRIPE_API_BASE` (https://api.stripe.com) and `AGORA_STRIPE_CA_FILE` (the system trust store when unset).
    package var stripeAPIBase: String
    package var stripeCAFile: String?
}

/// Settings of the catalog and the social graph.
package struct CatalogSettings: Sendable {
    /// Listing page size when a request names none (`AGORA_PAGE_SIZE`, 24).
    package var defaultPageSize: Int
    /// The largest `limit` a listing accepts (`AGORA_PAGE_SIZE_MAX`, 100).
    package var maxPageSize: Int
    /// Lifetime of cached product details and first listing pages (`AGORA_CACHE_TTL_MS`, 10 s; 0 turns caching
    /// off). Edits invalidate at once; like and view counts lag by at most this.
    package var cacheTTL: Duration
    /// A viewer counts once per product in this window (`AGORA_VIEW_WINDOW` seconds, an hour).
    package var viewWindow: Duration
    /// How often view counts move from Redis to PostgreSQL (`AGORA_VIEW_FLUSH_INTERVAL_MS`, 5 s).
    package var viewFlushInterval: Duration
    /// Trigram similarity, in percent, a catalog word needs to be considered as the correction of a mistyped search
    /// word (`AGORA_SEARCH_FUZZY_PERCENT`, 20); the edit distance then decides.
    package var fuzzyThreshold: Int
    /// The feed reads the products of at most this many followed accounts, most recently followed first
    /// (`AGORA_FEED_MAX_FOLLOWS`, 5000).
    package var feedFollowLimit: Int
    /// Images per product (`AGORA_MAX_IMAGES_PER_PRODUCT`, 10).
    package var maxImagesPerProduct: Int
    /// Largest image upload in bytes (`AGORA_MAX_IMAGE_SIZE`, 5 MiB).
    package var maxImageSize: Int
}

/// Rate limits per window (`AGORA_RATE_LIMIT_WINDOW` seconds, 60).
package struct RateLimitSettings: Sendable {
    /// `AGORA_RATE_LIMITS` (true); off only for benchmarks.
    package var isEnabled: Bool
    package var window: Duration
    /// Login, registration, verification, reset and password-change attempts per IP and per account
    /// (`AGORA_RATE_LIMIT_AUTH`, 10).
    package var auth: Int
    /// API requests per user, or per IP when anonymous (`AGORA_RATE_LIMIT_GENERAL`, 100).
    package var general: Int
    /// Payment requests (checkout) per user (`AGORA_RATE_LIMIT_PAYMENT`, 5).
    package var payment: Int
}
