// swift-tools-version:6.2
import PackageDescription

// The yardstick for Agora's HTTP request path: a Hummingbird app with nothing but the route, built with the same
// Hummingbird as Agora, so `scripts/bench-http.sh` can say what our middleware chain and handlers cost on top.
// Its own package so that nothing of Agora's (settings, middleware, services) leaks into it.
let package = Package(
    name: "hummingbird-bare",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .executableTarget(name: "BareHummingbird", dependencies: [.product(name: "Hummingbird", package: "hummingbird")]),
    ]
)
