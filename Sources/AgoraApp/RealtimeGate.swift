import Accounts
import AgoraCore
import AgoraWebSocket
import Catalog
import Foundation
import HTTPTypes
import Logging
import NIOCore
import Realtime

/// Who may open `/ws`, decided before the `101`: an allowed `Origin` (a foreign one is refused always, a missing
/// one only passes with a ticket or Bearer token, which a foreign page cannot make a browser send), then a one-time
/// ticket (`?ticket=`), the access cookie, or `Authorization: Bearer`.
struct RealtimeGate: Sendable {
    struct Accepted: Sendable {
        var identity: Identity
        /// `?resume=N`: the last sequence the client processed.
        var resume: Int64?
        /// The socket's place under the per-account and per-address caps.
        var claim: SocketClaims.Claim?
    }

    let auth: AuthService
    let origins: OriginPolicy
    let hub: RealtimeHub
    /// Take the client address from `X-Forwarded-For` (`AGORA_TRUST_PROXY`), as `ClientIPMiddleware` does.
    let trustProxy: Bool

    func decide(_ head: RequestHead, channel: any Channel, logger: Logger) async -> WebSocketUpgradeDecision<Accepted> {
        let ip = (trustProxy ? ClientIPMiddleware.client(forwardedFor: head.values("X-Forwarded-For").last) : nil)
            ?? channel.remoteAddress?.ipAddress
        switch await authenticate(head, logger: logger) {
        case .refuse(let status, let message, let body, let contentType):
            return .refuse(status, message: message, body: body, contentType: contentType)
        case .accept(var accepted):
            do {
                guard let claim = try await hub.claimSocket(user: accepted.identity.accountID, ip: ip, logger: logger) else {
                    logger.info("WebSocket upgrade refused: too many sockets", metadata: ["ip": "\(ip ?? "-")"])
                    return Self.refuse(.tooManyRequests, code: "too_many_sockets", "Too many live connections for this account or address; close one")
                }
                accepted.claim = claim
                return .accept(accepted)
            } catch {
                logger.warning("WebSocket socket cap unavailable", metadata: ["error": "\(error)"])
                return Self.refuse(.serviceUnavailable, code: "unavailable", "Cannot open a live connection right now; retry")
            }
        }
    }

    private func authenticate(_ head: RequestHead, logger: Logger) async -> WebSocketUpgradeDecision<Accepted> {
        let origin = head.values("Origin").first
        if let origin, !origins.allows(origin: origin) {
            logger.info("WebSocket upgrade refused: foreign origin", metadata: ["origin": "\(origin.prefix(100))"])
            return Self.refuse(.forbidden, code: "origin_not_allowed", "This socket only serves the Agora app's own origins")
        }
        let query = Self.query(head.query ?? "")
        var resume: Int64?
        if let raw = query["resume"] {
            guard let value = Int64(raw), value >= 0 else { return Self.refuse(.badRequest, code: "bad_resume", "resume must be a sequence number") }
            resume = value
        }
        do {
            if let ticket = query["ticket"] {
                guard let identity = try await auth.tickets.redeem(ticket, logger: logger) else {
                    return Self.refuse(.unauthorized, code: "ticket_invalid", "The ticket is unknown, used or expired; ask for a new one")
                }
                // A ticket lives 30 s; the session it was issued for may have ended since.
                guard try await auth.sessions.touch(session: identity.sessionID, account: identity.accountID, logger: logger) else {
                    return Self.refuse(.unauthorized, code: "session_revoked", "The session has ended; log in again")
                }
                return .accept(Accepted(identity: identity, resume: resume))
            }
            let bearer = head.values("Authorization").first.flatMap { value -> String? in
                let parts = value.split(separator: " ", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : nil
            }
            let (token, transport): (String?, Identity.Transport) = bearer.map { ($0, .bearer) } ?? (head.cookies[AuthCookies.access], .cookie)
            guard let token else { return Self.refuse(.unauthorized, code: "unauthenticated", "Log in first, or pass a ticket") }
            if transport == .cookie, origin == nil {
                return Self.refuse(.forbidden, code: "origin_required", "A cookie-authenticated socket must come from the Agora app")
            }
            switch try await auth.identity(accessToken: token, transport: transport, logger: logger) {
            case .success(let identity): return .accept(Accepted(identity: identity, resume: resume))
            case .failure(.expired): return Self.refuse(.unauthorized, code: "token_expired", "The access token has expired; refresh it")
            case .failure: return Self.refuse(.unauthorized, code: "unauthenticated", "The access token is not valid")
            }
        } catch {
            logger.warning("WebSocket authentication failed", metadata: ["error": "\(error)"])
            return Self.refuse(.serviceUnavailable, code: "unavailable", "Cannot check who you are right now; retry")
        }
    }

    static func refuse(_ status: HTTPResponse.Status, code: String, _ message: String) -> WebSocketUpgradeDecision<Accepted> {
        // The one error shape of every response (ErrorBody), so clients read a refused upgrade like any other error.
        let body = ErrorBody(
            statusCode: status.code, error: status.reasonPhrase, code: code, message: message, path: "/ws",
            timestamp: Date.now.formatted(.iso8601), requestId: UUID().uuidString.lowercased(), fields: nil
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes: [UInt8] = (try? encoder.encode(body)).map { Array($0) } ?? Array(message.utf8)
        return .refuse(status, message: message, body: ByteBuffer(bytes: bytes), contentType: "application/json")
    }

    static func query(_ query: String) -> [String: String] {
        var values: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if parts.count == 2, values[parts[0]] == nil { values[parts[0]] = parts[1] }
        }
        return values
    }
}

/// `product:<id>` is open to whoever may see the product; nothing else can be followed yet.
struct CatalogTopics: TopicAuthorizer {
    let products: ProductService

    func mayFollow(_ topic: String, identity: Identity, logger: Logger) async throws -> Bool {
        guard topic.hasPrefix("product:"), let id = UUID(uuidString: String(topic.dropFirst("product:".count))) else { return false }
        do {
            _ = try await products.rendered(id, viewer: identity, logger: logger)
            return true
        } catch let error as AgoraError where error.kind == .notFound {
            return false
        }
    }
}
