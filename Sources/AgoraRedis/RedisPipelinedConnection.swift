import AgoraPool
internal import CHiredis
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One Redis connection carrying the commands of many callers at once (pipelining), over a non-blocking socket.
///
/// Callers write their commands from their own threads, under the connection's lock, without waiting for each
/// other's replies. Redis answers in order, so replies are matched to a FIFO of waiting callers. The replies are read
/// and parsed on the `SocketPoller`'s thread (`socketIsReadable`), which resumes the callers outside the lock.
///
/// hiredis only connects and authenticates (blocking, on the client's connect thread, before the socket is handed
/// over); after that the socket is non-blocking and its I/O is ours: a `redisReader` parses replies, and
/// `RedisCommand` encodes commands. We do not use hiredis's own non-blocking context (`redisAppendCommandArgv`,
/// `redisBufferWrite`, `redisGetReply`) because its output buffer and reader live in one unsynchronised
/// `redisContext`: callers writing while the poller reads would need one lock around both, and every read would then
/// hold up every writer.
///
/// `@unchecked Sendable`: `reader` and `readBuffer` are used only on the poller's thread (one report at a time), and
/// all other mutable state is in `state`.
final class RedisPipelinedConnection: SocketWatcher, @unchecked Sendable {
    /// The connection broke before the command was written: nothing was sent, so the caller may use another.
    struct Unusable: Error {}

    /// Who waits for a command's reply, or for the replies of a batch of commands written together.
    private enum Waiter {
        case one(UnsafeContinuation<RedisValue, any Error>)
        case batch(UnsafeContinuation<[Result<RedisValue, RedisError>], any Error>)

        func fail(_ error: any Error) {
            switch self {
            case .one(let continuation): continuation.resume(throwing: error)
            case .batch(let continuation): continuation.resume(throwing: error)
            }
        }
    }

    private struct Pending {
        let id: UInt64
        /// Nil once the caller was cancelled: its replies are read and dropped, to keep the FIFO aligned.
        var waiter: Waiter?
        let sentAt: ContinuousClock.Instant
        /// Replies still due (a batch's commands share one entry).
        var due: Int
        /// A batch's replies so far.
        var replies: [Result<RedisValue, RedisError>] = []
    }

    private struct State {
        var pending = CircularBuffer<Pending>(initialCapacity: 16)
        /// Commands not written yet: held while earlier ones are unanswered (the poller writes them after the next
        /// replies), or left over when the socket took only part; written by the poller.
        var output: [UInt8] = []
        /// Whether the poller reports writability (only while a partial write waits for the socket).
        var writesWatched = false
        var registration: SocketPoller.Registration?
        var failure: RedisError?
    }

    private let socket: RedisConnection  // owns the hiredis context, whose deinit closes the descriptor
    private let descriptor: Int32
    private let poller: SocketPoller
    private let state = Mutex(State())
    private let ids = Atomic<UInt64>(0)
    private let reader: UnsafeMutablePointer<redisReader>
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let onBreak: @Sendable (RedisPipelinedConnection) -> Void

    /// Commands written and not yet answered (cancelled ones included, as their replies are still due); read without
    /// the lock to choose the least busy connection.
    let outstanding = Atomic<Int>(0)
    /// False once the connection broke or was closed.
    let isUsable = Atomic<Bool>(true)
    /// With Sentinel, the master this connection reaches (`host:port`).
    let masterAddress: String?

    /// Takes over a connected, authenticated hiredis connection, and starts watching its socket.
    /// - Parameters:
    ///   - socket: from `RedisConnection.init`; nothing else may use it afterwards.
    ///   - onBreak: called once, on any thread, when the connection breaks or is closed.
    /// - Throws: `connectionFailed` if the socket cannot be made non-blocking or watched.
    init(_ socket: RedisConnection, poller: SocketPoller, onBreak: @escaping @Sendable (RedisPipelinedConnection) -> Void) throws(RedisError) {
        self.socket = socket
        self.descriptor = socket.descriptor
        self.masterAddress = socket.masterAddress
        self.poller = poller
        self.onBreak = onBreak
        guard let reader = redisReaderCreate() else { throw RedisError(.connectionFailed, message: "hiredis could not allocate a reader") }
        self.reader = reader
        // Replies of a whole pipeline usually arrive in one read.
        self.readBuffer = .allocate(byteCount: 64 * 1024, alignment: 1)
        let flags = fcntl(descriptor, F_GETFL, 0)
        guard flags >= 0, fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw RedisError(.connectionFailed, message: "cannot make the Redis socket non-blocking: errno \(errno)")
        }
        guard let registration = poller.register(descriptor, self) else {
            throw RedisError(.connectionFailed, message: "the Redis client's socket poller is shut down")
        }
        state.withLock { $0.registration = registration }
    }

    deinit {
        redisReaderFree(reader)
        readBuffer.deallocate()
    }

    /// Writes an encoded command and waits for its reply.
    /// - Throws: `RedisError.server` for an error reply; `connectionClosed` if the connection broke or the reply did
    ///   not come in time; `Unusable` if the connection had already broken and nothing was sent;
    ///   `CancellationError` if the caller was cancelled while waiting (the command may still run).
    ///
    /// A task that is already cancelled still sends its command and gets the reply, as with the blocking client:
    /// clean-up code (dropping presence claims when a socket closes) often runs in a cancelled task.
    func send(_ command: [UInt8]) async throws -> RedisValue {
        let id = ids.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                enqueue(command, replies: 1, id: id, .one(continuation))
            }
        } onCancel: {
            cancel(id)
        }
    }

    /// Writes `count` encoded commands (concatenated in `commands`) at once and waits for all their replies, in
    /// order: one wake-up for the caller instead of one per command. Errors as `send`; a command's own error reply
    /// is its `Result`.
    func send(batch commands: [UInt8], count: Int) async throws -> [Result<RedisValue, RedisError>] {
        let id = ids.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                enqueue(commands, replies: count, id: id, .batch(continuation))
            }
        } onCancel: {
            cancel(id)
        }
    }

    private func enqueue(_ command: [UInt8], replies: Int, id: UInt64, _ waiter: Waiter) {
        enum Outcome { case queued, unusable, broken(Int32) }
        let outcome = state.withLock { state -> Outcome in
            guard state.failure == nil, let registration = state.registration else { return .unusable }
            // Queued before it is written, so its reply always finds it.
            state.pending.append(Pending(id: id, waiter: waiter, sentAt: .now, due: replies))
            outstanding.add(replies, ordering: .relaxed)
            guard state.output.isEmpty, state.pending.count == 1 else {
                // Earlier commands are unanswered: the poller writes this one with any others that arrive meanwhile,
                // in one `send`, right after it hands out the next replies. Redis would not run it before answering
                // them anyway, and a syscall per command was most of the client's CPU under load (a write each,
                // and Redis a read each).
                state.output.append(contentsOf: command)
                return .queued
            }
            let written = command.withUnsafeBytes { write($0) }
            if written == command.count { return .queued }
            if written < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { return .broken(errno) }
            state.output.append(contentsOf: command[max(written, 0)...])
            state.writesWatched = true
            poller.watchWrites(registration, true)
            return .queued
        }
        switch outcome {
        case .queued: break
        case .unusable: waiter.fail(Unusable())
        case .broken(let code): fail(RedisError(.connectionClosed, message: "writing to Redis failed: \(String(cString: strerror(code)))"))
        }
    }

    private func cancel(_ id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.pending.firstIndex(where: { $0.id == id }) else { return nil }
            defer { state.pending[index].waiter = nil }
            return state.pending[index].waiter
        }
        waiter?.fail(CancellationError())
    }

    /// One non-blocking `send`; `MSG_NOSIGNAL` so a closed peer is an `EPIPE` error, not a process-killing `SIGPIPE`.
    private func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
    }

    // MARK: Poller thread

    func socketIsWritable() { flush() }

    /// Writes held output; watches writability while the socket cannot take all of it.
    private func flush() {
        let failed = state.withLock { state -> Int32? in
            guard state.failure == nil, let registration = state.registration, !state.output.isEmpty else { return nil }
            let written = state.output.withUnsafeBytes { write($0) }
            if written < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { return errno }
            if written == state.output.count {
                state.output.removeAll(keepingCapacity: true)
            } else if written > 0 {
                state.output.removeFirst(written)
            }
            let watch = !state.output.isEmpty
            if watch != state.writesWatched {
                state.writesWatched = watch
                poller.watchWrites(registration, watch)
            }
            return nil
        }
        if let failed { fail(RedisError(.connectionClosed, message: "writing to Redis failed: \(String(cString: strerror(failed)))")) }
    }

    func socketIsReadable() {
        let count = read(descriptor, readBuffer.baseAddress, readBuffer.count)
        if count == 0 {
            fail(RedisError(.connectionClosed, message: "Redis closed the connection"))
            return
        }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            fail(RedisError(.connectionClosed, message: "reading from Redis failed: \(String(cString: strerror(errno)))"))
            return
        }
        guard redisReaderFeed(reader, readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self), count) == REDIS_OK else {
            fail(RedisError(.connectionClosed, message: "hiredis could not buffer a Redis reply"))
            return
        }
        var replies: [Result<RedisValue, RedisError>] = []
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
                deliver(replies)
                fail(RedisError(.connectionClosed, message: "Redis sent a reply hiredis cannot parse"))
                return
            }
            guard let raw else { break }
            replies.append(Result { () throws(RedisError) in try RedisValue(raw.assumingMemoryBound(to: redisReply.self)) })
            freeReplyObject(raw)
        }
        deliver(replies)
        // Commands held behind the ones just answered (see `enqueue`).
        flush()
    }

    /// Hands replies to the oldest waiting callers, in order.
    private func deliver(_ replies: [Result<RedisValue, RedisError>]) {
        guard !replies.isEmpty else { return }
        var resumes: [(Waiter, [Result<RedisValue, RedisError>])] = []
        resumes.reserveCapacity(replies.count)
        let unexpected = state.withLock { state -> Bool in
            guard state.failure == nil else { return false }  // its callers were already failed
            for reply in replies {
                guard let first = state.pending.indices.first else { return true }
                outstanding.subtract(1, ordering: .relaxed)
                state.pending[first].due -= 1
                if case .batch = state.pending[first].waiter { state.pending[first].replies.append(reply) }
                guard state.pending[first].due == 0, let done = state.pending.popFirst() else { continue }
                if let waiter = done.waiter { resumes.append((waiter, done.replies.isEmpty ? [reply] : done.replies)) }
            }
            return false
        }
        for (waiter, replies) in resumes {
            switch waiter {
            case .one(let continuation):
                if let reply = replies.last { continuation.resume(with: reply.mapError { $0 as any Error }) }
            case .batch(let continuation):
                continuation.resume(returning: replies)
            }
        }
        if unexpected { fail(RedisError(.connectionClosed, message: "Redis sent a reply no command was waiting for")) }
    }

    // MARK: Failure

    /// Fails the connection if its oldest command has waited longer than `limit`: Redis answers in order, so every
    /// command behind it waits too.
    func failIfLate(limit: Duration, now: ContinuousClock.Instant) {
        let late = state.withLock { state in
            state.failure == nil && state.pending.first.map { now - $0.sentAt > limit } == true
        }
        if late { fail(RedisError(.connectionClosed, message: "no reply from Redis within \(limit); the connection is dropped")) }
    }

    /// Marks the connection broken, stops watching it, and fails every command still waiting with `error`. The
    /// descriptor is shut down now and closed when the last reference goes, so a report the poller already has in
    /// hand can never read a reused descriptor.
    func fail(_ error: RedisError) {
        let taken = state.withLock { state -> (CircularBuffer<Pending>, SocketPoller.Registration?)? in
            guard state.failure == nil else { return nil }
            state.failure = error
            defer {
                state.pending.removeAll()
                state.output = []
                state.registration = nil
            }
            return (state.pending, state.registration)
        }
        guard let (pending, registration) = taken else { return }
        isUsable.store(false, ordering: .relaxed)
        outstanding.store(0, ordering: .relaxed)
        if let registration { poller.unregister(registration) }
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
        onBreak(self)  // before the callers hear of it, so their retry does not pick this connection
        for entry in pending { entry.waiter?.fail(error) }
    }
}
