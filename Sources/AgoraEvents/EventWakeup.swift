import Synchronization

/// Wakes whoever consumes domain events when new ones have committed, so a relay waits on this (with its poll
/// interval as a timeout, the safety net) instead of sleeping a fixed interval.
///
/// Signals coalesce: however many arrive while nobody waits, the next `wait` returns at once, once.
package final class EventWakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// New events committed (or may have: a listener that just reconnected).
    package func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Returns at the next signal (at once if one came since the last wait), after `timeout`, or on cancellation.
    package func wait(upTo timeout: Duration) async {
        let id = state.withLock { state -> UInt64? in
            if state.pending {
                state.pending = false
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                state.withLock { $0.waiter = (id, continuation) }
                // Cancelled before the waiter was stored: the handler found nothing to resume.
                if Task.isCancelled { release(id) }
                // The timeout (and cancellation) resume only the wait they belong to, and only if nothing else did.
                Task { [self] in
                    try? await Task.sleep(for: timeout)
                    self.release(id)
                }
            }
        } onCancel: {
            release(id)
        }
    }

    private func release(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
