package import NIOCore
import Synchronization

/// State that a channel handler changes and callers wait on: what a connection has received so far, whether it is
/// closed. A caller asks its question under the lock and, if the answer is not there yet, sleeps until the next change
/// or its deadline, holding no thread and polling nothing.
package final class Awaitable<Value: Sendable>: Sendable {
    private struct Box: Sendable {
        var value: Value
        /// Counts changes, so a caller that looked knows whether anything happened since.
        var generation = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// The deadline timers of the waiters, cancelled when a change wakes them first.
        var timers: [Int: Scheduled<Void>] = [:]
        var nextWaiter = 0
    }

    private let box: Mutex<Box>

    package init(_ value: Value) {
        box = Mutex(Box(value: value))
    }

    /// Reads (or quietly edits) the value; nobody is woken.
    package func withValue<Result: Sendable, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        try box.withLock { (box: inout Box) throws(Failure) -> Result in try body(&box.value) }
    }

    /// Changes the value and wakes every waiting caller.
    package func change(_ body: (inout Value) -> Void) {
        let (waiters, timers) = box.withLock { box in
            body(&box.value)
            box.generation += 1
            defer {
                box.waiters = [:]
                box.timers = [:]
            }
            return (Array(box.waiters.values), Array(box.timers.values))
        }
        for timer in timers { timer.cancel() }
        for waiter in waiters { waiter.resume() }
    }

    /// The first non-nil answer of `check`, asked now and after each change; nil once `deadline` passes.
    /// - Parameter loop: where the deadline's timer runs.
    package func first<Result: Sendable, Failure: Error>(
        before deadline: NIODeadline, on loop: any EventLoop, _ check: (inout Value) throws(Failure) -> Result?
    ) async throws(Failure) -> Result? {
        while true {
            let (answer, generation) = try box.withLock { (box: inout Box) throws(Failure) -> (Result?, Int) in
                (try check(&box.value), box.generation)
            }
            if let answer { return answer }
            guard NIODeadline.now() < deadline else { return nil }
            await wait(after: generation, until: deadline, on: loop)
        }
    }

    /// Returns once something changed after `generation`, or at `deadline`.
    private func wait(after generation: Int, until deadline: NIODeadline, on loop: any EventLoop) async {
        await withCheckedContinuation { continuation in
            let id = box.withLock { box -> Int? in
                guard box.generation == generation else { return nil }
                let id = box.nextWaiter
                box.nextWaiter += 1
                box.waiters[id] = continuation
                return id
            }
            guard let id else { return continuation.resume() }
            let timer = loop.scheduleTask(deadline: deadline) {
                let waiter = self.box.withLock { box in
                    box.timers[id] = nil
                    return box.waiters.removeValue(forKey: id)
                }
                waiter?.resume()
            }
            // Kept so a change that comes first can cancel it; if one already came, cancel it now.
            let woken = box.withLock { box in
                guard box.waiters[id] != nil else { return true }
                box.timers[id] = timer
                return false
            }
            if woken { timer.cancel() }
        }
    }
}
