// swift-tools-version:6.2
import PackageDescription

// The settings Hummingbird itself builds with: explicit `any`, imports that say what they expose.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// The products of other packages that modules name, so that each module below is declared in a line or two.
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let hummingbirdCore: Target.Dependency = .product(name: "HummingbirdCore", package: "hummingbird")
let hummingbirdTesting: Target.Dependency = .product(name: "HummingbirdTesting", package: "hummingbird")
let bcrypt: Target.Dependency = .product(name: "HummingbirdBcrypt", package: "hummingbird-auth")
let httpTypes: Target.Dependency = .product(name: "HTTPTypes", package: "swift-http-types")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")
let nioEmbedded: Target.Dependency = .product(name: "NIOEmbedded", package: "swift-nio")
let nioHTTPTypes: Target.Dependency = .product(name: "NIOHTTPTypes", package: "swift-nio-extras")
let nioHTTPTypesHTTP1: Target.Dependency = .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let nioTLS: Target.Dependency = .product(name: "NIOTLS", package: "swift-nio")
let asyncHTTPClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

/// A library module of `Sources/`. Its layer (infrastructure, domain, …) is kept by scripts/check-boundaries.sh.
func module(_ name: String, _ dependencies: [Target.Dependency], resources: [Resource]? = nil) -> Target {
    .target(name: name, dependencies: dependencies, resources: resources, swiftSettings: swiftSettings)
}

/// A binary of `Sources/` (or `Fuzz/`, given its path).
func binary(_ name: String, _ dependencies: [Target.Dependency], path: String? = nil) -> Target {
    .executableTarget(name: name, dependencies: dependencies, path: path, swiftSettings: swiftSettings)
}

/// The test target of `Tests/<name>`.
func tests(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .testTarget(name: name, dependencies: dependencies, swiftSettings: swiftSettings)
}

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
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        // epoll and eventfd (Linux headers, no library): the poller thread of the libpq and hiredis pools.
        .systemLibrary(name: "CEpoll"),

        // MARK: Ground: errors, money, ids, settings parsing, the ports domains talk through
        module("AgoraCore", [hummingbird, httpTypes, nioCore, logging]),

        // MARK: Infrastructure: no domain knowledge
        module("AgoraPool", ["CEpoll", logging, nioCore, nioPosix, lifecycle]),
        module("AgoraPostgres", ["CLibPQ", "AgoraCrypto", "AgoraPool", logging, nioCore, nioPosix, lifecycle]),
        module("AgoraRedis", ["CHiredis", "AgoraPool", "AgoraCrypto", logging, nioCore, nioPosix, lifecycle]),
        module("AgoraCrypto", ["COpenSSL"]),
        module("AgoraMail", ["AgoraCore", "AgoraPostgres", "AgoraCrypto", "AgoraNet", logging, nioPosix, lifecycle]),
        // Outbound HTTPS (the payment providers' APIs) on SwiftNIO: AsyncHTTPClient and NIOSSL.
        module("AgoraNet", [asyncHTTPClient, nioCore, nioHTTP1, nioPosix, nioSSL, nioTLS]),
        module("AgoraWebSocket", ["AgoraCrypto", "CZlib", hummingbirdCore, httpTypes, nioHTTPTypes, logging, nioCore, nioPosix]),
        module("AgoraMedia", ["AgoraCore", "AgoraCrypto", "AgoraNet", "CVips", hummingbird, httpTypes, nioCore, nioPosix]),

        // MARK: Shared by the domains: the event outbox, the admin audit log
        module("AgoraEvents", ["AgoraCore", "AgoraPostgres", logging]),
        module("AgoraAudit", ["AgoraCore", "AgoraPostgres", logging]),

        // MARK: Domains, each owning its tables (scripts/boundaries.allow)
        // Web Push: subscriptions, payload encryption, VAPID and the dispatcher; like AgoraMail, the infrastructure of a port.
        module("AgoraPush", ["AgoraCore", "AgoraCrypto", "AgoraPostgres", "AgoraNet", hummingbird, httpTypes, logging, lifecycle]),
        module("Accounts", ["AgoraCore", "AgoraPostgres", "AgoraRedis", "AgoraCrypto", "AgoraMedia", "AgoraNet", bcrypt, hummingbird, httpTypes, nioCore, nioPosix, logging]),
        module("Catalog", ["AgoraCore", "AgoraEvents", "AgoraPostgres", "AgoraRedis", "AgoraCrypto", "AgoraMedia", hummingbird, httpTypes, logging, lifecycle]),
        module("Social", ["AgoraCore", "AgoraEvents", "AgoraPostgres", "Catalog", hummingbird, logging]),
        // Cart, checkout, payments, orders, digital inventory, reviews, payouts.
        module("Commerce", ["AgoraCore", "AgoraCrypto", "AgoraPostgres", "AgoraEvents", "AgoraAudit", "AgoraNet", "AgoraMedia", hummingbird, httpTypes, logging, nioCore, lifecycle]),
        // The hub of local sockets, the Redis bus between instances, durable per-user streams.
        module("Realtime", ["AgoraCore", "AgoraPostgres", "AgoraRedis", "AgoraWebSocket", logging, nioCore, lifecycle]),
        module("Notifications", ["AgoraCore", "AgoraPostgres", "AgoraEvents", "Realtime", hummingbird, logging, lifecycle]),
        module("Chat", ["AgoraCore", "AgoraPostgres", "Catalog", "Realtime", "Notifications", hummingbird, logging]),
        // Reports of listings, users and messages, and their resolutions.
        module("Moderation", ["AgoraCore", "AgoraPostgres", logging]),

        // MARK: Composition
        // The operator's half: dashboards, orders and refunds, payouts, moderation and the audit log, put together from
        // the domains' services.
        module("Admin", ["AgoraCore", "AgoraAudit", "AgoraPostgres", "Accounts", "Catalog", "Commerce", "Chat", "Moderation", hummingbird, httpTypes, logging]),
        module(
            "AgoraApp",
            [
                "AgoraCore", "AgoraPostgres", "AgoraRedis", "AgoraCrypto", "AgoraPool", "AgoraMail", "AgoraPush", "Accounts", "AgoraEvents", "AgoraAudit",
                "Catalog", "Social", "AgoraMedia", "AgoraNet", "Commerce", "Admin", "Realtime", "Chat", "Notifications", "Moderation", "AgoraWebSocket",
                nioCore, nioHTTP1, hummingbird, httpTypes, logging, metrics, prometheus, lifecycle,
            ],
            resources: [.copy("Migrations")]
        ),

        // MARK: Binaries, demo data, benchmarks, fuzzers
        // The demo seed and what draws its pictures (PNG encoder, deflate, pixels, a bitmap font): not the server's.
        module("AgoraDemo", ["AgoraApp", "Accounts", "AgoraCore", "AgoraCrypto", "AgoraMedia", "AgoraPostgres", "Catalog", "Commerce", "Social", logging]),
        binary("AgoraServer", ["AgoraApp", "AgoraDemo", "AgoraPostgres", "AgoraRedis", "AgoraWebSocket", "Accounts", "AgoraCore", nioCore, argumentParser, hummingbird, logging]),
        binary("AgoraBench", ["AgoraPostgres", "AgoraRedis", "AgoraWebSocket", "AgoraMedia", "AgoraDemo", "AgoraNet", "Commerce", nioCore, nioPosix, argumentParser, logging]),
        // Replays a corpus through the frame parser; built with -D FUZZING -sanitize=fuzzer it is a libFuzzer target
        // (scripts/fuzz.sh).
        binary("FrameParserFuzz", ["AgoraWebSocket", nioCore], path: "Fuzz/FrameParserFuzz"),
        // The HTTP edge (NIO's request decoder, then Agora's JSON and text rules and the real input types) under the
        // same scheme (scripts/fuzz.sh); its corpus is Fuzz/corpus-http.
        binary(
            "HTTPEdgeFuzz",
            ["AgoraCore", "Accounts", "Catalog", hummingbirdCore, httpTypes, nioCore, nioEmbedded, nioHTTP1, nioHTTPTypes, nioHTTPTypesHTTP1],
            path: "Fuzz/HTTPEdgeFuzz"
        ),

        // MARK: Tests
        .target(
            name: "AgoraTestSupport",
            dependencies: [
                "AgoraApp", "AgoraPostgres", "AgoraRedis", "Accounts", "AgoraCore", "AgoraWebSocket", "Realtime", "AgoraNet",
                nioCore, nioPosix, hummingbird, hummingbirdTesting, httpTypes, logging,
            ],
            path: "Tests/AgoraTestSupport",
            swiftSettings: swiftSettings
        ),
        tests("AgoraCoreTests", ["AgoraCore", hummingbird]),
        tests("AgoraPoolTests", ["AgoraPool", logging, nioPosix, lifecycle]),
        tests("AgoraPostgresTests", ["AgoraPostgres", "AgoraTestSupport"]),
        tests("AgoraRedisTests", ["AgoraRedis", "AgoraTestSupport"]),
        tests("AgoraCryptoTests", ["AgoraCrypto"]),
        tests("AgoraNetTests", ["AgoraNet", "AgoraTestSupport"]),
        tests("AgoraPushTests", ["AgoraPush", "AgoraCrypto", "AgoraCore"]),
        tests("AgoraMailTests", ["AgoraMail", "AgoraApp", "AgoraPostgres", "AgoraTestSupport", logging, nioPosix]),
        tests(
            "AgoraWebSocketTests",
            ["AgoraWebSocket", "AgoraTestSupport", "CZlib", hummingbird, hummingbirdTesting, httpTypes, lifecycle, nioCore, nioPosix, nioEmbedded]
        ),
        tests("AgoraMediaTests", ["AgoraMedia", "AgoraDemo", "AgoraCore", "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes, nioCore, nioPosix]),
        tests(
            "AccountsTests",
            ["Accounts", "AgoraApp", "AgoraCore", "AgoraCrypto", "AgoraMail", "AgoraMedia", "AgoraDemo", "AgoraRedis", "AgoraPostgres", "AgoraTestSupport",
             hummingbird, hummingbirdTesting, httpTypes, logging, nioCore]
        ),
        tests(
            "CatalogTests",
            ["Catalog", "Social", "AgoraEvents", "AgoraMedia", "AgoraDemo", "Accounts", "AgoraApp", "AgoraCore", "AgoraRedis", "AgoraPostgres",
             "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes, logging]
        ),
        tests(
            "CommerceTests",
            ["Commerce", "AgoraNet", "AgoraCore", "AgoraApp", "AgoraPostgres", "AgoraCrypto", "Accounts", "AgoraDemo", "AgoraMedia", "AgoraPush", "AgoraTestSupport",
             hummingbird, hummingbirdTesting, httpTypes, logging, nioCore]
        ),
        tests(
            "RealtimeTests",
            ["Realtime", "Chat", "Notifications", "Commerce", "AgoraCore", "AgoraApp", "AgoraPostgres", "AgoraRedis", "AgoraWebSocket", "Accounts",
             "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes, logging, nioCore, lifecycle]
        ),
        // The domains' own tests; RealtimeTests keeps what crosses instances and the hub's delivery.
        tests("AdminTests", ["AgoraApp", "AgoraPostgres", "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes]),
        tests("AgoraEventsTests", ["AgoraEvents", "AgoraCore", "AgoraApp", "AgoraPostgres", "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes, logging]),
        tests("SocialTests", ["Social", "Catalog", "AgoraEvents", "AgoraCore", "AgoraApp", "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes, logging]),
        tests(
            "ChatTests",
            ["Chat", "Realtime", "AgoraCore", "AgoraApp", "AgoraPostgres", "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes, logging]
        ),
        tests(
            "NotificationsTests",
            ["Notifications", "Realtime", "AgoraCore", "AgoraApp", "AgoraPostgres", "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes,
             logging]
        ),
        tests("AgoraAppTests", ["AgoraApp", "AgoraCore", "Commerce", "AgoraCrypto", "AgoraMail", "AgoraPostgres", "AgoraTestSupport", hummingbird, hummingbirdTesting, httpTypes]),
    ]
)
