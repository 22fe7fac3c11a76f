// swift-tools-version:6.2
import PackageDescription

// The settings Hummingbird itself builds with: explicit `any`, imports that say what they expose.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "agora",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agora", targets: ["AgoraServer"]),
        .executable(name: "agora-bench", targets: ["AgoraBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // Only for HummingbirdBcrypt (a C bcrypt); the rest of hummingbird-auth is not used.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        // Outbound HTTPS (payment providers' APIs) on SwiftNIO, and its TLS.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: System libraries (module maps only)
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // permessage-deflate (RFC 7692) on the WebSocket: the system zlib, never a hand-written inflater.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // epoll and eventfd (Linux headers, no library): the poller thread of the libpq and hiredis pools.
        .systemLibrary(name: "CEpoll"),

        // MARK: Infrastructure
        .target(
            name: "AgoraPool",
            dependencies: [
                "CEpoll",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgoraPostgres",
            dependencies: [
                "CLibPQ", "AgoraCrypto", "AgoraPool",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgoraRedis",
            dependencies: [
                "CHiredis", "AgoraPool", "AgoraCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "AgoraCrypto", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),
        .target(
            name: "AgoraMail",
            dependencies: [
                "AgoraPostgres", "AgoraCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgoraWebSocket",
            dependencies: [
                "AgoraCrypto", "CZlib",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Replays a corpus through the frame parser; built with -D FUZZING -sanitize=fuzzer it is a libFuzzer target
        // (scripts/fuzz.sh).
        .executableTarget(
            name: "FrameParserFuzz",
            dependencies: ["AgoraWebSocket", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/FrameParserFuzz",
            swiftSettings: swiftSettings
        ),
        // The HTTP edge (NIO's request decoder, then Agora's JSON and text rules and the real input types) under the
        // same scheme (scripts/fuzz.sh); its corpus is Fuzz/corpus-http.
        .executableTarget(
            name: "HTTPEdgeFuzz",
            dependencies: [
                "AgoraCore", "Accounts", "Catalog",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ],
            path: "Fuzz/HTTPEdgeFuzz",
            swiftSettings: swiftSettings
        ),

        // MARK: Shared domain ground
        .target(
            name: "AgoraCore",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Domains
        .target(
            name: "Accounts",
            dependencies: [
                "AgoraCore", "AgoraPostgres", "AgoraRedis", "AgoraCrypto",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "AgoraEvents",
            dependencies: ["AgoraCore", "AgoraPostgres", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Catalog",
            dependencies: [
                "AgoraCore", "AgoraEvents", "AgoraPostgres", "AgoraRedis", "AgoraCrypto", "AgoraMedia",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Social",
            dependencies: [
                "AgoraCore", "AgoraEvents", "AgoraPostgres", "Catalog",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgoraMedia",
            dependencies: [
                "AgoraCore", "AgoraCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Commerce (issue 6): cart, checkout, payments, orders, digital inventory, reviews, payouts.
        .target(
            name: "Commerce",
            dependencies: [
                "AgoraCore", "AgoraCrypto", "AgoraPostgres", "AgoraEvents",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Realtime (issue 7): the hub of local sockets, the Redis bus between instances, durable per-user streams.
        .target(
            name: "Realtime",
            dependencies: [
                "AgoraCore", "AgoraPostgres", "AgoraRedis", "AgoraWebSocket",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Notifications",
            dependencies: [
                "AgoraCore", "AgoraPostgres", "AgoraEvents", "Realtime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Chat",
            dependencies: [
                "AgoraCore", "AgoraPostgres", "Catalog", "Realtime", "Notifications",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The operator's half: dashboards and payouts to settle, put together from the domains' services.
        .target(
            name: "Admin",
            dependencies: [
                "AgoraCore", "Accounts", "Commerce",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Application
        .target(
            name: "AgoraApp",
            dependencies: [
                "AgoraCore", "AgoraPostgres", "AgoraRedis", "AgoraCrypto", "AgoraPool", "AgoraMail", "Accounts",
                "AgoraEvents", "Catalog", "Social", "AgoraMedia", "Commerce", "Admin", "Realtime", "Chat", "Notifications", "AgoraWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "AgoraServer",
            dependencies: [
                "AgoraApp", "AgoraPostgres", "AgoraRedis", "AgoraWebSocket", "Accounts", "AgoraCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "AgoraBench",
            dependencies: [
                "AgoraPostgres", "AgoraRedis", "AgoraWebSocket", "AgoraMedia", "Commerce",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .target(
            name: "AgoraTestSupport",
            dependencies: [
                "AgoraApp", "AgoraPostgres", "AgoraRedis", "Accounts", "AgoraCore", "AgoraWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AgoraTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "AgoraPostgresTests", dependencies: ["AgoraPostgres", "AgoraTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "AgoraRedisTests", dependencies: ["AgoraRedis", "AgoraTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AgoraWebSocketTests",
            dependencies: [
                "AgoraWebSocket", "AgoraTestSupport", "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AccountsTests",
            dependencies: [
                "Accounts", "AgoraApp", "AgoraCore", "AgoraCrypto", "AgoraMail", "AgoraRedis", "AgoraPostgres", "AgoraTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CatalogTests",
            dependencies: [
                "Catalog", "Social", "AgoraEvents", "AgoraMedia", "Accounts", "AgoraApp", "AgoraCore", "AgoraRedis", "AgoraPostgres", "AgoraTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgoraMediaTests",
            dependencies: [
                "AgoraMedia", "AgoraCore", "AgoraTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CommerceTests",
            dependencies: [
                "Commerce", "AgoraCore", "AgoraApp", "AgoraPostgres", "AgoraCrypto", "Accounts", "AgoraTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RealtimeTests",
            dependencies: [
                "Realtime", "Chat", "Notifications", "Commerce", "AgoraCore", "AgoraApp", "AgoraPostgres", "AgoraRedis", "AgoraWebSocket", "Accounts", "AgoraTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "AgoraCryptoTests", dependencies: ["AgoraCrypto"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AgoraMailTests",
            dependencies: [
                "AgoraMail", "AgoraApp", "AgoraPostgres", "AgoraTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgoraCoreTests",
            dependencies: ["AgoraCore", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgoraPoolTests",
            dependencies: [
                "AgoraPool",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgoraAppTests",
            dependencies: [
                "AgoraApp", "AgoraCore", "AgoraMail", "AgoraPostgres", "AgoraTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
