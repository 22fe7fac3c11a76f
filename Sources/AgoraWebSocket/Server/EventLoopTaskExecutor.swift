public import NIOCore

/// Runs a task's jobs on one event loop (SE-0417 task executor preference).
///
/// A connection's task runs with its channel's event loop preferred: a message read from the pipeline resumes the
/// task on the same thread, and `send` from there goes straight into the pipeline. Without it every message costs
/// two thread switches (event loop -> cooperative pool -> event loop). Handlers still must not block: while they
/// run, the loop serves no other connection, as in any event-loop server.
public final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
