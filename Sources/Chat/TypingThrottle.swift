import Foundation
import Synchronization

/// At most one typing indicator per sender and conversation per interval. Forgets entries once they are stale, so
/// it stays as small as the number of people typing right now.
final class TypingThrottle: Sendable {
    private struct Key: Hashable {
        var user: UUID
        var conversation: UUID
    }

    private let interval: Duration
    private let last = Mutex<[Key: ContinuousClock.Instant]>([:])

    init(interval: Duration) { self.interval = interval }

    func allow(user: UUID, conversation: UUID, now: ContinuousClock.Instant = .now) -> Bool {
        last.withLock { last in
            if last.count > 10_000 { last = last.filter { now - $0.value < interval } }
            let key = Key(user: user, conversation: conversation)
            if let previous = last[key], now - previous < interval { return false }
            last[key] = now
            return true
        }
    }
}
