// swift-tools-version:6.2
import PackageDescription

// The Swift peer for Agora's PostgreSQL layer: postgres-nio (pure Swift on SwiftNIO, its own connection pool)
// running pgbench -S's query, so scripts/bench-foundation.sh can put Agora's libpq pool beside it in one run.
// Its own package so Agora never depends on postgres-nio.
let package = Package(
    name: "postgres-nio-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .executableTarget(name: "PostgresNIOBench", dependencies: [.product(name: "PostgresNIO", package: "postgres-nio")]),
    ]
)
