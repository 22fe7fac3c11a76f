import AgoraApp
import AgoraTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// Every log line of the app, at trace level (SQL included), kept for inspection.
final class CapturedLogs: Sendable {
    let lines = Mutex<[String]>([])

    struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let all = metadata.merging(extra ?? [:]) { _, new in new }
            sink.lines.withLock { $0.append("\(level) \(message) \(all)") }
        }
    }

    var logger: Logger { Logger(label: "agora.test.captured") { _ in Handler(sink: self) } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SecretsInLogsTests {
    @Test func digitalItemsNeverReachTheLogs() async throws {
        let logs = CapturedLogs()
        try await TestApp.withApplication(Shop.overrides, logger: logs.logger) { app, services in
            try await app.test(.router) { client in
                let shop = Shop(market: Market(api: API(client: client), services: services))
                let seller = try await shop.market.seller("logseller")
                let buyer = try await shop.buyer("logbuyer")
                let product = try await shop.product(seller, ["title": "Secret code", "type": "credential"], items: ["user-7 / pw-LOGCANARY-1", "user-8 / pw-LOGCANARY-2"])
                let order = try await shop.order(product, 2, as: buyer)
                try await shop.pay(order, as: buyer)
                let shown = try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
                #expect(shown.raw.contains("LOGCANARY-1") && shown.raw.contains("LOGCANARY-2"), "the buyer sees the items")
            }
        }
        let text = logs.text
        #expect(text.contains("SQL"), "trace logging was on, so the test looked at SQL logs too")
        #expect(text.contains("Payment event"))
        #expect(!text.contains("LOGCANARY"))
    }
}
