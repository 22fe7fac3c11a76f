public import AgoraCore
public import AgoraWebSocket
import Foundation
public import Logging
public import NIOCore

/// One client's socket: the protocol of the README's "Realtime" section, and durable delivery without gap or
/// duplicate.
///
/// Delivery state: `lastSeq` is the last durable event this connection has written. A live event numbered
/// `lastSeq + 1` is written at once; an older one is dropped (already sent); a newer one means something is missing
/// (a publish not yet arrived, or lost) and the connection reads what follows `lastSeq` from PostgreSQL, holding live
/// events meanwhile. A new connection says `hello` with the stream head, then starts at the `resume` the client sends
/// (or, if it sends none within `resumeWait`, at that head).
///
/// Runs on the channel's event loop: the delegate calls arrive there and everything else hops there first, so the
/// state needs no lock. `@unchecked Sendable` for the hops; nothing touches the state off the loop.
final class RealtimeConnection: WebSocketDelegate, @unchecked Sendable {
    let identity: Identity
    var user: UUID { identity.accountID }
    /// This socket's place under the per-account and per-address caps; given back when it closes.
    let claim: SocketClaims.Claim?
    private let channel: any Channel
    private let hub: RealtimeHub
    private let logger: Logger

    private var lastSeq: Int64?
    /// The head told in `hello`; nil until it has been read.
    private var helloHead: Int64?
    /// A `resume` that arrived before `hello` could be sent.
    private var earlyResume: (seq: Int64, id: JSON?)?
    /// Ids of `resume` requests to acknowledge once caught up.
    private var resumeAcks: [JSON?] = []
    private var fetching = false
    private var needFetch = false
    /// Live durable events that cannot be written yet, by sequence.
    private var held: [Int64: PreparedMessage] = [:]
    private var topics: Set<String> = []
    private var commandQueue: [(type: String, id: JSON?, data: JSON)] = []
    private var commandRunning = false
    private var isClosed = false
    /// Ephemeral events that arrived before `hello` went out (it waits for the stream head); sent right after it.
    private var beforeHello: [PreparedMessage]? = []

    init(identity: Identity, peer: WebSocketPeer, hub: RealtimeHub, claim: SocketClaims.Claim?, logger: Logger) {
        self.identity = identity
        self.claim = claim
        self.channel = peer.channel
        self.hub = hub
        var logger = logger
        logger[metadataKey: "account"] = "\(identity.accountID)"
        self.logger = logger
    }

    private var loop: any EventLoop { channel.eventLoop }

    /// Registers with the hub and reads the stream head for `hello`. On the event loop.
    func start(resumeFrom initial: Int64?) {
        hub.register(self)
        if let initial { earlyResume = (initial, nil) }
        let hub = self.hub
        let user = self.user
        Task {
            // Read the head only once this instance hears the user's channel, so nothing falls between the two.
            let deadline = ContinuousClock.now + hub.settings.subscribeWait
            while !hub.isListening(to: user), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
            let head: Int64
            do {
                head = try await hub.stream.heads([user], logger: self.logger)[user] ?? 0
            } catch {
                self.logger.warning("Realtime connection cannot read its stream head; closing", metadata: ["error": "\(error)"])
                self.loop.execute { self.close(code: WebSocketCloseCode.internalError, reason: "stream unavailable") }
                return
            }
            self.loop.execute { self.gotHead(head) }
        }
    }

    private func gotHead(_ head: Int64) {
        guard !isClosed else { return }
        helloHead = head
        write(text: "{\"type\":\"hello\",\"data\":{\"userId\":\"\(user.uuidString)\",\"seq\":\(head)}}")
        for frame in beforeHello ?? [] { writeFrame(frame, flush: false) }
        beforeHello = nil
        channel.flush()
        if let early = earlyResume {
            earlyResume = nil
            resume(from: early.seq, id: early.id)
        } else {
            loop.scheduleTask(in: TimeAmount(hub.settings.resumeWait)) { [self] in
                if lastSeq == nil, !isClosed { begin(at: head) }
            }
        }
    }

    private func begin(at seq: Int64) {
        lastSeq = seq
        needFetch = true
        pump()
    }

    private func resume(from seq: Int64, id: JSON?) {
        guard let head = helloHead else {
            earlyResume = (seq, id)
            return
        }
        var seq = seq
        let known = max(head, lastSeq ?? head)
        if seq < 0 || seq > known {
            sendError(id: id, code: "resume_ahead", "There is no event \(seq) for you; going on from \(known)")
            seq = known
        }
        resumeAcks.append(id)
        if let last = lastSeq {
            // Already live: a resume from earlier replays from there, because the client asked; one from later is a
            // no-op that is still acknowledged once caught up.
            if seq < last { lastSeq = seq }
            needFetch = true
            pump()
        } else {
            begin(at: seq)
        }
    }

    // MARK: Delivery (any thread)

    func deliverDurable(seq: Int64, frame: PreparedMessage) {
        if loop.inEventLoop { onDurable(seq, frame) } else { loop.execute { self.onDurable(seq, frame) } }
    }

    func deliverEphemeral(_ frame: PreparedMessage) {
        if loop.inEventLoop { onEphemeral(frame) } else { loop.execute { self.onEphemeral(frame) } }
    }

    private func onEphemeral(_ frame: PreparedMessage) {
        guard beforeHello != nil else { return writeFrame(frame, flush: true) }
        // The first thing a client reads is hello; a few ephemeral events wait for it, more are dropped (they are
        // only typing and presence).
        if beforeHello!.count < 64 { beforeHello!.append(frame) }
    }

    /// Catch up if anything may have been missed (after the bus reconnected).
    func resync() {
        loop.execute {
            guard self.lastSeq != nil else { return }
            self.needFetch = true
            self.pump()
        }
    }

    /// Catch up if the stream is ahead of what this connection sent.
    func resync(ifBehind head: Int64) {
        loop.execute {
            guard let last = self.lastSeq, head > last, !self.fetching else { return }
            self.needFetch = true
            self.pump()
        }
    }

    private func onDurable(_ seq: Int64, _ frame: PreparedMessage) {
        guard !isClosed else { return }
        guard let last = lastSeq, !fetching, held.isEmpty else { return hold(seq, frame) }
        if seq <= last { return }
        if seq == last + 1 {
            lastSeq = seq
            writeFrame(frame, flush: true)
            return
        }
        hold(seq, frame)
        needFetch = true
        pump()
    }

    private func hold(_ seq: Int64, _ frame: PreparedMessage) {
        if let last = lastSeq, seq <= last { return }
        if held.count >= hub.settings.maxBufferedEvents {
            // Too much to hold: let it go and read it from PostgreSQL instead.
            held = [:]
            needFetch = true
            return
        }
        held[seq] = frame
    }

    /// Writes what can be written in order, then reads from PostgreSQL if anything is missing.
    private func pump() {
        guard !isClosed, !fetching, var last = lastSeq else { return }
        var wrote = false
        while let frame = held.removeValue(forKey: last + 1) {
            last += 1
            writeFrame(frame, flush: false)
            wrote = true
        }
        lastSeq = last
        held = held.filter { $0.key > last }
        if wrote { channel.flush() }
        if !held.isEmpty { needFetch = true }
        guard needFetch else {
            acknowledgeResumes()
            return
        }
        needFetch = false
        fetching = true
        let after = last
        let limit = hub.settings.resumePageSize
        Task {
            do {
                let events = try await self.hub.stream.events(of: self.user, after: after, limit: limit, logger: self.logger)
                self.loop.execute { self.fetched(events, full: events.count == limit) }
            } catch {
                self.logger.warning("Realtime catch-up failed; retrying", metadata: ["error": "\(error)"])
                self.loop.scheduleTask(in: .seconds(1)) {
                    self.fetching = false
                    self.needFetch = true
                    self.pump()
                }
            }
        }
    }

    private func fetched(_ events: [StreamEvent], full: Bool) {
        guard !isClosed, let last = lastSeq else {
            fetching = false
            return
        }
        if events.isEmpty, let next = held.keys.min(), next > last + 1 {
            // Nothing stored between what was sent and what is held: those events are gone (retention). Go on.
            lastSeq = next - 1
        }
        if full { needFetch = true }
        writeBacklog(events.filter { $0.seq > last }[...])
    }

    /// Writes caught-up events only while the socket keeps up: the next ones wait until what was written has left,
    /// so a long backlog never overflows the send queue (which would close the connection as a slow consumer) and
    /// never piles up in memory. Still `fetching` meanwhile, so live events are held behind it.
    private func writeBacklog(_ backlog: ArraySlice<StreamEvent>) {
        guard !isClosed else { return }
        var backlog = backlog
        var lastWrite: EventLoopFuture<Void>?
        while let event = backlog.first, channel.isWritable {
            backlog = backlog.dropFirst()
            lastWrite = channel.write(WebSocketOutbound.prepared(RealtimeHub.encode(event.frameText)))
            lastSeq = event.seq
        }
        guard let lastWrite else {
            if backlog.isEmpty {
                fetching = false
                return pump()
            }
            // Not writable yet (something else is still leaving): look again shortly.
            loop.scheduleTask(in: .milliseconds(10)) { self.writeBacklog(backlog) }
            return
        }
        channel.flush()
        lastWrite.whenComplete { _ in
            if backlog.isEmpty {
                self.fetching = false
                self.pump()
            } else {
                self.writeBacklog(backlog)
            }
        }
    }

    private func acknowledgeResumes() {
        guard !resumeAcks.isEmpty, let last = lastSeq else { return }
        for id in resumeAcks { sendAck(id: id, data: "{\"seq\":\(last)}") }
        resumeAcks = []
    }

    // MARK: Client messages (event loop)

    func received(_ message: WebSocketMessage, from peer: WebSocketPeer) {
        // Closing (session ended, too many pending commands): the rest of what was already read is not acted on.
        guard !isClosed else { return }
        guard case .text(let text) = message else {
            return sendError(id: nil, code: "bad_message", "Messages are JSON text frames")
        }
        let envelope: ClientEnvelope
        do {
            envelope = try JSONDecoder().decode(ClientEnvelope.self, from: Data(text.utf8))
        } catch {
            return sendError(id: nil, code: "bad_message", "A message is a JSON object with a string \"type\"")
        }
        do {
            try AgoraJSONDecoder.refuseNUL(in: text.utf8)  // TextPolicy, as for HTTP bodies
        } catch {
            let field = error.fields.keys.first ?? "data"
            return sendError(id: envelope.id, code: error.code, "\(field) \(TextPolicy.nulProblem)")
        }
        let data = envelope.data ?? .object([:])
        if envelope.type != "resume", lastSeq == nil, let head = helloHead, earlyResume == nil { begin(at: head) }
        switch envelope.type {
        case "ping":
            sendAck(id: envelope.id, data: "{}")
        case "resume":
            guard let seq = (data["lastSeq"] ?? data["seq"])?.int64 else {
                return sendError(id: envelope.id, code: "bad_message", "resume needs data.lastSeq, the last sequence processed")
            }
            resume(from: seq, id: envelope.id)
        case "subscribe", "unsubscribe":
            enqueue(envelope.type, id: envelope.id, data: data)
        case let type where hub.commands(for: type) != nil:
            enqueue(type, id: envelope.id, data: data)
        default:
            sendError(id: envelope.id, code: "unknown_type", "Unknown message type \(envelope.type.prefix(40))")
        }
    }

    /// Whether this socket may still follow `topic`; if not, it loses the topic and is told so. Any thread.
    func recheck(_ topic: String) {
        let hub = self.hub
        let identity = self.identity
        Task {
            let allowed: Bool
            do {
                allowed = try await hub.topicAuthorizer.mayFollow(topic, identity: identity, logger: self.logger)
            } catch {
                self.logger.warning("Topic recheck failed; keeping the topic", metadata: ["topic": "\(topic)", "error": "\(error)"])
                return
            }
            guard !allowed else { return }
            self.loop.execute {
                guard !self.isClosed, self.topics.remove(topic) != nil else { return }
                hub.leave(topic, self)
                self.write(
                    text: "{\"type\":\"error\",\"id\":null,\"data\":{\"code\":\"topic_revoked\",\"message\":\"This topic is no longer available\",\"topic\":\(jsonString(topic))}}"
                )
            }
        }
    }

    /// The socket's session ended (logout, password change, expiry…): nothing more is sent or run for it. Any thread.
    func endSession() {
        loop.execute {
            guard !self.isClosed else { return }
            self.isClosed = true
            self.held = [:]
            self.commandQueue = []
            self.logger.info("Realtime socket closed: its session ended")
            self.close(code: SessionSignals.closeCode, reason: "session ended")
        }
    }

    func closed(_ peer: WebSocketPeer) {
        isClosed = true
        held = [:]
        commandQueue = []
        hub.unregister(self, topics: topics)
    }

    /// Commands of one connection run one at a time, in the order sent: two `chat:send`s are stored in order.
    private func enqueue(_ type: String, id: JSON?, data: JSON) {
        // A client that sends faster than its commands run is not waited for without bound.
        guard commandQueue.count < hub.settings.maxPendingCommands else {
            logger.info("Realtime socket closed: too many pending commands", metadata: ["pending": "\(commandQueue.count)"])
            isClosed = true
            commandQueue = []
            return close(code: WebSocketCloseCode.policyViolation, reason: "too many pending commands")
        }
        commandQueue.append((type, id, data))
        runNextCommand()
    }

    private func runNextCommand() {
        guard !commandRunning, !isClosed, !commandQueue.isEmpty else { return }
        let command = commandQueue.removeFirst()
        commandRunning = true
        Task {
            let outcome: Result<String?, any Error>
            do {
                outcome = .success(try await self.run(command.type, data: command.data))
            } catch {
                outcome = .failure(error)
            }
            self.loop.execute {
                self.commandRunning = false
                switch outcome {
                case .success(let ack): self.sendAck(id: command.id, data: ack ?? "{}")
                case .failure(let error as AgoraError): self.sendError(id: command.id, code: error.code, error.message)
                case .failure(let error):
                    self.logger.error("Realtime command failed", metadata: ["type": "\(command.type)", "error": "\(error)"])
                    self.sendError(id: command.id, code: "internal_error", "Something went wrong; try again")
                }
                self.runNextCommand()
            }
        }
    }

    /// Off the event loop.
    private func run(_ type: String, data: JSON) async throws -> String? {
        try await hub.chargeCommand(user, logger: logger)
        switch type {
        case "subscribe":
            let topic = try Self.topic(in: data)
            let count = try await loop.submit { self.topics.count }.get()
            guard count < hub.settings.maxTopicsPerConnection else {
                throw AgoraError(.validation, code: "too_many_topics", "At most \(hub.settings.maxTopicsPerConnection) topics per connection")
            }
            guard try await hub.topicAuthorizer.mayFollow(topic, identity: identity, logger: logger) else {
                throw AgoraError(.forbidden, code: "topic_forbidden", "You may not follow \(topic)")
            }
            try await loop.submit {
                guard !self.isClosed, self.topics.insert(topic).inserted else { return }
                self.hub.join(topic, self)
            }.get()
            return "{\"topic\":\(jsonString(topic))}"
        case "unsubscribe":
            let topic = try Self.topic(in: data)
            try await loop.submit {
                if self.topics.remove(topic) != nil { self.hub.leave(topic, self) }
            }.get()
            return "{\"topic\":\(jsonString(topic))}"
        default:
            guard let handler = hub.commands(for: type) else { throw AgoraError(.badRequest, code: "unknown_type", "Unknown message type") }
            return try await handler.run(type, data: data, identity: identity, logger: logger)
        }
    }

    /// `kind:id`, e.g. `product:5f0c…`: lower-case letters, a colon, then up to 64 letters, digits and dashes.
    static func topic(in data: JSON) throws -> String {
        guard let topic = data["topic"]?.string, let colon = topic.firstIndex(of: ":"), topic.utf8.count <= 80,
            topic[..<colon].allSatisfy({ $0.isASCII && $0.isLowercase }), !topic[..<colon].isEmpty,
            topic[topic.index(after: colon)...].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
            topic.index(after: colon) < topic.endIndex
        else { throw AgoraError(.validation, code: "bad_topic", "A topic looks like product:<id>") }
        return topic
    }

    // MARK: Writing (event loop)

    private func write(text: String) {
        writeFrame(RealtimeHub.encode(text), flush: true)
    }

    private func writeFrame(_ frame: PreparedMessage, flush: Bool) {
        guard !isClosed else { return }
        if flush { channel.writeAndFlush(WebSocketOutbound.prepared(frame), promise: nil) } else { channel.write(WebSocketOutbound.prepared(frame), promise: nil) }
    }

    private func sendAck(id: JSON?, data: String) {
        write(text: "{\"type\":\"ack\",\"id\":\(Self.text(of: id)),\"data\":\(data)}")
    }

    private func sendError(id: JSON?, code: String, _ message: String) {
        write(text: "{\"type\":\"error\",\"id\":\(Self.text(of: id)),\"data\":{\"code\":\(jsonString(code)),\"message\":\(jsonString(message))}}")
    }

    private func close(code: UInt16, reason: String) {
        channel.writeAndFlush(WebSocketOutbound.close(code: code, reason: reason), promise: nil)
    }

    private static func text(of id: JSON?) -> String {
        guard let id, let data = try? JSONEncoder().encode(id) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// `{"type": "...", "id": ..., "data": {...}}` from a client.
struct ClientEnvelope: Decodable {
    var type: String
    var id: JSON?
    var data: JSON?
}
