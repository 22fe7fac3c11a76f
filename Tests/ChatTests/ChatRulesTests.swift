import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
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

/// The unread-chat digest: once per batch of unread messages, only to people away, never when `message` is muted.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ChatDigestTests {
    @Test func awayUsersGetOneDigestPerBatchOfUnreadMessagesUnlessMuted() async throws {
        try await TestApp.withApplication(["AGORA_RATE_LIMITS": "false", "AGORA_MAIL_DISPATCH": "false"]) { app, services in
            try await app.test(.router) { client in
                let api = API(client: client)
                let logger = TestServices.logger
                let alice = try await api.register("digestalice")
                let bob = try await api.register("digestbob")
                let dave = try await api.register("digestdave")
                func send(_ text: String, to user: Grant) async throws {
                    let opened = try await api.call(.post, "/api/conversations", json: ["userId": user.accountID], bearer: alice.accessToken)
                    let id = try #require(opened["id"] as? String, "\(opened.raw)")
                    let sent = try await api.call(.post, "/api/conversations/\(id)/messages", json: ["text": text], bearer: alice.accessToken)
                    try #require(sent.status == .created || sent.status == .ok, "\(sent.raw)")
                }
                func age() async throws {
                    try await services.db.execute("UPDATE messages SET created_at = now() - interval '2 hours'", logger: logger)
                }
                func digests(to username: String) async throws -> [String] {
                    try await services.db.query(
                        "SELECT subject FROM mail_outbox WHERE to_address = \(username + "@example.com") AND subject LIKE '%unread%' ORDER BY created_at",
                        logger: logger
                    ).map { try $0.decode("subject") }
                }

                try await send("Is the lamp still available?", to: bob)
                try await send("I can collect today", to: bob)
                // Not yet: the messages have not waited an hour.
                #expect(try await services.chatDigest.round(logger: logger) == 0)
                try await age()
                // Dave was seen a minute ago: not away.
                try await send("Hello Dave", to: dave)
                try await age()
                try await services.db.execute(
                    "INSERT INTO presence (user_id, last_seen) VALUES (\(try #require(UUID(uuidString: dave.accountID))), now() - interval '1 minute')",
                    logger: logger)
                #expect(try await services.chatDigest.round(logger: logger) == 1)
                #expect(try await digests(to: "digestbob") == ["2 unread messages on Agora"])
                #expect(try await digests(to: "digestdave").isEmpty)
                // Nothing new: nothing sent, on this instance or any other.
                #expect(try await services.chatDigest.round(logger: logger) == 0)

                try await send("Still there?", to: bob)
                try await age()
                #expect(try await services.chatDigest.round(logger: logger) == 1)
                #expect(try await digests(to: "digestbob") == ["2 unread messages on Agora", "3 unread messages on Agora"])

                // Muting message notifications mutes the digest.
                try await services.db.execute(
                    "INSERT INTO notification_mutes (user_id, kind) VALUES (\(try #require(UUID(uuidString: bob.accountID))), 'message')", logger: logger)
                try await send("Last call", to: bob)
                try await age()
                _ = try await services.chatDigest.round(logger: logger)
                #expect(try await digests(to: "digestbob").count == 2)
            }
        }
    }
}
