package import Foundation
package import Hummingbird
import NIOCore

/// The request context of every Agora route.
package struct AgoraRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The body size limit for this request; `EdgeMiddleware` sets it from `AGORA_MAX_BODY_SIZE` (`BodyLimit`).
    package var maxUploadSize: Int
    /// The peer's IP address (the TCP peer, or the forwarded client when `AGORA_TRUST_PROXY` is on); `nil` when
    /// unknown, e.g. in router tests.
    ///
    /// The peer's address is formatted only when something asks (rate limits, logins, product views): most
    /// requests never do, and `inet_ntop` plus a string on every request showed in the profile of `GET /health`.
    package var clientIP: String? {
        get {
            switch client {
            case .peer(let address): address?.ipAddress
            case .set(let ip): ip
            }
        }
        set { client = .set(newValue) }
    }
    private var client: ClientAddress
    /// The authenticated caller; set by `AuthMiddleware`, `nil` when anonymous.
    package var identity: Identity?
    /// Set when credentials were presented but refused, so `requireIdentity()` can say why.
    package var authFailure: AuthFailure?
    /// JSON with `TextPolicy` applied at the edge (a NUL anywhere is a 422 naming the field).
    package var requestDecoder: AgoraJSONDecoder { AgoraJSONDecoder() }
    /// `AgoraJSON.encoder`, the one configuration shared with the realtime socket (and made once, not per response).
    package var responseEncoder: JSONEncoder { AgoraJSON.encoder }

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 1 << 20
        self.client = .peer(source.channel.remoteAddress)
        self.identity = nil
        self.authFailure = nil
    }

    /// The caller, or a 401 saying why there is none.
    package func requireIdentity() throws(AgoraError) -> Identity {
        if let identity { return identity }
        throw authFailure?.error ?? AgoraError(.unauthorized, code: "authentication_required", "Log in to do this")
    }

    /// The caller if their role is at least `role`; else 401 (anonymous) or 403.
    package func requireRole(_ role: Role) throws(AgoraError) -> Identity {
        let identity = try requireIdentity()
        guard identity.role >= role else { throw AgoraError(.forbidden, code: "role_required", "This needs the \(role.rawValue) role") }
        return identity
    }
}

/// Where `AgoraRequestContext.clientIP` comes from.
private enum ClientAddress: Sendable {
    /// The TCP peer, formatted when asked.
    case peer(SocketAddress?)
    /// Set by a middleware (the forwarded client) or a test.
    case set(String?)
}

extension AgoraRequestContext {
    /// The UUID in route parameter `name`; a missing or malformed one is a 404, as for any unknown resource.
    package func uuidParameter(_ name: String = "id") throws(AgoraError) -> UUID {
        guard let id = parameters.get(name).flatMap(UUID.init(uuidString:)) else {
            throw AgoraError(.notFound, code: "not_found", "No such resource")
        }
        return id
    }
}
