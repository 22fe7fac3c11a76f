public import NIOCore
import Synchronization

/// A set of connections that receive the same messages. A message is encoded into one frame once (and compressed
/// once per permessage-deflate window among members without context takeover), and the same bytes (one
/// reference-counted buffer) are written to every member: no per-member encoding, no task per send.
public final class BroadcastGroup: Sendable {
    private let members = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// An empty group.
    public init() {}

    /// Adds a connection; it leaves by itself when it closes.
    public func join(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        members.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in self?.members.withLock { _ = $0.removeValue(forKey: id) } }
    }

    /// The number of members.
    public var count: Int { members.withLock { $0.count } }

    /// Sends a text message to every member.
    public func broadcast(text: String) {
        broadcast(PreparedMessage(text: text))
    }

    /// Sends a prepared message to every member: see `broadcast(_:)` for how.
    public func broadcast(_ message: PreparedMessage) {
        broadcast(outbound: .prepared(message))
    }

    /// Writes one encoded, unmasked frame to every member, as it is (never compressed).
    public func broadcast(frame: ByteBuffer) {
        broadcast(outbound: .encodedFrame(frame))
    }

    /// Writes the same outbound message to every member.
    ///
    /// Members are grouped by event loop and each loop gets one task that writes to all of its members: a write
    /// made on a channel's own loop goes straight into its pipeline, where one made from elsewhere would cost a
    /// task hop per member. The flush is a second task, queued behind whatever the loop already has to do, so
    /// broadcasts made back to back leave in one write per connection instead of one system call per message per
    /// connection; a lone broadcast is flushed as soon as the loop gets to it.
    private func broadcast(outbound: WebSocketOutbound) {
        let byLoop = members.withLock { members in
            Dictionary(grouping: members.values, by: { ObjectIdentifier($0.eventLoop) })
        }
        for channels in byLoop.values {
            guard let loop = channels.first?.eventLoop else { continue }
            loop.execute {
                for channel in channels { channel.write(outbound, promise: nil) }
                loop.execute {
                    for channel in channels { channel.flush() }
                }
            }
        }
    }
}
