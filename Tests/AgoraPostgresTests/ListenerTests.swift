import AgoraPostgres
import AgoraTestSupport
import Foundation
import Synchronization
import Testing

/// `PGListener`: notifications arrive when the sending transaction commits, never for one that rolls back, and the
/// listener comes back after its connection is killed, saying so through `onListening`.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured), .schemaTestLimit)
struct ListenerTests {
    final class Inbox: Sendable {
        let payloads = Mutex<[String]>([])
        let listening = Mutex(0)

        func waitFor(_ predicate: @Sendable ([String], Int) -> Bool, timeout: Duration = .seconds(10)) async throws -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if predicate(payloads.withLock { $0 }, listening.withLock { $0 }) { return true }
                try await Task.sleep(for: .milliseconds(5))
            }
            return false
        }
    }

    @Test func notificationsArriveAtCommitAndTheListenerSurvivesItsBackendsDeath() async throws {
        try await TestDatabase.withSchema { db, configuration in
            let log = TestServices.logger
            let channel = TestServices.uniqueName("listen")
            let inbox = Inbox()
            let listener = PGListener(
                configuration: configuration, channel: channel, reconnectDelay: .milliseconds(100), logger: log,
                onNotification: { payload in inbox.payloads.withLock { $0.append(payload) } },
                onListening: { inbox.listening.withLock { $0 += 1 } }
            )
            listener.start()
            #expect(try await inbox.waitFor { _, listening in listening == 1 })

            // Inside a transaction: nothing until it commits, and nothing at all from one that rolls back.
            struct Rollback: Error {}
            try? await db.withTransaction(logger: log) { tx in
                try await tx.execute("SELECT pg_notify(\(channel), 'rolled back')")
                throw Rollback()
            }
            try await db.withTransaction(logger: log) { tx in
                try await tx.execute("SELECT pg_notify(\(channel), 'first')")
                try await Task.sleep(for: .milliseconds(200))
                #expect(inbox.payloads.withLock { $0 }.isEmpty, "delivered before the commit")
            }
            #expect(try await inbox.waitFor { payloads, _ in payloads == ["first"] })

            // Kill the listening backend: the listener reconnects, LISTENs again and says so.
            let pid = try #require(listener.backendPID)
            try await db.execute("SELECT pg_terminate_backend(\(Int(pid))::int)", logger: log)
            #expect(try await inbox.waitFor { _, listening in listening == 2 })
            #expect(listener.backendPID != pid)
            try await db.execute("SELECT pg_notify(\(channel), 'second')", logger: log)
            #expect(try await inbox.waitFor { payloads, _ in payloads == ["first", "second"] })

            await listener.stop()
            #expect(listener.backendPID == nil)
        }
    }
}
