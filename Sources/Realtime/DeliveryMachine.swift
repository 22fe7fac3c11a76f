/// The durable-delivery logic of one realtime socket, as a value: events in, actions out.
///
/// It decides what is written when: `hello` with the stream head, the client's `resume`, live events in sequence
/// order, events held while something before them is missing, catch-up reads from PostgreSQL, and the backlog they
/// return, written only as fast as the socket drains. It does no I/O and knows no clock: the connection feeds it
/// what happened (on its event loop) and carries out the actions it appends, in order. Tests drive it as a plain
/// value (`Frame` is any type there; the server's is `PreparedMessage`).
///
/// Delivery state: `lastSeq` is the last durable event written. A live event numbered `lastSeq + 1` is written at
/// once; an older one is dropped (already sent); a newer one means something is missing (a publish not yet arrived,
/// or lost), so it is held and the events after `lastSeq` are read from PostgreSQL. A new connection says `hello`
/// with the stream head, then starts at the `resume` the client sends (or, if it sends none within the resume wait,
/// at that head).
struct DeliveryMachine<Frame> {
    enum Action {
        /// Write `hello` with this stream head.
        case writeHello(head: Int64)
        /// Write a frame (unflushed: a `flush` follows whatever was written by one event).
        case write(Frame)
        case flush
        /// Read the events after `after` from PostgreSQL (at most `limit`); answer `fetched` or `fetchFailed`.
        case fetch(after: Int64, limit: Int)
        /// Answer `retryFetch` after a pause.
        case retryFetchLater
        /// Tell the client the events after `from` through `through` are no longer kept (retention): it reloads its
        /// views instead of silently missing them. Delivery goes on after `through`.
        case reset(from: Int64, through: Int64)
        /// Answer `resumeWaitElapsed(head:)` once the client had its time to send `resume`.
        case awaitResume(head: Int64)
        /// Tell the client its `resume` asked for an event that does not exist; going on from `known`.
        case resumeAhead(id: ClientRequestID?, asked: Int64, known: Int64)
        /// Acknowledge a `resume`: caught up to `seq`.
        case acknowledgeResume(id: ClientRequestID?, seq: Int64)
        /// Write backlog frames while the socket is writable (`nextBacklogFrame`), then answer `backlogWritten` when
        /// the last of them has left, or `backlogStalled` if none could be written.
        case writeBacklog
        /// Answer `backlogStalled`'s retry (`retryBacklog`) after a pause.
        case retryBacklogLater
    }

    struct Settings {
        /// Live events held while a catch-up runs, at most; past it they are dropped and read from PostgreSQL.
        var maxHeld: Int
        /// Events per catch-up read.
        var pageSize: Int
        /// Ephemeral events kept for a socket before its `hello`; more are dropped (typing, presence).
        var maxBeforeHello: Int = 64
    }

    private let settings: Settings
    private(set) var lastSeq: Int64?
    /// The head told in `hello`; nil until it has been read.
    private(set) var helloHead: Int64?
    /// A `resume` that arrived before `hello` could be sent.
    private var earlyResume: (seq: Int64, id: ClientRequestID?)?
    /// Ids of `resume` requests to acknowledge once caught up.
    private var resumeAcks: [ClientRequestID?] = []
    private(set) var fetching = false
    private var needFetch = false
    /// Live durable events that cannot be written yet, by sequence.
    private(set) var held: [Int64: Frame] = [:]
    /// Caught-up events not written yet (waiting for the socket to drain), in order.
    private var backlog: ArraySlice<(seq: Int64, frame: Frame)> = []
    /// Ephemeral events that arrived before `hello` (it waits for the stream head); nil once it went out.
    private var beforeHello: [Frame]? = []
    private(set) var isClosed = false

    /// - Parameter resume: the sequence the client gave in the upgrade's query, if any.
    init(settings: Settings, resume: Int64?) {
        self.settings = settings
        if let resume { earlyResume = (resume, nil) }
    }

    // MARK: Events

    /// The stream head was read: `hello` goes out, then whatever waited for it.
    mutating func headRead(_ head: Int64, into actions: inout [Action]) {
        guard !isClosed else { return }
        helloHead = head
        actions.append(.writeHello(head: head))
        for frame in beforeHello ?? [] { actions.append(.write(frame)) }
        beforeHello = nil
        actions.append(.flush)
        if let early = earlyResume {
            earlyResume = nil
            resume(from: early.seq, id: early.id, into: &actions)
        } else {
            actions.append(.awaitResume(head: head))
        }
    }

    /// The client sent no `resume` in time: start at the head told in `hello`.
    mutating func resumeWaitElapsed(head: Int64, into actions: inout [Action]) {
        guard lastSeq == nil, !isClosed else { return }
        begin(at: head, into: &actions)
    }

    /// The client sent a message other than `resume` before resuming: it takes the head of `hello` as its start.
    mutating func clientSpoke(into actions: inout [Action]) {
        guard lastSeq == nil, let head = helloHead, earlyResume == nil, !isClosed else { return }
        begin(at: head, into: &actions)
    }

    /// The client asked for everything after `seq`.
    mutating func resume(from seq: Int64, id: ClientRequestID?, into actions: inout [Action]) {
        guard !isClosed else { return }
        guard let head = helloHead else {
            earlyResume = (seq, id)
            return
        }
        var seq = seq
        let known = max(head, lastSeq ?? head)
        if seq < 0 || seq > known {
            actions.append(.resumeAhead(id: id, asked: seq, known: known))
            seq = known
        }
        resumeAcks.append(id)
        if let last = lastSeq {
            // Already live: a resume from earlier replays from there, because the client asked; one from later is a
            // no-op that is still acknowledged once caught up.
            if seq < last { lastSeq = seq }
            needFetch = true
            pump(into: &actions)
        } else {
            begin(at: seq, into: &actions)
        }
    }

    /// A live durable event arrived from the bus.
    mutating func durableArrived(seq: Int64, frame: Frame, into actions: inout [Action]) {
        guard !isClosed else { return }
        guard let last = lastSeq, !fetching, held.isEmpty else { return hold(seq, frame) }
        if seq <= last { return }
        if seq == last + 1 {
            lastSeq = seq
            actions.append(.write(frame))
            actions.append(.flush)
            return
        }
        hold(seq, frame)
        needFetch = true
        pump(into: &actions)
    }

    /// An ephemeral event (typing, presence, a topic's update) arrived; `flush` false when the caller flushes a
    /// whole batch of sockets afterwards.
    mutating func ephemeralArrived(_ frame: Frame, flush: Bool, into actions: inout [Action]) {
        guard !isClosed else { return }
        guard let waiting = beforeHello?.count else {
            actions.append(.write(frame))
            if flush { actions.append(.flush) }
            return
        }
        // The first thing a client reads is hello; a few ephemeral events wait for it, more are dropped.
        if waiting < settings.maxBeforeHello { beforeHello?.append(frame) }
    }

    /// Anything may have been missed (the bus reconnected): compare with the stream.
    mutating func resync(into actions: inout [Action]) {
        guard lastSeq != nil, !isClosed else { return }
        needFetch = true
        pump(into: &actions)
    }

    /// The stream's head is `head`: catch up if that is ahead of what was written.
    mutating func resync(ifBehind head: Int64, into actions: inout [Action]) {
        guard let last = lastSeq, head > last, !fetching, !isClosed else { return }
        needFetch = true
        pump(into: &actions)
    }

    /// A catch-up read returned `events` (in order); `full` when it returned a whole page (more may follow);
    /// `prunedThrough`, how far the stream has been pruned.
    mutating func fetched(_ events: [(seq: Int64, frame: Frame)], full: Bool, prunedThrough: Int64 = 0, into actions: inout [Action]) {
        guard !isClosed, var last = lastSeq else {
            fetching = false
            return
        }
        if last < prunedThrough {
            // Asked for events the stream no longer keeps: say so, and go on from what it keeps.
            actions.append(.reset(from: last, through: prunedThrough))
            last = prunedThrough
            lastSeq = prunedThrough
            held = held.filter { $0.key > prunedThrough }
        }
        if events.isEmpty, let next = held.keys.min(), next > last + 1 {
            // Nothing stored between what was sent and what is held: those events are gone (retention). Go on.
            lastSeq = next - 1
        }
        if full { needFetch = true }
        backlog = events.filter { $0.seq > last }[...]
        actions.append(.writeBacklog)
    }

    /// A catch-up read failed: try again after a pause (`retryFetch`).
    mutating func fetchFailed(into actions: inout [Action]) {
        guard !isClosed else { return }
        actions.append(.retryFetchLater)
    }

    mutating func retryFetch(into actions: inout [Action]) {
        fetching = false
        needFetch = true
        pump(into: &actions)
    }

    /// The next backlog frame to write, if any; the connection asks only while its socket is writable.
    mutating func nextBacklogFrame() -> Frame? {
        guard !isClosed, let next = backlog.popFirst() else { return nil }
        lastSeq = next.seq
        return next.frame
    }

    /// What was written of the backlog has left: go on with the rest, or with whatever the catch-up uncovered.
    mutating func backlogWritten(into actions: inout [Action]) {
        guard !isClosed else { return }
        if backlog.isEmpty {
            fetching = false
            pump(into: &actions)
        } else {
            actions.append(.writeBacklog)
        }
    }

    /// Nothing of the backlog could be written (the socket is not writable yet).
    mutating func backlogStalled(into actions: inout [Action]) {
        guard !isClosed else { return }
        if backlog.isEmpty {
            fetching = false
            pump(into: &actions)
        } else {
            actions.append(.retryBacklogLater)
        }
    }

    /// The socket closed or its session ended: nothing more is written.
    mutating func close() {
        isClosed = true
        held = [:]
        backlog = []
        beforeHello = nil
    }

    // MARK: Internals

    private mutating func begin(at seq: Int64, into actions: inout [Action]) {
        lastSeq = seq
        needFetch = true
        pump(into: &actions)
    }

    private mutating func hold(_ seq: Int64, _ frame: Frame) {
        if let last = lastSeq, seq <= last { return }
        if held.count >= settings.maxHeld {
            // Too much to hold: let it go and read it from PostgreSQL instead.
            held = [:]
            needFetch = true
            return
        }
        held[seq] = frame
    }

    /// Writes what can be written in order, then reads from PostgreSQL if anything is missing.
    private mutating func pump(into actions: inout [Action]) {
        guard !isClosed, !fetching, var last = lastSeq else { return }
        var wrote = false
        while let frame = held.removeValue(forKey: last + 1) {
            last += 1
            actions.append(.write(frame))
            wrote = true
        }
        lastSeq = last
        if !held.isEmpty { held = held.filter { $0.key > last } }
        if wrote { actions.append(.flush) }
        if !held.isEmpty { needFetch = true }
        guard needFetch else {
            if !resumeAcks.isEmpty {
                for id in resumeAcks { actions.append(.acknowledgeResume(id: id, seq: last)) }
                resumeAcks = []
            }
            return
        }
        needFetch = false
        fetching = true
        actions.append(.fetch(after: last, limit: settings.pageSize))
    }
}

extension DeliveryMachine.Action: Equatable where Frame: Equatable {}
