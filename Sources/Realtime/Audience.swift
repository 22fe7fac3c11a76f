import NIOCore

/// The local connections of one user or one topic, kept ready for delivery: grouped by event loop, with the groups
/// built once per change of membership rather than once per message.
///
/// A message to a topic's 10,000 followers then costs one task per event loop (which writes to every follower on
/// that loop, straight into their pipelines) instead of one cross-thread task per follower, and no array is built
/// per message: the snapshot is shared until someone joins or leaves. Held inside the hub's lock.
struct Audience {
    /// The connections on one event loop.
    struct Share {
        let loop: any EventLoop
        let connections: [RealtimeConnection]
    }

    private(set) var members: [ObjectIdentifier: RealtimeConnection] = [:]
    private var snapshot: [Share]?

    var isEmpty: Bool { members.isEmpty }
    var count: Int { members.count }
    var connections: Dictionary<ObjectIdentifier, RealtimeConnection>.Values { members.values }

    /// Adds `connection`; false if it was already a member.
    @discardableResult
    mutating func insert(_ connection: RealtimeConnection) -> Bool {
        guard members.updateValue(connection, forKey: ObjectIdentifier(connection)) == nil else { return false }
        snapshot = nil
        return true
    }

    mutating func remove(_ connection: RealtimeConnection) {
        guard members.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        snapshot = nil
    }

    /// The members grouped by event loop, rebuilt only after a change.
    mutating func shares() -> [Share] {
        if let snapshot { return snapshot }
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, connections: [RealtimeConnection])] = [:]
        for connection in members.values {
            let loop = connection.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].connections.append(connection)
        }
        let built = byLoop.values.map { Share(loop: $0.loop, connections: $0.connections) }
        snapshot = built
        return built
    }
}
