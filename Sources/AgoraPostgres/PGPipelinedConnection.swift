import AgoraPool
internal import CLibPQ
import Foundation
import NIOCore

/// A libpq connection in non-blocking pipeline mode, its socket watched by the pool's `SocketPoller`.
///
/// Callers send from their own thread (`submit`, under the connection's lock): each job's statements and a Sync go
/// into libpq's output buffer and out in one write, without waiting for the answers to earlier jobs. The poller's
/// thread reads the answers as they arrive (`socketIsReadable`), matches them to the jobs in the order they were
/// sent and finishes each job at its Sync. No thread ever blocks on this connection.
///
/// Statements are prepared once per connection (a Parse pipelined just before the first execution) and then run by
/// name, up to `PGConfiguration.preparedStatements`.
final class PGPipelinedConnection: SocketWatcher, @unchecked Sendable {
    /// What the next answers from the server belong to, in order.
    private enum Expectation {
        /// The Parse of a statement being prepared; `key` is forgotten again if it fails.
        case prepare(PGJob, key: String)
        /// A statement's result (rows, a command tag or an error); `key` when it ran by a prepared name.
        case statement(PGJob, key: String?)
        /// The job's Sync: the job is complete.
        case sync(PGJob)
        /// A simple-protocol script: every result until the end.
        case script(PGJob)
    }

    let connection: PGConnection
    private var handle: OpaquePointer { connection.handle }
    private let poller: SocketPoller
    private var registration: SocketPoller.Registration?
    private let onBroken: @Sendable (PGPipelinedConnection) -> Void

    // Everything below is guarded by `lock`, as is every libpq call on `handle`.
    private let lock = NSLock()
    private var expected = CircularBuffer<Expectation>(initialCapacity: 16)
    private var prepared: [String: String] = [:]
    private var preparedCount = 0
    private let maxPrepared: Int
    private var isBroken = false
    private var isClosed = false
    private var writesWatched = false

    /// Puts an open connection into non-blocking pipeline mode and starts watching its socket.
    /// - Parameter onBroken: called once, off the lock, when the connection breaks (the pool drops it).
    init(
        connection: PGConnection, poller: SocketPoller, maxPrepared: Int,
        onBroken: @escaping @Sendable (PGPipelinedConnection) -> Void
    ) throws(PGError) {
        self.connection = connection
        self.poller = poller
        self.maxPrepared = maxPrepared
        self.onBroken = onBroken
        guard PQsetnonblocking(connection.handle, 1) == 0, PQenterPipelineMode(connection.handle) == 1 else {
            throw PGError(.connectionFailed, message: "cannot enter pipeline mode: \(connection.lastError)")
        }
        guard let registration = poller.register(PQsocket(connection.handle), self) else {
            throw PGError(.connectionFailed, message: "cannot watch the connection's socket")
        }
        self.registration = registration
    }

    /// The backend's process id.
    var backendPID: Int32 { connection.backendPID }

    /// True while the server has not answered everything sent.
    var isBusy: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !expected.isEmpty
    }

    /// False only when the server is known to be outside any transaction: nothing in flight (an abandoned job may
    /// still be running) and the last answer said idle.
    var inTransaction: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !expected.isEmpty || PQtransactionStatus(handle) != PQTRANS_IDLE
    }

    // MARK: Sending (any thread)

    /// Sends `job` behind whatever is in flight. The job finishes on the poller's thread (or here, if it cannot be sent).
    func submit(_ job: PGJob) {
        if case .statements(let queries) = job.kind {
            // libpq would cut a text value at its first NUL and store the prefix; refuse before anything is sent.
            for query in queries {
                for (index, bind) in query.binds.enumerated() where !bind.binary && bind.bytes?.contains(0) == true {
                    job.fail(PGError(.invalidValue, message: "text parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot store"))
                    return
                }
            }
        }
        lock.lock()
        guard !isBroken, !isClosed else {
            lock.unlock()
            job.fail(PGError(.connectionClosed, message: "the database connection is closed"))
            return
        }
        let sent: Bool
        switch job.kind {
        case .statements(let queries):
            sent = queries.allSatisfy { send($0, for: job) } && PQpipelineSync(handle) == 1
            if sent { expected.append(.sync(job)) }
        case .script(let sql):
            // Scripts (migrations) use the simple protocol, which pipeline mode does not allow: leave it while the
            // script runs on a connection that has nothing else in flight (a leased transaction's).
            if !expected.isEmpty || PQexitPipelineMode(handle) != 1 {
                lock.unlock()
                job.fail(PGError(.server, message: "a script needs a connection with nothing in flight"))
                return
            }
            sent = PQsendQuery(handle, sql) == 1
            if sent { expected.append(.script(job)) }
        }
        guard sent, flushLocked() else {
            let failed = breakLocked()
            lock.unlock()
            finishBroken(failed + [job])
            return
        }
        lock.unlock()
    }

    /// Queues one statement (and its Parse, the first time) in libpq's output buffer. Lock held.
    private func send(_ query: PGQuery, for job: PGJob) -> Bool {
        let binds = query.binds
        let types = binds.map { Oid($0.oid) }
        let formats = binds.map { Int32($0.binary ? 1 : 0) }
        let lengths = binds.map { Int32($0.bytes?.count ?? 0) }
        // libpq reads text-format parameters as NUL-terminated strings, so each value is copied with a terminator;
        // libpq copies them into its buffer during the call, so they are freed right after.
        let buffers: [UnsafeMutablePointer<CChar>?] = binds.map { bind in
            guard let bytes = bind.bytes else { return nil }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress ?? UnsafeRawPointer(buffer), byteCount: bytes.count)
            }
            buffer[bytes.count] = 0
            return buffer
        }
        defer { buffers.forEach { $0?.deallocate() } }
        let values = buffers.map { UnsafePointer($0) }
        let key = types.isEmpty ? query.sql : query.sql + "\u{0}" + types.map(String.init).joined(separator: ",")
        var name = prepared[key]
        if name == nil, prepared.count < maxPrepared {
            let candidate = "agora_\(preparedCount)"
            preparedCount += 1
            guard PQsendPrepare(handle, candidate, query.sql, Int32(binds.count), types) == 1 else { return false }
            expected.append(.prepare(job, key: key))
            prepared[key] = candidate
            name = candidate
        }
        if let name {
            guard PQsendQueryPrepared(handle, name, Int32(binds.count), values, lengths, formats, 1) == 1 else { return false }
            expected.append(.statement(job, key: key))
        } else {
            guard PQsendQueryParams(handle, query.sql, Int32(binds.count), types, values, lengths, formats, 1) == 1 else { return false }
            expected.append(.statement(job, key: nil))
        }
        return true
    }

    /// Writes what the socket takes; watches for writability if some is left. Lock held. False if the write failed.
    private func flushLocked() -> Bool {
        switch PQflush(handle) {
        case 0:
            if writesWatched, let registration {
                writesWatched = false
                poller.watchWrites(registration, false)
            }
            return true
        case 1:
            if !writesWatched, let registration {
                writesWatched = true
                poller.watchWrites(registration, true)
            }
            return true
        default:
            return false
        }
    }

    // MARK: Reading (the poller's thread)

    func socketIsWritable() {
        lock.lock()
        guard !isBroken, !isClosed else {
            lock.unlock()
            return
        }
        if !flushLocked() {
            let failed = breakLocked()
            lock.unlock()
            finishBroken(failed)
            return
        }
        lock.unlock()
    }

    func socketIsReadable() {
        lock.lock()
        guard !isBroken, !isClosed else {
            lock.unlock()
            return
        }
        guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else {
            let failed = breakLocked()
            lock.unlock()
            finishBroken(failed)
            return
        }
        while let notification = PQnotifies(handle) { PQfreemem(notification) }  // pool connections do not LISTEN
        var done: [PGJob] = []
        readResultsLocked(into: &done)
        if writesWatched, !flushLocked() {
            let failed = breakLocked()
            lock.unlock()
            for job in done { job.finish() }
            finishBroken(failed)
            return
        }
        lock.unlock()
        for job in done { job.finish() }
    }

    /// Takes every answer that is complete, in order, without blocking. Lock held.
    private func readResultsLocked(into done: inout [PGJob]) {
        while let head = expected.first, PQisBusy(handle) == 0 {
            let raw = PQgetResult(handle)
            defer { if let raw { PQclear(raw) } }
            switch head {
            case .sync(let job):
                // A PGRES_PIPELINE_SYNC result, with no NULL after it.
                expected.removeFirst()
                done.append(job)
            case .script(let job):
                guard let raw else {
                    expected.removeFirst()
                    _ = PQenterPipelineMode(handle)
                    job.results = [PGResultSet(rows: [], affectedRows: 0)]
                    done.append(job)
                    continue
                }
                record(raw, for: job, key: nil)
            case .prepare(let job, let key):
                guard let raw else {
                    expected.removeFirst()
                    continue
                }
                if PQresultStatus(raw) != PGRES_COMMAND_OK {
                    // Not prepared (a syntax error, an aborted transaction): the execution after it is skipped and
                    // reports the same failure; the next use prepares it afresh.
                    prepared[key] = nil
                    if job.error == nil, PQresultStatus(raw) != PGRES_PIPELINE_ABORTED {
                        job.error = PGResultReader.serverError(raw, connectionBroken: false)
                    }
                }
            case .statement(let job, let key):
                guard let raw else {
                    expected.removeFirst()
                    continue
                }
                if PQresultStatus(raw) == PGRES_PIPELINE_SYNC {
                    // Defensive: a Sync where a statement was expected means the pipeline lost a NULL; realign.
                    expected.removeFirst()
                    continue
                }
                record(raw, for: job, key: key)
            }
        }
    }

    /// Files one statement's result with its job. Lock held.
    private func record(_ raw: OpaquePointer, for job: PGJob, key: String?) {
        switch PQresultStatus(raw) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE, PGRES_EMPTY_QUERY:
            if case .statements = job.kind { job.results.append(PGResultReader.resultSet(raw)) }
        case PGRES_PIPELINE_ABORTED:
            // Skipped because an earlier statement of the same job failed; that failure is the job's error.
            if job.error == nil { job.error = PGError(.server, message: "statement skipped: an earlier statement in its pipeline failed") }
        default:
            let error = PGResultReader.serverError(raw, connectionBroken: false)
            if let key, error.sqlState == "26000" || error.sqlState == "0A000" {
                // The server no longer has it (DISCARD ALL) or its result shape changed under it (DDL): forget it,
                // so the next call prepares it afresh.
                prepared[key] = nil
            }
            if job.error == nil { job.error = error }
        }
    }

    // MARK: Breaking and closing

    /// Marks the connection broken and takes every job still in flight. Lock held.
    private func breakLocked() -> [PGJob] {
        isBroken = true
        var jobs: [PGJob] = []
        var seen = Set<ObjectIdentifier>()
        while let expectation = expected.popFirst() {
            let job: PGJob
            switch expectation {
            case .prepare(let j, _), .statement(let j, _), .sync(let j), .script(let j): job = j
            }
            if seen.insert(ObjectIdentifier(job)).inserted { jobs.append(job) }
        }
        return jobs
    }

    /// Fails the jobs of a connection that broke, stops watching it and tells the pool. Lock not held.
    private func finishBroken(_ jobs: [PGJob]) {
        let message = "the database connection broke: \(connection.lastError)"
        stopWatching()
        onBroken(self)  // out of the pool before its callers resume and come back for more
        for job in jobs { job.fail(PGError(.connectionClosed, message: message)) }
    }

    /// Stops watching the socket; the connection closes when the last reference goes. Jobs in flight fail.
    func close() {
        lock.lock()
        isClosed = true
        let jobs = breakLocked()
        lock.unlock()
        stopWatching()
        for job in jobs { job.fail(PGError(.connectionClosed, message: "the database pool closed the connection")) }
    }

    private func stopWatching() {
        lock.lock()
        let registration = self.registration
        self.registration = nil
        lock.unlock()
        if let registration { poller.unregister(registration) }
    }
}
