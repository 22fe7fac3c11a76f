import AgoraTestSupport
import Foundation
import HTTPTypes
import Testing

/// Online and offline across instances, told to conversation partners; hiding; offline message notices.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct PresenceTests {
    /// An instance stopped gracefully (SIGTERM, a rolling deploy) hands its users over at once: someone whose only
    /// socket was there is offline right away, not after the presence TTL (two minutes here). (Whether their partners
    /// hear it depends on the stopping instance's last publish; it is not asserted.)
    @Test func aGracefulShutdownHandsPresenceOverAtOnce() async throws {
        try await Cluster.with(1, ["AGORA_PRESENCE_TTL_SECONDS": "120"]) { nodes in
            let a = nodes[0]
            let b = try await ServerProcess(environment: a.environment)
            let leaving = try await a.api.register("leavingsoon")
            let partner = try await a.api.register("staying")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["userId": partner.accountID], bearer: leaving.accessToken)
            try #require(opened["id"] is String)
            let watcher = try await TestSocket.resuming(port: a.port, token: partner.accessToken, after: 0)
            _ = try await watcher.expect("ack", skipping: ["presence"])
            let socket = try await TestSocket.resuming(port: b.port, token: leaving.accessToken, after: 0)
            _ = try await socket.expect("ack", skipping: ["presence"])
            func online() async throws -> Bool? {
                let status = try await a.api.call(.get, "/api/presence?users=\(leaving.accountID)", bearer: partner.accessToken)
                return (status["items"] as? [[String: Any]])?.first?["online"] as? Bool
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while try await online() != true, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(try await online() == true)

            try await b.stop()
            #expect(try await online() == false, "offline as soon as the instance has stopped, not after the TTL")
            _ = (socket, watcher)
        }
    }

    @Test func partnersHearWhoComesAndGoesOnAnyInstance() async throws {
        try await Cluster.with(2) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let buyer = try await a.api.register("comesgoes")
            let seller = try await b.api.register("watcher")
            let opened = try await a.api.call(.post, "/api/conversations", json: ["userId": seller.accountID], bearer: buyer.accessToken)
            let conversation = try #require(opened["id"] as? String)

            let watcher = try await TestSocket.resuming(port: b.port, token: seller.accessToken, after: 0)
            _ = try await watcher.expect("ack")
            let status = try await a.api.call(.get, "/api/presence?users=\(buyer.accountID),\(seller.accountID)", bearer: buyer.accessToken)
            let items = try #require(status["items"] as? [[String: Any]])
            #expect(items.map { $0["online"] as? Bool } == [false, true])

            let visitor = try await TestSocket.resuming(port: a.port, token: buyer.accessToken, after: 0)
            let up = try await watcher.expect("presence")
            #expect(up.data["online"] as? Bool == true)
            #expect((up.data["userId"] as? String)?.uppercased() == buyer.accountID.uppercased())
            let list = try await b.api.call(.get, "/api/conversations", bearer: seller.accessToken)
            #expect((list["items"] as? [[String: Any]])?.first?["online"] as? Bool == true)

            visitor.close()
            let down = try await watcher.expect("presence")
            #expect(down.data["online"] as? Bool == false)
            #expect(down.data["lastSeen"] as? String != nil)

            // Hidden: no announcement, and offline to everyone.
            #expect(try await a.api.call(.put, "/api/presence", json: ["hidden": true], bearer: buyer.accessToken).status == .ok)
            let hiddenVisitor = try await TestSocket.resuming(port: a.port, token: buyer.accessToken, after: 0)
            _ = try await hiddenVisitor.expect("ack")
            let hidden = try await b.api.call(.get, "/api/presence?users=\(buyer.accountID)", bearer: seller.accessToken)
            #expect((hidden["items"] as? [[String: Any]])?.first?["online"] as? Bool == false)
            #expect((hidden["items"] as? [[String: Any]])?.first?["lastSeen"] is NSNull)

            // A message to someone offline leaves them a notice; to someone online, none.
            watcher.close()
            try await Task.sleep(for: .milliseconds(300))
            _ = try await a.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "are you there?"], bearer: buyer.accessToken)
            let notices = try await b.api.call(.get, "/api/notifications", bearer: seller.accessToken)
            let notice = try #require((notices["items"] as? [[String: Any]])?.first)
            #expect(notice["kind"] as? String == "message")
            #expect((notice["data"] as? [String: Any])?["preview"] as? String == "are you there?")
            _ = try await b.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "yes"], bearer: seller.accessToken)
            let buyerNotices = try await a.api.call(.get, "/api/notifications", bearer: buyer.accessToken)
            #expect((buyerNotices["items"] as? [Any])?.isEmpty == true)
            #expect(try await a.api.call(.get, "/api/presence?users=nope", bearer: buyer.accessToken).status == .unprocessableContent)
        }
    }
}
