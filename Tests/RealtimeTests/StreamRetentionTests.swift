import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Realtime
import Testing

/// Bounded streams: `user_events` is pruned to its window (events per user, days), and a client that resumes from
/// before the window is told `reset` (its views reload) before the events the stream still keeps, never a silent gap.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct StreamRetentionTests {
    @Test func aStreamFilledPastItsWindowIsPrunedAndAResumeFromBeforeItIsToldReset() async throws {
        let window = ["AGORA_STREAM_RETENTION_EVENTS": "5", "AGORA_STREAM_RETENTION_DAYS": "30", "AGORA_STREAM_PRUNE_MS": "3600000"]
        try await Cluster.with(1, window) { nodes in
            let node = nodes[0]
            let sender = try await node.api.register("chatty")
            let reader = try await node.api.register("away_reader")
            let opened = try await node.api.call(.post, "/api/conversations", json: ["userId": reader.accountID], bearer: sender.accessToken)
            let conversation = try #require(opened["id"] as? String)
            for index in 1...12 {
                let sent = try await node.api.call(.post, "/api/conversations/\(conversation)/messages", json: ["text": "message \(index)", "clientId": "c\(index)"],
                                                   bearer: sender.accessToken)
                try #require(sent.status == .created || sent.status == .ok, "\(sent.raw)")
            }
            let readerID = try #require(UUID(uuidString: reader.accountID))
            func stream() async throws -> (head: Int64, pruned: Int64, kept: Int) {
                let row = try await node.services.db.query(
                    """
                    SELECT s.last_seq, s.pruned_seq, (SELECT count(*)::int FROM user_events e WHERE e.user_id = s.user_id) AS kept
                    FROM user_streams s WHERE s.user_id = \(readerID)
                    """,
                    logger: TestServices.logger
                ).one()
                return (try row.decode("last_seq"), try row.decode("pruned_seq"), try row.decode("kept"))
            }
            let before = try await stream()
            #expect(before.head >= 12 && before.pruned == 0 && before.kept == Int(before.head))

            // One round keeps the newest five events of each user and moves the watermark.
            var deleted = 0
            while true {
                let batch = try await node.services.streamPruner.pruneOnce()
                deleted += batch
                if batch == 0 { break }
            }
            let after = try await stream()
            #expect(after.kept == 5 && after.pruned == after.head - 5)
            #expect(deleted >= Int(before.head) - 5)
            // The messages themselves stay: only their stream entries went.
            let history = try await node.api.call(.get, "/api/conversations/\(conversation)/messages?limit=50", bearer: reader.accessToken)
            #expect((history["items"] as? [Any])?.count == 12)

            // Resuming from before the window: reset, then exactly the kept events.
            let socket = try await TestSocket.connect(port: node.port, token: reader.accessToken, query: "?resume=1")
            let reset = try await socket.expect("reset", skipping: ["presence"])
            #expect(reset.data["from"] as? Int == 1 && reset.data["through"] as? Int == Int(after.pruned))
            // Then every kept event (messages and their notices), each once and in order (TestSocket checks the order).
            var seqs: [Int] = []
            while seqs.last != Int(after.head) {
                let message = try #require(try await socket.next(), "closed")
                if let seq = message["seq"] as? Int { seqs.append(seq) }
            }
            #expect(seqs == Array(Int(after.pruned) + 1...Int(after.head)))

            // Within the window: no reset, the next event is the one after the position.
            let current = try await TestSocket.connect(port: node.port, token: reader.accessToken, query: "?resume=\(after.head - 2)")
            current.resumed(from: after.head - 2)
            var first: [String: Any]?
            while first == nil {
                let message = try #require(try await current.next(), "closed")
                #expect(message["type"] as? String != "reset")
                if message["seq"] != nil { first = message }
            }
            #expect(first?["seq"] as? Int == Int(after.head) - 1)

            // By age: events older than the window's days go, whatever their number.
            try await node.services.db.execute(
                "UPDATE user_events SET created_at = now() - interval '31 days' WHERE user_id = \(readerID) AND seq <= \(after.head - 3)",
                logger: TestServices.logger
            )
            #expect(try await node.services.streamPruner.pruneOnce() == 2)
            let aged = try await stream()
            #expect(aged.kept == 3 && aged.pruned == after.head - 3)
        }
    }
}
