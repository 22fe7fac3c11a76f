import AgoraApp
import AgoraCore
import AgoraEvents
import AgoraPostgres
import AgoraTestSupport
import Foundation
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct EventOutboxTests {
    @Test func eventsExistExactlyWhenTheirTransactionCommits() async throws {
        try await TestApp.withApplication { _, services in
            let log = TestServices.logger
            // Migrations run when the server starts; this test has no server, so apply them here.
            _ = try await PGMigrator(pool: services.db).migrate(try Migrations.all(), logger: log)
            let subject = UUID()
            let kept = DomainEvent(.productPriceChanged, actor: UUID(), subject: subject, payload: ["amount": .int(5), "currency": .string("ZAR"), "low": .bool(false)])
            try await services.db.withTransaction(logger: log) { tx in
                try await services.events.record([kept, DomainEvent(.productPublished, actor: nil, subject: subject)], in: tx)
            }
            struct Rollback: Error {}
            await #expect(throws: Rollback.self) {
                try await services.db.withTransaction(logger: log) { tx in
                    try await services.events.record(DomainEvent(.productArchived, actor: nil, subject: subject), in: tx)
                    throw Rollback()
                }
            }
            let events = try await services.events.events(subject: subject, logger: log)
            #expect(events.map(\.event) == [kept, DomainEvent(.productPublished, actor: nil, subject: subject)])
            #expect(events[0].id < events[1].id)
            let after = try await services.events.events(after: events[0].id, kinds: [.productPublished], logger: log)
            #expect(after.count == 1 && after[0].event.actorID == nil)
        }
    }
}
