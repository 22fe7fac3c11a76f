package import AgoraCore
package import AgoraWebSocket
package import Logging

/// Where sockets arrive: serves each accepted upgrade as a `RealtimeConnection` on the hub, with the handlers of the
/// client commands the domains add (chat's, for one).
///
/// Built after the hub and the services that publish through it, so the handlers are given here once, at `init`:
/// nothing is registered on a hub that is already running.
package struct RealtimeGateway: Sendable {
    let hub: RealtimeHub
    /// The handler of each command type.
    let commands: [String: any RealtimeCommands]

    /// - Parameter commands: handlers of client commands; two claiming one type is a programming error.
    package init(hub: RealtimeHub, commands: [any RealtimeCommands]) {
        self.hub = hub
        var byType: [String: any RealtimeCommands] = [:]
        for handler in commands {
            for type in handler.commandTypes {
                precondition(byType[type] == nil, "two handlers of socket command \(type)")
                byType[type] = handler
            }
        }
        self.commands = byType
    }

    /// Serves an accepted upgrade: called on the connection's event loop, returns its delegate.
    /// - Parameters:
    ///   - resume: the `resume` query parameter, if the client passed its last sequence there.
    ///   - claim: the socket's claim from `claimSocket`, given back when it closes.
    package func serve(_ peer: WebSocketPeer, identity: Identity, resume: Int64?, claim: SocketClaims.Claim?, logger: Logger) -> any WebSocketDelegate {
        let connection = RealtimeConnection(
            identity: identity, peer: peer, hub: hub, commands: commands, claim: claim, resume: resume, logger: logger
        )
        connection.start()
        return connection
    }
}
