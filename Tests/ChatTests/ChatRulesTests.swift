import AgoraApp
import AgoraTestSupport
import Foundation
import HTTPTypes
import Testing

/// Chat's edge cases that once answered 500 or let a client say more than it should.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ChatRulesTests {
    @Test func clientIdTwinsRacingStoreOneMessageAndAReusedClientIdIsAConflict() async throws {
        try await Cluster.with(1) { nodes in
            let node = nodes[0]
            let buyer = try await node.api.register("twinsender")
            _ = try await node.api.register("twinreader")
            let third = try await node.api.register("thirdparty")
            _ = third
            let first = try #require(try await node.api.call(.post, "/api/conversations", json: ["username": "twinreader"], bearer: buyer.accessToken)["id"] as? String)
            let second = try #require(try await node.api.call(.post, "/api/conversations", json: ["username": "thirdparty"], bearer: buyer.accessToken)["id"] as? String)
            // Ten identical sends at once (a client retrying over a flaky network): one message, the same answer each.
            let statuses = try await withThrowingTaskGroup(of: (Int, Int?).self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let sent = try await node.api.call(
                            .post, "/api/conversations/\(first)/messages", json: ["text": "only once", "clientId": "c-1"], bearer: buyer.accessToken
                        )
                        return (Int(sent.status.code), (sent["message"] as? [String: Any])?["id"] as? Int ?? sent["id"] as? Int)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0.0 < 300 }, "\(statuses)")
            #expect(Set(statuses.map(\.1)).count == 1, "\(statuses)")
            let history = try await node.api.call(.get, "/api/conversations/\(first)/messages", bearer: buyer.accessToken)
            #expect((history["items"] as? [Any])?.count == 1)
            // The same clientId in another conversation is not a retry of that message.
            let reused = try await node.api.call(.post, "/api/conversations/\(second)/messages", json: ["text": "other", "clientId": "c-1"], bearer: buyer.accessToken)
            #expect(reused.status == .conflict && reused.code == "client_id_reused", "\(reused.raw)")
        }
    }

    @Test func aReadReceiptCannotRunAheadOfTheConversation() async throws {
        try await Cluster.with(1) { nodes in
            let node = nodes[0]
            let writer = try await node.api.register("aheadwriter")
            let reader = try await node.api.register("aheadreader")
            let conversation = try #require(try await node.api.call(.post, "/api/conversations", json: ["username": "aheadreader"], bearer: writer.accessToken)["id"] as? String)
            let sent = try await node.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "one"], bearer: writer.accessToken)
            try #require(sent.status == .created, "\(sent.raw)")
            let read = try await node.api.call(.post, "/api/conversations/\(conversation)/read", json: ["messageId": 9_000_000_000], bearer: reader.accessToken)
            #expect(read.status == .ok, "\(read.raw)")
            let lastID = try #require((try await node.api.call(.get, "/api/conversations/\(conversation)/messages", bearer: reader.accessToken)["items"] as? [[String: Any]])?.first?["id"] as? Int)
            #expect(read["messageId"] as? Int == lastID)
            // A later message is unread, as it should be.
            _ = try await node.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "two"], bearer: writer.accessToken)
            let shown = try await node.api.call(.get, "/api/conversations/\(conversation)", bearer: reader.accessToken)
            #expect(shown["unread"] as? Int == 1, "\(shown.raw)")
        }
    }
}
