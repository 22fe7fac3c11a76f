package import Accounts
package import Admin
import AgoraAudit
package import AgoraCore
package import AgoraEvents
package import AgoraMail
package import AgoraMedia
import AgoraNet
package import AgoraPool
package import AgoraPostgres
package import AgoraPush
package import AgoraRedis
import AgoraWebSocket
package import Catalog
package import Chat
package import Commerce
import Foundation
package import Hummingbird
package import Logging
import Moderation
import NIOPosix
package import Notifications
package import Realtime
package import Social
import Synchronization

/// The running parts of an Agora process, for the CLI and tests.
package struct AgoraServices: Sendable {
    package let db: PGPool
    package let redis: RedisClient
    package let metrics: AgoraMetrics
    /// The threads of blocking work: bcrypt, file I/O and SMTP, each in a pool of its own.
    package let workers: WorkerPools
    /// Accounts, sessions, access tokens and WebSocket tickets.
    package let auth: AuthService
    /// The email outbox; `mailDispatcher` sends what it holds.
    package let mail: MailOutbox
    package let mailDispatcher: MailDispatcher
    /// Web Push: subscriptions and the dispatcher of `push_outbox`.
    package let pushSubscriptions: PushSubscriptions
    package let pushDispatcher: PushDispatcher
    /// Keeps `user_events` within its retention window.
    package let streamPruner: StreamPruner
    /// The domain-event outbox every domain records into.
    package let events: EventOutbox
    package let categories: CategoryService
    package let products: ProductService
    package let views: ProductViews
    package let follows: FollowService
    /// Uploaded images.
    package let media: any MediaStorage
    /// Carts, checkout, payments, orders, inventory, reviews and payouts.
    package let commerce: CommerceServices
    /// The operator's dashboard, from the domains' figures.
    package let admin: AdminService
    /// The built-in payment provider (always there, so tests and the payment page can use it).
    package let simulatedPayments: SimulatedProvider
    /// This process's sockets and the Redis bus between instances.
    package let realtime: RealtimeHub
    package let stream: UserStream
    package let chat: ChatService
    package let notifications: NotificationService
    package let notificationRelay: NotificationRelay
    /// LISTENs for committed domain events and wakes the relay.
    package let eventListener: PGListener
    package let productUpdates: ProductUpdates
    /// Mails a digest of unread chat to people who have been away.
    package let chatDigest: ChatDigestJob
    package let disputes: DisputeService
    /// Every route the router answers (the WebSocket upgrade at `/ws` is decided before routing, so it is not one).
    package let routes: [RegisteredRoute]
}

/// Builds the application: pools, middleware, routes, static files and start-up migrations.
///
/// The tests call this too, so what they exercise is what `agora serve` runs.
/// - Parameters:
///   - config: every setting, from `AgoraConfig(environment:)`.
///   - logger: the process logger; requests log through children of it that carry their request id.
///   - metrics: where request and pool metrics go.
package func buildApplication(
    config: AgoraConfig,
    logger: Logger,
    metrics: AgoraMetrics = AgoraMetrics()
) throws -> (app: some ApplicationProtocol, services: AgoraServices) {
    let db = PGPool(configuration: config.postgres, logger: logger)
    let redis = RedisClient(configuration: config.redis, logger: logger)
    let workers = WorkerPools(config.workerPools)
    let outbox = MailOutbox(db: db)
    let auth = makeAuthService(config: config, db: db, redis: redis, mail: OutboxMailQueue(outbox: outbox), hashing: workers.hashing)
    let migrated = Flag(!config.migrateOnStart)
    // What this instance's background duties did, for /metrics (agora_duty_*).
    let duties = DutyMonitor()
    let dispatcher = MailDispatcher(
        outbox: outbox, transport: makeMailTransport(config.mail, files: workers.files), from: config.mail.from, settings: config.mail.dispatcher, logger: logger,
        isReady: { migrated.isSet }, duties: duties
    )
    let events = EventOutbox(db: db)
    let directory: any AccountDirectory = auth.accounts
    let cache = CatalogCache(redis: redis, prefix: config.redisPrefix, ttl: config.catalog.cacheTTL, isEnabled: config.catalog.cacheTTL > .zero)
    let media: any MediaStorage =
        if let s3 = config.media.s3 {
            try S3MediaStorage(settings: s3)
        } else {
            LocalMediaStorage(directory: URL(fileURLWithPath: config.media.localDirectory), threadPool: workers.files)
        }
    let images = ImageStore(storage: media, pipeline: ImagePipeline(settings: config.images, threadPool: workers.images))
    let products = ProductService(
        db: db, sellers: directory, events: events, cache: cache, images: images,
        settings: .init(
            defaultPageSize: config.catalog.defaultPageSize, maxPageSize: config.catalog.maxPageSize,
            maxImages: config.catalog.maxImagesPerProduct, imageLimits: ImageLimits(maxBytes: config.catalog.maxImageSize)
        )
    )
    let categories = CategoryService(db: db)
    let views = ProductViews(redis: redis, db: db, prefix: config.redisPrefix, window: config.catalog.viewWindow)
    let follows = FollowService(db: db, accounts: directory, products: products, events: events, feedFollowLimit: config.catalog.feedFollowLimit)
    let simulated = SimulatedProvider(db: db, webhookSecret: config.secrets.paymentWebhookSecret, publicURL: config.commerce.publicURL)
    let commerce = CommerceServices(
        db: db, events: events, vault: InventoryVault(key: config.secrets.inventoryKey, previous: config.inventoryPreviousKeys),
        settings: config.commerce,
        providers: PaymentProviders(try makePaymentProviders(config: config, simulated: simulated), checkoutProvider: config.payments.provider),
        contacts: auth.accounts, directory: directory, mailer: OutboxOrderMailer()
    )
    let admin = AdminService(accounts: auth.accounts, orders: commerce.orders)
    // Listed CORS origins may send credentials: they count as ours for the cookie CSRF check too.
    let origins = OriginPolicy(allowedOrigins: config.allowedOrigins + config.corsOrigins)
    let stream = UserStream(db: db)
    let presence = Presence(redis: redis, db: db, prefix: config.redisPrefix, ttl: config.presenceTTL)
    let realtime = try RealtimeHub(
        stream: stream, redis: redis, presence: presence, prefix: config.redisPrefix, settings: config.realtime,
        topicAuthorizer: CatalogTopics(products: products), sessions: auth.sessions, audience: ConversationAudience(db: db, blocks: follows),
        logger: logger
    )
    let notifications = NotificationService(db: db, stream: stream)
    let chat = ChatService(
        db: db, stream: stream, hub: realtime, accounts: directory, products: products, notifications: notifications, blocks: follows,
        settings: config.chat
    )
    let gateway = RealtimeGateway(hub: realtime, commands: [ChatCommands(chat: chat)])
    let productUpdates = ProductUpdates(hub: realtime, interval: config.realtimeCoalesce, logger: logger) { ids in
        try await products.availability(of: ids, logger: logger)
    }
    // Committed domain events wake the relay through LISTEN/NOTIFY; its poll interval is only the safety net.
    let eventWakeup = EventWakeup()
    let schema = config.postgres.searchPath
    let eventListener = PGListener(
        configuration: config.postgres, channel: EventOutbox.notifyChannel, logger: logger,
        onNotification: { payload in if schema == nil || payload == schema { eventWakeup.signal() } },
        // Anything committed while the listener was away is found by the first relay after it listens again.
        onListening: { eventWakeup.signal() }
    )
    let relay = NotificationRelay(
        events: events, notifications: notifications, stream: stream, hub: realtime, accounts: directory, products: productUpdates,
        blocks: follows, interval: config.relayInterval, wakeup: eventWakeup, logger: logger, isReady: { migrated.isSet }, duties: duties
    )
    let cookies = AuthCookies(secure: config.auth.secureCookies, refreshLifetime: config.auth.refreshTokenLifetime)

    let router = AgoraRouter(context: AgoraRequestContext.self)
    // An image upload is one image plus the multipart framing around it.
    let imageUpload = BodyLimit.Upload(
        matches: { $0.method == .post && $0.uri.path.hasPrefix("/api/products/") && $0.uri.path.hasSuffix("/images") },
        limit: config.catalog.maxImageSize + 64 * 1024
    )
    let profileImage = BodyLimit.Upload(
        matches: { $0.method == .put && ($0.uri.path == "/api/me/avatar" || $0.uri.path == "/api/me/banner") },
        limit: config.catalog.maxImageSize + 64 * 1024
    )
    let disputePhoto = BodyLimit.Upload(
        matches: { $0.method == .post && $0.uri.path.hasPrefix("/api/disputes/") && $0.uri.path.hasSuffix("/photos") },
        limit: config.catalog.maxImageSize + 64 * 1024
    )
    let inventoryUpload = BodyLimit.Upload(
        matches: { $0.method == .post && $0.uri.path.hasPrefix("/api/products/") && $0.uri.path.hasSuffix("/inventory") },
        limit: config.inventoryUploadLimit
    )
    router.add(middleware: EdgeMiddleware(
        accessLog: AccessLog(metrics: metrics),
        errors: ErrorRenderer(routes: router.methods),
        bodyLimit: BodyLimit(limit: config.maxBodySize, uploads: [imageUpload, profileImage, disputePhoto, inventoryUpload]),
        cors: CORSPolicy(origins: config.corsOrigins, maxAge: config.corsMaxAge)
    ))
    if FileManager.default.fileExists(atPath: config.publicDirectory) {
        let files = CachedFileProvider(rootFolder: config.publicDirectory, settings: config.staticFileCache, threadPool: workers.files, logger: logger)
        router.add(middleware: StaticFilesMiddleware(files: FileMiddleware(
            fileProvider: files,
            cacheControl: .init([
                // No build step means no content hashes in file names: revalidate code (cheap with ETags), cache media a day.
                (MediaType(type: .text), [.noCache]),
                (MediaType(type: .application), [.noCache]),
                (MediaType(type: .image), [.public, .maxAge(86_400)]),
                (MediaType(type: .font), [.public, .maxAge(86_400)]),
            ]),
            searchForIndexHtml: true
        )))
    } else {
        logger.warning("Public directory not found; static files are not served", metadata: ["public_dir": "\(config.publicDirectory)"])
    }

    // After static files, so assets skip the token check and the API limits.
    if config.trustProxy { router.add(middleware: ClientIPMiddleware()) }
    router.add(middleware: AuthMiddleware(auth: auth, origins: origins))
    if config.rateLimits.isEnabled {
        router.add(middleware: RateLimitMiddleware(limiter: RedisRateLimiter(redis: redis), prefix: config.redisPrefix, settings: config.rateLimits))
    }

    HealthRoutes(db: db, redis: redis).add(to: router)
    // A WebSocket upgrade is recognised only as the first request of a connection (the sniffer decides before HTTP
    // is set up). One that arrives later on a kept-alive connection, e.g. from a proxy that pools connections,
    // reaches the router: say what is wrong instead of a bare 404.
    router.get("/ws") { request, _ -> Response in
        guard request.headers[.upgrade]?.lowercased().contains("websocket") == true else {
            throw AgoraError(.notFound, code: "not_found", "No such route")
        }
        throw AgoraError(
            .badRequest, code: "upgrade_not_first",
            "A WebSocket upgrade must be the first request on its connection; open a new connection (proxies: do not reuse pooled connections for /ws)")
    }
    MetricsRoutes(metrics: metrics, db: db, redis: redis, cache: cache, duties: duties, instance: "\(ProcessInfo.processInfo.hostName):\(config.port)")
        .add(to: router)
    AuthRoutes(auth: auth, cookies: cookies, origins: origins).add(to: router)
    AccountRoutes(auth: auth, cookies: cookies).add(to: router)
    let oauth = try OAuthLogin(
        providers: config.oauth.providers, accounts: auth.accounts, db: db, redis: redis, prefix: config.redisPrefix,
        publicURL: config.auth.publicURL, stateLifetime: config.oauth.stateLifetime, timeout: config.oauth.timeout
    )
    OAuthRoutes(oauth: oauth, auth: auth, cookies: cookies, origins: origins, secureCookies: config.auth.secureCookies).add(to: router)
    ProfileImageRoutes(images: ProfileImages(db: db, images: images, limits: ImageLimits(maxBytes: config.catalog.maxImageSize))).add(to: router)
    ShopRoutes(accounts: auth.accounts, products: products, orders: commerce.orders).add(to: router)
    SharePages(
        products: products, accounts: auth.accounts, reviews: commerce.reviews, orders: commerce.orders,
        template: ShareHTML.Template.load(publicDirectory: config.publicDirectory) ?? .fallback, publicURL: config.auth.publicURL,
        sitemapPageSize: config.sitemapPageSize
    ).add(to: router)
    CatalogRoutes(products: products, categories: categories, views: views).add(to: router)
    ProductImageRoutes(products: products).add(to: router)
    MediaRoutes(storage: media, redirectAbove: config.media.s3?.redirectAbove ?? 0).add(to: router)
    SocialRoutes(follows: follows, defaultPageSize: config.catalog.defaultPageSize, maxPageSize: config.catalog.maxPageSize).add(to: router)
    CommerceRoutes(commerce: commerce, simulated: simulated).add(to: router)
    let disputes = DisputeService(checkout: commerce.checkout, images: images, imageLimits: ImageLimits(maxBytes: config.catalog.maxImageSize))
    DisputeRoutes(disputes: disputes, settings: config.commerce).add(to: router)
    AdminRoutes(admin: admin, commerce: commerce, disputes: disputes, audit: AuditLog(db: db)).add(to: router)
    ModerationRoutes(
        desk: ModerationDesk(db: db, accounts: auth.accounts, products: products, chat: chat, reports: ReportService(db: db), mailer: commerce.mailer),
        defaultPageSize: config.commerce.defaultPageSize, maxPageSize: config.commerce.maxPageSize
    ).add(to: router)
    ChatRoutes(chat: chat).add(to: router)
    let vapid = VAPID(key: config.secrets.vapidKey, subject: config.vapidSubject.isEmpty ? config.auth.publicURL : config.vapidSubject)
    let pushSubscriptions = PushSubscriptions(db: db, settings: config.push)
    PushRoutes(subscriptions: pushSubscriptions, vapid: vapid).add(to: router)
    let streamPruner = StreamPruner(db: db, settings: config.streamRetention, logger: logger, isReady: { migrated.isSet }, duties: duties)
    let sessionStore = auth.sessions
    // Queued pushes wake the dispatcher through LISTEN/NOTIFY (migration 0019); AGORA_PUSH_DISPATCH_MS is the safety net.
    let pushWakeup = EventWakeup()
    let pushListener = PGListener(
        configuration: config.postgres, channel: PushDispatcher.notifyChannel, logger: logger,
        onNotification: { payload in if schema == nil || payload == schema { pushWakeup.signal() } }, onListening: { pushWakeup.signal() }
    )
    let pushDispatcher = PushDispatcher(
        db: db, vapid: vapid, settings: config.push, logger: logger, isReady: { migrated.isSet },
        isOnline: { users, logger in
            // When presence cannot be read, the push goes: a duplicate beats a silent miss.
            (try? await presence.isOnline(users, logger: logger)) ?? users.map { _ in false }
        },
        liveSessions: { sessions, logger in try? await sessionStore.liveSessions(sessions, logger: logger) },
        waitForWork: { await pushWakeup.wait(upTo: $0) }, duties: duties
    )
    PresenceRoutes(presence: presence, chat: chat).add(to: router)
    NotificationRoutes(notifications: notifications, defaultPageSize: config.catalog.defaultPageSize, maxPageSize: config.catalog.maxPageSize)
        .add(to: router)

    let gate = RealtimeGate(auth: auth, origins: origins, hub: realtime, trustProxy: config.trustProxy)
    var app = Application(
        router: router,
        server: .http1WebSocket(
            webSocket: config.webSocket,
            shouldUpgrade: { head, channel, logger in
                guard migrated.isSet else { return RealtimeGate.refuse(.serviceUnavailable, code: "starting", "The server is starting; retry") }
                return await gate.decide(head, channel: channel, logger: logger)
            },
            serve: { peer, accepted, logger in
                gateway.serve(peer, identity: accepted.identity, resume: accepted.resume, claim: accepted.claim, logger: logger)
            }
        ),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "agora"),
        logger: logger
    )
    // First, so it stops last: a service group stops its services in the reverse order, and the others use the threads.
    app.addServices(workers)
    app.addServices(db, redis, realtime)
    if config.mail.isDispatcherEnabled { app.addServices(dispatcher) }
    if config.push.isDispatcherEnabled { app.addServices(pushListener, pushDispatcher) }
    app.addServices(streamPruner)
    app.addServices(CommerceSweeper(commerce: commerce, logger: logger, isReady: { migrated.isSet }, duties: duties))
    if let url = config.commerce.solana.rpcURL {
        let rpc = try SolanaRPC(url: url, caFile: config.commerce.solana.caFile, timeout: config.commerce.solana.rpcTimeout)
        app.addServices(SolanaPayWatcher(commerce: commerce, rpc: rpc, logger: logger, isReady: { migrated.isSet }, duties: duties))
    }
    app.addServices(ProductViewFlusher(
        views: views, interval: config.catalog.viewFlushInterval, logger: logger, isReady: { migrated.isSet },
        totals: { await productUpdates.views($0) }, duties: duties
    ))
    app.addServices(eventListener, relay)
    let chatDigest = ChatDigestJob(
        chat: chat, presence: presence, db: db, mailer: commerce.mailer, after: config.chatDigestAfter, interval: .seconds(60),
        publicURL: config.commerce.publicURL, logger: logger, isReady: { migrated.isSet }, duties: duties
    )
    if config.chatDigestAfter > .zero { app.addServices(chatDigest) }
    if config.migrateOnStart {
        app.beforeServerStarts {
            let applied = try await PGMigrator(pool: db).migrate(try Migrations.all(), logger: logger)
            if !applied.isEmpty { logger.info("Migrations applied", metadata: ["versions": "\(applied)"]) }
            migrated.set()
        }
    }
    let services = AgoraServices(
        db: db, redis: redis, metrics: metrics, workers: workers, auth: auth, mail: outbox, mailDispatcher: dispatcher, pushSubscriptions: pushSubscriptions, pushDispatcher: pushDispatcher, streamPruner: streamPruner, events: events,
        categories: categories, products: products, views: views, follows: follows, media: media, commerce: commerce, admin: admin,
        simulatedPayments: simulated, realtime: realtime, stream: stream, chat: chat,
        notifications: notifications, notificationRelay: relay, eventListener: eventListener, productUpdates: productUpdates,
        chatDigest: chatDigest, disputes: disputes, routes: router.routes
    )
    return (app, services)
}

/// A flag one task sets and others poll: "migrations are applied".
final class Flag: Sendable {
    private let value: Atomic<Bool>
    init(_ initial: Bool) { value = Atomic(initial) }
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// The providers checkouts and webhooks can use: always the simulated one (its page and webhook answer only for
/// orders made with it), and Stripe when configured.
func makePaymentProviders(config: AgoraConfig, simulated: SimulatedProvider) throws -> [any PaymentProvider] {
    var providers: [any PaymentProvider] = [simulated]
    if config.commerce.solana.isEnabled { providers.append(SolanaPayProvider()) }
    if let key = config.payments.stripeSecretKey, let secret = config.payments.stripeWebhookSecret {
        do {
            providers.append(try StripeProvider(secretKey: key, webhookSecret: secret, apiBaseURL: config.payments.stripeAPIBase, caFile: config.payments.stripeCAFile))
        } catch {
            throw ConfigError(problems: ["\(error.kind == .tls ? "AGORA_STRIPE_CA_FILE" : "AGORA_STRIPE_API_BASE"): \(error.message)"])
        }
    }
    return providers
}

/// SMTP, or the development mailbox folder; either blocks, on `threadPool`.
func makeMailTransport(_ settings: MailSettings, files: NIOThreadPool) -> any MailTransport {
    switch settings.transport {
    case .smtp: SMTPTransport(settings: settings.smtp)
    case .mailbox: MailboxTransport(directory: URL(fileURLWithPath: settings.mailboxDirectory), threadPool: files)
    }
}

/// The accounts domain, from configuration.
/// - Parameter hashing: where bcrypt runs; a pool of its own, so that logins never wait behind blocking I/O.
func makeAuthService(config: AgoraConfig, db: PGPool, redis: RedisClient, mail: any MailQueue, hashing: NIOThreadPool) -> AuthService {
    let sessions = SessionStore(redis: redis, prefix: config.redisPrefix, refreshLifetime: config.auth.refreshTokenLifetime)
    let accounts = AccountsService(
        db: db,
        hasher: PasswordHasher(cost: UInt8(config.auth.bcryptCost), threadPool: hashing),
        mail: mail,
        sessions: sessions,
        settings: .init(
            publicURL: config.auth.publicURL,
            verificationLifetime: config.auth.verificationLinkLifetime,
            resetLifetime: config.auth.resetLinkLifetime
        )
    )
    let limits = AuthRateLimits(
        limiter: config.rateLimits.isEnabled ? RedisRateLimiter(redis: redis) : nil,
        prefix: config.redisPrefix,
        limit: config.rateLimits.auth,
        period: config.rateLimits.window
    )
    return AuthService(
        accounts: accounts,
        sessions: sessions,
        tokens: AccessToken(key: config.secrets.jwtSecret, lifetime: config.auth.accessTokenLifetime),
        tickets: RealtimeTickets(redis: redis, prefix: config.redisPrefix),
        limits: limits
    )
}

/// Sets the role of `username` (for `agora set-role`). New access tokens carry it from the next refresh on.
package func setAccountRole(config: AgoraConfig, db: PGPool, redis: RedisClient, username: String, role: Role, logger: Logger) async throws -> Account {
    // A role change hashes nothing: the shared pool is enough for this one-off command.
    let auth = makeAuthService(config: config, db: db, redis: redis, mail: OutboxMailQueue(outbox: MailOutbox(db: db)), hashing: .singleton)
    let account = try await auth.accounts.setRole(username: username, to: role, logger: logger)
    // Access tokens and open sockets carry the role they were issued with: a role change ends every session, so a
    // demoted admin keeps nothing of the role, and everyone's sockets close through `SessionSignals`.
    try await auth.sessions.revokeAll(account: account.id, logger: logger)
    return account
}
