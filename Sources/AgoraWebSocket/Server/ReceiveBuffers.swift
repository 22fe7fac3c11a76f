import NIOCore

/// How big the buffers are that a connection reads into, and how many it keeps.
///
/// NIO keeps each channel's read buffers for reuse, and never shrinks them. With NIO's defaults (up to four reads per
/// wake-up, the first into 2 KiB, growing up to 64 KiB) an idle WebSocket would keep 2 KiB after its handshake, and
/// one whose handshake took two reads, like a browser's with cookies, would keep 2 KiB plus the 32 KiB the allocator
/// grows to. So:
///
/// - while the first request head is read, one read per wake-up into 512 bytes first. With a single read per
///   wake-up the channel keeps one buffer, never a second: while the sniffer still holds the first buffer, further
///   reads go into fresh buffers that are dropped after use;
/// - plain HTTP connections go back to NIO's defaults once they are handed to Hummingbird;
/// - an upgraded connection starts over at 512 bytes, so the buffer it keeps stays 512 bytes while messages are
///   small, and grows at most to 16 KiB (bigger messages arrive over several reads).
enum ReceiveBuffers {
    static let firstRead = 512
    static let largestWebSocketRead = 16 << 10

    /// Before the first request head.
    static func sniffing(_ channel: any Channel) throws {
        try channel.syncOptions?.setOption(.maxMessagesPerRead, value: 1)
        try channel.syncOptions?.setOption(
            .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: firstRead, maximum: 1 << 16))
    }

    /// A plain HTTP connection: NIO's defaults, as Hummingbird has them on its own channels.
    static func http(_ channel: any Channel) throws {
        try channel.syncOptions?.setOption(.maxMessagesPerRead, value: 4)
        try channel.syncOptions?.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator())
    }

    /// An upgraded WebSocket connection.
    static func webSocket(_ channel: any Channel) throws {
        try channel.syncOptions?.setOption(
            .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: firstRead, maximum: largestWebSocketRead))
    }
}
