import NIOCore

/// What every connection of one server shares: its configuration and the timers as `TimeAmount`s.
///
/// A connection holds a reference to this rather than its own copy of `WebSocketConfiguration` (some 150 bytes,
/// multiplied by every idle connection).
final class WebSocketSettings: Sendable {
    let configuration: WebSocketConfiguration
    let isClient: Bool
    let pingInterval: TimeAmount?
    let pongTimeout: TimeAmount
    let closeTimeout: TimeAmount

    init(configuration: WebSocketConfiguration, isClient: Bool) {
        self.configuration = configuration
        self.isClient = isClient
        self.pingInterval = configuration.pingInterval.map(TimeAmount.init)
        self.pongTimeout = TimeAmount(configuration.pongTimeout)
        self.closeTimeout = TimeAmount(configuration.closeTimeout)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
