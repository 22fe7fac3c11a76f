import Foundation

/// One unit of work sent to a pipelined connection: statements that go out together and end with one Sync (so they
/// share an implicit transaction unless an explicit one is open), or a script run with the simple protocol.
///
/// The connection fills `results`/`error` under its lock as answers arrive and calls `finish()` once, when the
/// job's Sync (or the end of the script, or a broken connection) is reached. The caller may stop waiting earlier
/// (cancellation); the answers are then read and dropped, so the pipeline stays aligned.
final class PGJob: @unchecked Sendable {
    enum Kind {
        case statements([PGQuery])
        case script(String)
    }

    let kind: Kind
    /// One per statement, in order; written by the connection under its lock until `finish()`.
    var results: [PGResultSet] = []
    /// The first error of the job; later statements of a failed job are skipped by the server.
    var error: PGError?

    private let lock = NSLock()
    private var continuation: CheckedContinuation<[PGResultSet], any Error>?
    private var finished = false
    private var abandoned = false
    /// Called once when the connection is done with the job (the pool counts the connection's load with it).
    private let onFinish: (@Sendable () -> Void)?

    init(_ kind: Kind, onFinish: (@Sendable () -> Void)? = nil) {
        self.kind = kind
        self.onFinish = onFinish
    }

    /// Statements in the job (a script counts as one).
    var statementCount: Int {
        switch kind {
        case .statements(let queries): queries.count
        case .script: 1
        }
    }

    /// Installs the waiting caller. Returns false if the caller was already cancelled: the job must not be sent.
    func wait(with continuation: CheckedContinuation<[PGResultSet], any Error>) -> Bool {
        lock.lock()
        if abandoned {
            lock.unlock()
            continuation.resume(throwing: CancellationError())
            return false
        }
        self.continuation = continuation
        lock.unlock()
        return true
    }

    /// The caller stops waiting (task cancelled). The job, if sent, still runs to its Sync.
    func abandon() {
        lock.lock()
        abandoned = true
        let waiting = continuation
        continuation = nil
        lock.unlock()
        waiting?.resume(throwing: CancellationError())
    }

    /// The connection is done with the job: hand the outcome to the caller (if still waiting).
    func finish() {
        lock.lock()
        guard !finished else {
            lock.unlock()
            return
        }
        finished = true
        let waiting = continuation
        continuation = nil
        lock.unlock()
        // The pool gets its slot back first, so a caller resumed below finds it free.
        onFinish?()
        if let error {
            waiting?.resume(throwing: error)
        } else {
            waiting?.resume(returning: results)
        }
    }

    /// Ends a job that was never sent (or whose connection broke) with `error`.
    func fail(_ error: PGError) {
        if self.error == nil || error.code == .connectionClosed { self.error = error }
        finish()
    }
}
