import Synchronization

/// Counts the connections served without a task, so the server still waits for them when it shuts down.
///
/// Hummingbird's server returns from `run()` once every connection's `handle` task has finished. A connection served
/// by a `WebSocketDelegate` has no task, so without this the server would stop (and the process exit) while those
/// connections are still sending their 1001 Close. Instead one `handle` task at a time stays parked here while any
/// such connection is open: one task per server, not one per connection.
final class OpenConnections: Sendable {
    private struct State {
        var count = 0
        var isHeld = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// A connection's handler joined the pipeline.
    func opened() {
        state.withLock { $0.count += 1 }
    }

    /// A connection's handler left the pipeline (the channel closed).
    func closed() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.count -= 1
            guard state.count == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns at once if another task already waits here or nothing is open; otherwise waits until every counted
    /// connection has closed (or the task is cancelled).
    func holdWhileOpen() async {
        let holds = state.withLock { state in
            guard !state.isHeld, state.count > 0 else { return false }
            state.isHeld = true
            return true
        }
        guard holds else { return }
        while !Task.isCancelled {
            await waitForNone()
            // A connection may have opened between the wake-up and here; it found the hold taken, so keep holding.
            let done = state.withLock { state in
                guard state.count == 0 else { return false }
                state.isHeld = false
                return true
            }
            if done { return }
        }
        state.withLock { $0.isHeld = false }
    }

    private func waitForNone() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    guard state.count > 0, !Task.isCancelled else { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
