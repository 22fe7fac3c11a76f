import Accounts
import AgoraApp
import AgoraCore
import AgoraRedis
import AgoraTestSupport
import AgoraWebSocket
import Foundation
import HTTPTypes
import NIOCore
import Testing

/// A socket is part of its session: whatever ends the session closes its sockets on every instance, with 4401.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SessionSocketTests {
    /// Opens `/ws` on `node` with a Bearer token (or a ticket) and reads `hello`.
    static func open(_ node: Node, token: String? = nil, ticket: String? = nil) async throws -> RawSocket {
        let socket = try await RawSocket.connect(port: node.port)
        var headers = ["Origin: \(API.origin)"]
        if let token { headers.append("Authorization: Bearer \(token)") }
        let answer = try await socket.handshake(path: "/ws" + (ticket.map { "?ticket=\($0)" } ?? ""), headers: headers)
        try #require(answer.status == 101, "upgrade: \(answer.status) \(answer.body)")
        let hello = try #require(try await socket.readFrame(timeout: .seconds(10)))
        #expect(String(buffer: hello.payload).contains("\"hello\""))
        return socket
    }

    /// Asserts that `socket` is closed by the server with `SessionSignals.closeCode` within `limit`.
    static func expectSessionClose(_ socket: RawSocket, within limit: Duration, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let start = ContinuousClock.now
        let closed = try await socket.readUntilClose(timeout: limit)
        let elapsed = ContinuousClock.now - start
        #expect(closed?.code == SessionSignals.closeCode, "\(what): closed with \(String(describing: closed?.code))", sourceLocation: sourceLocation)
        #expect(elapsed <= limit, "\(what): took \(elapsed)", sourceLocation: sourceLocation)
    }

    @Test func aLogoutClosesTheSessionsSocketsOnEveryInstanceAndNoOther() async throws {
        try await Cluster.with(2) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let user = try await a.api.register("sockowner")
            let other = try #require(try Grant(try await a.api.login("sockowner@example.com")))
            let onA = try await Self.open(a, token: user.accessToken)
            let ticket = try #require(try await b.api.call(.post, "/api/realtime/ticket", bearer: user.accessToken)["ticket"] as? String)
            let onB = try await Self.open(b, ticket: ticket)
            let otherSession = try await Self.open(b, token: other.accessToken)
            // A ticket issued before the logout is worthless after it.
            let lateTicket = try #require(try await a.api.call(.post, "/api/realtime/ticket", bearer: user.accessToken)["ticket"] as? String)

            #expect(try await a.api.call(.post, "/api/auth/logout", bearer: user.accessToken).status == .noContent)
            try await Self.expectSessionClose(onA, within: .seconds(1), "same instance")
            try await Self.expectSessionClose(onB, within: .seconds(1), "other instance (ticket)")
            // The account's other session is untouched: it still gets pings answered.
            try await otherSession.send(clientFrame(0x1, text: "{\"type\":\"ping\",\"id\":\"p\"}"))
            let ack = try #require(try await otherSession.readFrame())
            #expect(String(buffer: ack.payload).contains("\"ack\""))

            let late = try await RawSocket.connect(port: b.port)
            let refused = try await late.handshake(path: "/ws?ticket=\(lateTicket)", headers: ["Origin: \(API.origin)"])
            #expect(refused.status == 401 && refused.body.contains("session_revoked"), "\(refused.status) \(refused.body)")
        }
    }

    @Test func logoutEverywhereAndAPasswordChangeCloseEverySocketOfTheAccount() async throws {
        try await Cluster.with(2) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let user = try await a.api.register("manysocks")
            let second = try Grant(try await b.api.login("manysocks@example.com"))
            let sockets = [try await Self.open(a, token: user.accessToken), try await Self.open(b, token: second.accessToken)]
            #expect(try await b.api.call(.post, "/api/auth/logout-all", bearer: second.accessToken).status == .noContent)
            for socket in sockets { try await Self.expectSessionClose(socket, within: .seconds(1), "logout-all") }

            let fresh = try Grant(try await a.api.login("manysocks@example.com"))
            let socket = try await Self.open(b, token: fresh.accessToken)
            let changed = try await a.api.call(
                .post, "/api/me/password", json: ["currentPassword": "correct horse battery", "newPassword": "a much newer password"],
                bearer: fresh.accessToken
            )
            #expect(changed.status == .noContent, "\(changed.raw)")
            try await Self.expectSessionClose(socket, within: .seconds(1), "password change")
            // And the closed session cannot send anything: a new socket with its token is refused.
            let retry = try await RawSocket.connect(port: a.port)
            let answer = try await retry.handshake(path: "/ws", headers: ["Origin: \(API.origin)", "Authorization: Bearer \(fresh.accessToken)"])
            #expect(answer.status == 401)
        }
    }

    @Test func aRoleChangeClosesTheAccountsSockets() async throws {
        try await Cluster.with(1) { nodes in
            let node = nodes[0]
            let user = try await node.api.register("promoted")
            let socket = try await Self.open(node, token: user.accessToken)
            let config = try AgoraConfig(environment: node.environment.merging(["AGORA_BCRYPT_COST": "4"]) { $1 })
            _ = try await setAccountRole(
                config: config, db: node.services.db, redis: node.services.redis, username: "promoted", role: .admin, logger: TestServices.logger
            )
            try await Self.expectSessionClose(socket, within: .seconds(1), "role change")
        }
    }

    /// A suspension ends every session of the account at once, on every instance; the account cannot log in or
    /// refresh, its listings are hidden, and it all comes back when the suspension is lifted.
    @Test func aSuspensionClosesEverySocketLocksTheAccountOutAndHidesItsListings() async throws {
        try await Cluster.with(2, ["AGORA_RATE_LIMITS": "false"]) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let market = Market(api: b.api, services: b.services)
            let admin = try await market.admin("suspendroot")
            let seller = try await Market(api: a.api, services: a.services).seller("suspended")
            let product = try #require(try await Market(api: a.api, services: a.services).product(seller, ["title": "Lamp"])["id"] as? String)
            let second = try Grant(try await b.api.login("suspended@example.com"))
            let sockets = [try await Self.open(a, token: seller.accessToken), try await Self.open(b, token: second.accessToken)]

            let path = "/api/admin/users/\(seller.accountID)"
            #expect(try await b.api.call(.post, "\(path)/suspend", json: ["reason": "x"], bearer: second.accessToken).status == .forbidden)
            #expect(try await b.api.call(.post, "\(path)/suspend", json: [:], bearer: admin.accessToken).status == .unprocessableContent)
            #expect(try await b.api.call(.post, "/api/admin/users/\(admin.accountID)/suspend", json: ["reason": "x"], bearer: admin.accessToken).status == .conflict)
            let suspended = try await b.api.call(.post, "\(path)/suspend", json: ["reason": "Selling counterfeits"], bearer: admin.accessToken)
            #expect(suspended.status == .ok && suspended["suspensionReason"] as? String == "Selling counterfeits", "\(suspended.raw)")
            for socket in sockets { try await Self.expectSessionClose(socket, within: .seconds(1), "suspension") }

            // Locked out: tokens, refresh and login; the listing is hidden from everyone else.
            #expect(try await a.api.call(.get, "/api/me", bearer: seller.accessToken).status == .unauthorized)
            let refresh = try await a.api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": seller.refreshToken], headers: [.origin: API.origin])
            #expect(refresh.status == .unauthorized, "\(refresh.raw)")
            // A session that slipped through (Redis unreachable at the suspension) ends at its first refresh.
            let slipped = try await a.services.auth.sessions.create(
                account: try #require(UUID(uuidString: seller.accountID)), device: "test", ip: nil, logger: TestServices.logger)
            let refused = try await a.api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": slipped.refreshToken], headers: [.origin: API.origin])
            #expect(refused.status == .forbidden && refused.code == "account_suspended", "\(refused.raw)")
            #expect(try await a.services.auth.sessions.liveSessions([slipped.session], logger: TestServices.logger).isEmpty)
            let login = try await a.api.login("suspended@example.com")
            #expect(login.status == .forbidden && login.code == "account_suspended", "\(login.raw)")
            let wrong = try await a.api.login("suspended@example.com", "not the password at all")
            #expect(wrong.status == .unauthorized, "a suspension is told only to someone who knows the password")
            #expect(try await a.api.call(.get, "/api/products/\(product)").status == .notFound)
            #expect(try await b.api.call(.post, "\(path)/suspend", json: ["reason": "again"], bearer: admin.accessToken).status == .conflict)
            let listed = try await b.api.call(.get, "/api/admin/users?suspended=true", bearer: admin.accessToken)
            #expect((listed["items"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["suspended"])

            // Lifted: login works and the listing is back.
            let lifted = try await b.api.call(.post, "\(path)/unsuspend", json: ["reason": "Appeal accepted"], bearer: admin.accessToken)
            #expect(lifted.status == .ok && lifted["suspendedAt"] == nil, "\(lifted.raw)")
            #expect(try await a.api.login("suspended@example.com").status == .ok)
            #expect(try await a.api.call(.get, "/api/products/\(product)").status == .ok)
            let log = try await b.api.call(.get, "/api/admin/audit?targetType=account", bearer: admin.accessToken)
            #expect((log["items"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == ["account.unsuspended", "account.suspended"])
        }
    }

    @Test func aSocketClosesWhenItsSessionExpiresWithoutAnySignal() async throws {
        try await Cluster.with(1, ["AGORA_WS_RESYNC_SECONDS": "1"]) { nodes in
            let node = nodes[0]
            let user = try await node.api.register("expiring")
            let socket = try await Self.open(node, token: user.accessToken)
            let account = try #require(UUID(uuidString: user.accountID))
            let session = try #require(try await node.services.auth.sessions.sessions(of: account, current: nil, logger: TestServices.logger).first?.id)
            // The key expiring in Redis publishes nothing: the hub's periodic check must notice on its own.
            let prefix = try #require(node.environment["AGORA_REDIS_PREFIX"])
            try await node.services.redis.send("DEL", prefix + "sess:" + session, logger: TestServices.logger)
            try await Self.expectSessionClose(socket, within: .seconds(5), "expiry")
        }
    }
}
