import AgoraApp
import AgoraMail
import AgoraPostgres
import AgoraTestSupport
import Foundation
import Logging
import NIOPosix
import Testing

/// The outbox in the real PostgreSQL and the dispatcher sending to the real SMTP server.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured && SMTPTestServer.isRunnableOrRequired), .schemaTestLimit)
struct MailDispatcherTests {
    let from = try! MailAddress(parsing: "Agora <no-reply@agora.example>")
    let logger = TestServices.logger

    /// A scratch schema with the app's migrations applied.
    func withOutbox<R>(_ body: (PGPool, MailOutbox) async throws -> R) async throws -> R {
        try await TestDatabase.withSchema { pool, _ in
            try await PGMigrator(pool: pool).migrate(try Migrations.all(), logger: logger)
            return try await body(pool, MailOutbox(db: pool))
        }
    }

    func enqueue(_ outbox: MailOutbox, _ pool: PGPool, _ count: Int, to: (Int) -> String = { "user\($0)@example.com" }) async throws {
        try await pool.withTransaction(logger: logger) { transaction in
            for n in 0..<count { try await outbox.enqueue(to: to(n), subject: "Mail \(n)", body: "Body \(n)", in: transaction) }
        }
    }

    func statuses(_ pool: PGPool) async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try await pool.query("SELECT status, count(*) AS n FROM mail_outbox GROUP BY status", logger: logger) {
            result[try row.decode("status")] = try row.decode("n")
        }
        return result
    }

    func dispatcher(_ outbox: MailOutbox, port: Int, _ settings: MailDispatcher.Settings = .init(retryDelay: .zero)) -> MailDispatcher {
        MailDispatcher(outbox: outbox, transport: SMTPTransport(settings: .init(host: "127.0.0.1", port: port, timeout: .seconds(3))), from: from, settings: settings, logger: logger)
    }

    @Test func aMailExistsExactlyWhenItsTransactionCommits() async throws {
        try await withOutbox { pool, outbox in
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await pool.withTransaction(logger: logger) { transaction in
                    try await outbox.enqueue(to: "ada@example.com", subject: "Never", body: "rolled back", in: transaction)
                    throw Abort()
                }
            }
            #expect(try await statuses(pool).isEmpty)
            try await enqueue(outbox, pool, 1)
            #expect(try await statuses(pool) == ["pending": 1])
            // A recipient that would break the SMTP command is refused before anything is written.
            await #expect(throws: MailError.self) {
                try await pool.withTransaction(logger: logger) { try await outbox.enqueue(to: "a@b.cd>\r\nRCPT TO:<x@y.z", subject: "x", body: "x", in: $0) }
            }
            #expect(try await statuses(pool) == ["pending": 1])
        }
    }

    @Test func eachMailIsDeliveredOnceAndRecordedAsSent() async throws {
        try await withOutbox { pool, outbox in
            try await SMTPTestServer.with { server in
                try await enqueue(outbox, pool, 3)
                #expect(try await dispatcher(outbox, port: server.port).dispatchOnce() == 3)
                #expect(try await dispatcher(outbox, port: server.port).dispatchOnce() == 0)
                let received = try await server.waitForMail(count: 3)
                #expect(Set(received.map(\.subject)) == ["Mail 0", "Mail 1", "Mail 2"] && received.count == 3)
                #expect(try await statuses(pool) == ["sent": 3])
                let unsent = try await pool.query("SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL OR attempts <> 1", logger: logger)
                #expect(try unsent[0].decode("n", as: Int.self) == 0)
            }
        }
    }

    @Test func aTemporaryFailureIsRetriedAndAPermanentOneIsNot() async throws {
        try await withOutbox { pool, outbox in
            try await SMTPTestServer.with(.init(reject: ["gone@example.com"], tempfail: 1)) { server in
                try await enqueue(outbox, pool, 1)
                _ = try await pool.withTransaction(logger: logger) { try await outbox.enqueue(to: "gone@example.com", subject: "Refused", body: "x", in: $0) }
                let dispatcher = dispatcher(outbox, port: server.port)
                try await dispatcher.dispatchOnce()
                let after = try await pool.query("SELECT to_address, status, attempts, last_error FROM mail_outbox ORDER BY to_address", logger: logger)
                #expect(try after.map { try $0.decode("status", as: String.self) } == ["failed", "pending"])
                #expect(try after[0].decode("last_error", as: String?.self)?.contains("550") == true)
                #expect(try after[1].decode("last_error", as: String?.self)?.contains("451") == true)
                let none = try server.received()
                #expect(none.isEmpty)

                try await dispatcher.dispatchOnce()  // retryDelay is zero: due again at once
                let received = try await server.waitForMail()
                #expect(received.map(\.subject) == ["Mail 0"])
                #expect(try await statuses(pool) == ["failed": 1, "sent": 1])
            }
        }
    }

    @Test func aMailIsGivenUpAfterMaxAttempts() async throws {
        try await withOutbox { pool, outbox in
            try await enqueue(outbox, pool, 1)
            let down = dispatcher(outbox, port: 1, .init(maxAttempts: 2, retryDelay: .zero))  // nothing listens on port 1
            try await down.dispatchOnce()
            #expect(try await statuses(pool) == ["pending": 1])
            try await down.dispatchOnce()
            let row = try await pool.query("SELECT status, attempts, last_error FROM mail_outbox", logger: logger)[0]
            #expect(try row.decode("status", as: String.self) == "failed" && row.decode("attempts", as: Int.self) == 2)
            #expect(try row.decode("last_error", as: String?.self)?.contains("connect") == true)
        }
    }

    @Test func aClaimThatIsNeverFinishedComesBackAfterItsLease() async throws {
        try await withOutbox { pool, outbox in
            try await enqueue(outbox, pool, 1)
            // A dispatcher that dies after claiming: nothing marks the mail. While its lease runs, nobody else gets it.
            #expect(try await outbox.claim(limit: 10, lease: .seconds(60), logger: logger).count == 1)
            #expect(try await outbox.claim(limit: 10, lease: .seconds(60), logger: logger).isEmpty)
            let lease = try await pool.query("SELECT extract(epoch FROM next_attempt_at - now())::float8 AS s FROM mail_outbox", logger: logger)
            #expect((55...60).contains(try lease[0].decode("s", as: Double.self)))
            // Let the lease run out (as a minute passing would), and the mail is claimable again, one attempt later.
            try await pool.execute("UPDATE mail_outbox SET next_attempt_at = now() - interval '1 second'", logger: logger)
            let again = try await outbox.claim(limit: 10, lease: .seconds(60), logger: logger)
            #expect(again.count == 1 && again.first?.attempts == 2)
        }
    }

    @Test func twoDispatchersNeverSendTheSameMail() async throws {
        try await withOutbox { pool, outbox in
            try await SMTPTestServer.with { server in
                try await enqueue(outbox, pool, 40)
                let settings = MailDispatcher.Settings(batchSize: 5, retryDelay: .zero)
                let a = dispatcher(outbox, port: server.port, settings)
                let b = dispatcher(outbox, port: server.port, settings)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for instance in [a, b] {
                        group.addTask { while try await instance.dispatchOnce() > 0 {} }
                    }
                    try await group.waitForAll()
                }
                let received = try await server.waitForMail(count: 40)
                #expect(received.count == 40 && Set(received.map(\.subject)).count == 40)
                #expect(try await statuses(pool) == ["sent": 40])
            }
        }
    }

    @Test func theDevelopmentMailboxWritesReadableFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("mailbox"))
        defer { try? FileManager.default.removeItem(at: directory) }
        let link = "http://localhost:8080/verify-email?token=abc_DEF-123"
        let results = await MailboxTransport(directory: directory, threadPool: .singleton).send(
            [(UUID(), Mail(from: from, to: try MailAddress("ada@example.com"), subject: "Confirm", text: "Open \(link)"))], logger: logger
        )
        #expect((try? results[0].get()) != nil)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let text = try String(contentsOf: directory.appendingPathComponent(try #require(files.first)), encoding: .utf8)
        #expect(text.contains("To: ada@example.com") && text.contains("Subject: Confirm") && text.contains(link))
    }
}
