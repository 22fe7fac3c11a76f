package import Foundation
import Synchronization

/// What this instance's background duties (the relay, the sweeper, the dispatchers…) have done, for `/metrics`.
///
/// Every instance runs every duty, and each claims its work in PostgreSQL or Redis, so which instance did a piece of
/// work is decided at run time. These counters say it: scraped per instance, they show which instances run which
/// duties and how much each did.
package final class DutyMonitor: Sendable {
    /// One duty's counters on this instance.
    package struct Record: Sendable, Equatable {
        /// Rounds completed (with or without work).
        package var runs = 0
        /// Items of work done: events relayed, mails sent, reservations released…
        package var items = 0
        /// Rounds that failed (and will be retried).
        package var failures = 0
        /// When the last round ended, and the last one that found work.
        package var lastRun: Date?
        package var lastWork: Date?
    }

    private let records = Mutex<[String: Record]>([:])

    package init() {}

    /// Marks `duty` as running on this instance (its counters appear at zero before its first round).
    package func started(_ duty: String) {
        records.withLock { if $0[duty] == nil { $0[duty] = Record() } }
    }

    /// A round of `duty` ended having done `items` pieces of work.
    package func ran(_ duty: String, items: Int) {
        let now = Date()
        records.withLock { records in
            var record = records[duty] ?? Record()
            record.runs += 1
            record.items += max(0, items)
            record.lastRun = now
            if items > 0 { record.lastWork = now }
            records[duty] = record
        }
    }

    /// A round of `duty` failed.
    package func failed(_ duty: String) {
        records.withLock { records in
            var record = records[duty] ?? Record()
            record.failures += 1
            records[duty] = record
        }
    }

    /// Every duty that started here, by name.
    package var snapshot: [String: Record] { records.withLock { $0 } }
}
