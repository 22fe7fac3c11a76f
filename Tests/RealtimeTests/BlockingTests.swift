import AgoraApp
import AgoraTestSupport
import Foundation
import HTTPTypes
import Testing

/// A block cuts every channel between two accounts: follows, conversations, typing, receipts, presence, notices.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct BlockingTests {
    @Test func aBlockedUserCannotFollowMessageTypeReadSeePresenceOrNotify() async throws {
        try await Cluster.with(2, ["AGORA_RELAY_INTERVAL_MS": "50"]) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let market = Market(api: a.api, services: a.services)
            let victim = try await market.seller("victim")
            let stalker = try await b.api.register("stalker")
            let product = try #require(try await market.product(victim)["id"] as? String)
            let other = try #require(try await market.product(victim, ["title": "Another thing"])["id"] as? String)

            // Before the block every channel works: a follow, a conversation, a like that notifies, presence.
            #expect(try await b.api.call(.put, "/api/users/victim/follow", json: [:], bearer: stalker.accessToken).status == .ok)
            let opened = try await b.api.call(.post, "/api/conversations", json: ["username": "victim", "productId": product], bearer: stalker.accessToken)
            let conversation = try #require(opened["id"] as? String, "\(opened.raw)")
            let victimSocket = try await TestSocket.resuming(port: a.port, token: victim.accessToken, after: 0)
            _ = try await victimSocket.expect("ack", skipping: ["presence", "notification:new"])
            let presence = "/api/presence?users=\(victim.accountID)"
            try await waitUntil("the victim shows online to a partner") {
                (try await b.api.call(.get, presence, bearer: stalker.accessToken)["items"] as? [[String: Any]])?.first?["online"] as? Bool == true
            }
            #expect(try await b.api.call(.put, "/api/products/\(product)/like", json: [:], bearer: stalker.accessToken).status.code < 300)
            try await waitUntil("the like notifies the seller") { try await Self.notices(of: victim, kind: "like", on: a) == 1 }

            // The block, from the victim's side: the follow is gone at once.
            #expect(try await a.api.call(.put, "/api/users/stalker/block", json: [:], bearer: victim.accessToken).status == .ok)
            let followState = try await b.api.call(.get, "/api/users/victim/follow", bearer: stalker.accessToken)
            #expect(followState["following"] as? Bool == false && followState["followerCount"] as? Int == 0, "\(followState.raw)")

            // Follows refused both ways.
            let follow = try await b.api.call(.put, "/api/users/victim/follow", json: [:], bearer: stalker.accessToken)
            #expect(follow.status == .forbidden && follow.code == "blocked", "\(follow.raw)")
            #expect(try await a.api.call(.put, "/api/users/stalker/follow", json: [:], bearer: victim.accessToken).status == .forbidden)
            // No new conversation about any product, over HTTP or the socket.
            let newConversation = try await b.api.call(
                .post, "/api/conversations", json: ["username": "victim", "productId": other], bearer: stalker.accessToken
            )
            #expect(newConversation.status == .forbidden && newConversation.code == "blocked", "\(newConversation.raw)")
            let stalkerSocket = try await TestSocket.resuming(port: b.port, token: stalker.accessToken, after: 0)
            _ = try await stalkerSocket.expect("ack", skipping: ["presence"])
            try stalkerSocket.send(["type": "chat:send", "id": "n1", "data": ["to": victim.accountID, "about": other, "text": "hey"]])
            #expect(try await stalkerSocket.expect("error", skipping: ["presence"]).data["code"] as? String == "blocked")
            // No typing and no read receipts.
            try stalkerSocket.send(["type": "chat:typing", "id": "t1", "data": ["conversationId": conversation]])
            let typing = try await stalkerSocket.expect("error", skipping: ["presence"])
            #expect(typing["id"] as? String == "t1" && typing.data["code"] as? String == "blocked", "\(typing)")
            let read = try await b.api.call(.post, "/api/conversations/\(conversation)/read", json: [:], bearer: stalker.accessToken)
            #expect(read.status == .forbidden && read.code == "blocked", "\(read.raw)")
            // No presence: not by asking, not in the conversation list, not by events.
            let asked = try await b.api.call(.get, presence, bearer: stalker.accessToken)
            #expect((asked["items"] as? [[String: Any]])?.first?["online"] as? Bool == false, "\(asked.raw)")
            let list = try await b.api.call(.get, "/api/conversations", bearer: stalker.accessToken)
            #expect(((list["items"] as? [[String: Any]])?.first?["online"] as? Bool) == false, "\(list.raw)")
            // No notices: a like after the block notifies nobody.
            _ = try await b.api.call(.delete, "/api/products/\(product)/like", bearer: stalker.accessToken)
            #expect(try await b.api.call(.put, "/api/products/\(product)/like", json: [:], bearer: stalker.accessToken).status.code < 300)
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await Self.notices(of: victim, kind: "like", on: a) == 1)
            // The victim's socket heard nothing of the stalker's attempts (a ping proves it is alive and caught up).
            try victimSocket.send(["type": "ping", "id": "p"])
            let next = try await victimSocket.expect("ack", skipping: ["presence", "notification:new"])
            #expect(next["id"] as? String == "p")

            // Unblocking restores the channels (but not the removed follow).
            #expect(try await a.api.call(.delete, "/api/users/stalker/block", bearer: victim.accessToken).status == .ok)
            #expect(try await b.api.call(.post, "/api/conversations/\(conversation)/read", json: [:], bearer: stalker.accessToken).status == .ok)
            #expect(try await b.api.call(.get, "/api/users/victim/follow", bearer: stalker.accessToken)["following"] as? Bool == false)
            victimSocket.close()
            stalkerSocket.close()
        }
    }

    static func notices(of user: Grant, kind: String, on node: Node) async throws -> Int {
        let list = try await node.api.call(.get, "/api/notifications", bearer: user.accessToken)
        return (list["items"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == kind }.count
    }

    func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting until \(what)")
    }
}
