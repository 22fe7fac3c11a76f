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
    /// Each event loop's zlib state for permessage-deflate without context takeover.
    let deflateCodecs: DeflateCodecs.Registry

    /// - Parameter deflateCodecs: shared zlib state to use (clients share one across connections); by default one
    ///   of its own, made from `configuration.compression`.
    init(configuration: WebSocketConfiguration, isClient: Bool, deflateCodecs: DeflateCodecs.Registry? = nil) {
        self.configuration = configuration
        self.isClient = isClient
        let compression = configuration.compression ?? PerMessageDeflateConfiguration()
        self.deflateCodecs = deflateCodecs ?? DeflateCodecs.Registry(level: compression.level, memoryLevel: compression.memoryLevel)
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
