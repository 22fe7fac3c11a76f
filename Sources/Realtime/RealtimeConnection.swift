import AgoraCore
import AgoraWebSocket
import Foundation
import Logging
import NIOCore

/// One client's socket: the protocol of the README's "Realtime" section, and durable delivery without gap or
/// duplicate.
///
/// What is delivered when is `DeliveryMachine`'s decision; this class feeds it events and carries out its actions:
/// writes on the channel, catch-up reads from PostgreSQL, timers. Commands run one at a time in the order sent, each
/// in a task that prefers the channel's event loop as its executor, so a command starts, resumes after each await
/// and answers on the loop itself, without hopping through Swift's cooperative pool.
///
/// Runs on the channel's event loop: the delegate calls arrive there and everything else hops there first, so the
/// state needs no lock. `@unchecked Sendable` for the hops; nothing touches the state off the loop.
final class RealtimeConnection: WebSocketDelegate, @unchecked Sendable {
    typealias Machine = DeliveryMachine<PreparedMessage>

    let identity: Identity
    var user: UUID { identity.accountID }
    /// This socket's place under the per-account and per-address caps; given back when it closes.
    let claim: SocketClaims.Claim?
    private let channel: any Channel
    private let hub: RealtimeHub
    /// The domains' command handlers, by type (`RealtimeGateway`).
    private let commands: [String: any RealtimeCommands]
    private let logger: Logger

    private var machine: Machine
    private var topics: Set<String> = []
    private var commandQueue: [(type: String, id: ClientRequestID?, data: CommandData)] = []
    private var commandRunning = false
    /// Nothing more is read or run (the session ended, too many pending commands, or the socket closed).
    private var isClosed = false
    /// Frames written since the last flush.
    private var unflushed = false

    init(
        identity: Identity, peer: WebSocketPeer, hub: RealtimeHub, commands: [String: any RealtimeCommands], claim: SocketClaims.Claim?,
        resume: Int64?, logger: Logger
    ) {
        self.commands = commands
        self.identity = identity
        self.claim = claim
        self.channel = peer.channel
        self.hub = hub
        self.machine = Machine(
            settings: .init(maxHeld: hub.settings.maxBufferedEvents, pageSize: hub.settings.resumePageSize), resume: resume
        )
        var logger = logger
        logger[metadataKey: "account"] = "\(identity.accountID)"
        self.logger = logger
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    /// Registers with the hub and reads the stream head for `hello`. On the event loop.
    func start() {
        hub.register(self)
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
                self.eventLoop.execute { self.close(code: WebSocketCloseCode.internalError, reason: "stream unavailable") }
                return
            }
            self.eventLoop.execute { self.step { $0.headRead(head, into: &$1) } }
        }
    }

    // MARK: The machine (event loop)

    /// Feeds the machine one event and carries out what it asks.
    private func step(_ event: (inout Machine, inout [Machine.Action]) -> Void) {
        var actions: [Machine.Action] = []
        event(&machine, &actions)
        for action in actions { perform(action) }
    }

    private func perform(_ action: Machine.Action) {
        switch action {
        case .writeHello(let head):
            write(.hello(userId: user, seq: head), flush: false)
        case .write(let frame):
            writeFrame(frame)
        case .flush:
            flushWrites()
        case .fetch(let after, let limit):
            fetch(after: after, limit: limit)
        case .retryFetchLater:
            eventLoop.scheduleTask(in: .seconds(1)) { self.step { $0.retryFetch(into: &$1) } }
        case .awaitResume(let head):
            eventLoop.scheduleTask(in: TimeAmount(hub.settings.resumeWait)) { self.step { $0.resumeWaitElapsed(head: head, into: &$1) } }
        case .reset(let from, let through):
            write(.ephemeral(type: "reset", data: JSONText(json: "{\"from\":\(from),\"through\":\(through)}")))
        case .resumeAhead(let id, let asked, let known):
            write(.error(id: id, code: "resume_ahead", message: "There is no event \(asked) for you; going on from \(known)"))
        case .acknowledgeResume(let id, let seq):
            write(.ack(id: id, data: JSONText(json: "{\"seq\":\(seq)}")))
        case .writeBacklog:
            writeBacklog()
        case .retryBacklogLater:
            eventLoop.scheduleTask(in: .milliseconds(10)) { self.writeBacklog() }
        }
    }

    private func fetch(after: Int64, limit: Int) {
        Task {
            do {
                let found = try await self.hub.stream.catchUp(of: self.user, after: after, limit: limit, logger: self.logger)
                let frames = found.events.map { (seq: $0.seq, frame: RealtimeHub.encode($0.frameText)) }
                let full = found.events.count == limit
                self.eventLoop.execute { self.step { $0.fetched(frames, full: full, prunedThrough: found.prunedThrough, into: &$1) } }
            } catch {
                self.logger.warning("Realtime catch-up failed; retrying", metadata: ["error": "\(error)"])
                self.eventLoop.execute { self.step { $0.fetchFailed(into: &$1) } }
            }
        }
    }

    /// Writes caught-up events only while the socket keeps up: the next ones wait until what was written has left,
    /// so a long backlog never overflows the send queue (which would close the connection as a slow consumer) and
    /// never piles up in memory. Live events are held by the machine meanwhile.
    private func writeBacklog() {
        var lastWrite: EventLoopFuture<Void>?
        while channel.isWritable, let frame = machine.nextBacklogFrame() {
            lastWrite = channel.write(WebSocketOutbound.prepared(frame))
        }
        guard let lastWrite else { return step { $0.backlogStalled(into: &$1) } }
        channel.flush()
        lastWrite.whenComplete { _ in self.step { $0.backlogWritten(into: &$1) } }
    }

    // MARK: Delivery (the hub calls these on the event loop)

    func onDurable(_ seq: Int64, _ frame: PreparedMessage) {
        step { $0.durableArrived(seq: seq, frame: frame, into: &$1) }
    }

    /// `flush` false when the hub flushes a whole batch of sockets afterwards (`flushWrites`).
    func onEphemeral(_ frame: PreparedMessage, flush: Bool) {
        step { $0.ephemeralArrived(frame, flush: flush, into: &$1) }
    }

    func flushWrites() {
        guard unflushed else { return }
        unflushed = false
        channel.flush()
    }

    /// Catch up if anything may have been missed (after the bus reconnected). Any thread.
    func resync() {
        eventLoop.execute { self.step { $0.resync(into: &$1) } }
    }

    /// Catch up if the stream is ahead of what this connection sent. Any thread.
    func resync(ifBehind head: Int64) {
        eventLoop.execute { self.step { $0.resync(ifBehind: head, into: &$1) } }
    }

    // MARK: Client messages (event loop)

    /// `{"type": ..., "id": ..., "data": ...}` from a client: what is needed to route it; each command decodes its
    /// own `data`.
    private struct Envelope: Decodable {
        var type: String
        var id: ClientRequestID?
    }

    private struct ResumeData: Decodable {
        var lastSeq: Int64?
        var seq: Int64?
    }

    private struct TopicData: Decodable {
        var topic: String
    }

    func received(_ message: WebSocketMessage, from peer: WebSocketPeer) {
        // Closing (session ended, too many pending commands): the rest of what was already read is not acted on.
        guard !isClosed else { return }
        guard case .text(let text) = message else {
            return write(.error(id: nil, code: "bad_message", message: "Messages are JSON text frames"))
        }
        let bytes = Data(text.utf8)
        let envelope: Envelope
        do {
            envelope = try AgoraJSON.decoder.decode(Envelope.self, from: bytes)
        } catch {
            return write(.error(id: nil, code: "bad_message", message: "A message is a JSON object with a string \"type\""))
        }
        do {
            try AgoraJSONDecoder.refuseNUL(in: text.utf8)  // TextPolicy, as for HTTP bodies
        } catch {
            let field = error.fields.keys.first ?? "data"
            return write(.error(id: envelope.id, code: error.code, message: "\(field) \(TextPolicy.nulProblem)"))
        }
        let data = CommandData(message: bytes)
        if envelope.type != "resume" { step { $0.clientSpoke(into: &$1) } }
        switch envelope.type {
        case "ping":
            write(.ack(id: envelope.id, data: .emptyObject))
        case "resume":
            guard let resume = try? data.decode(ResumeData.self), let seq = resume.lastSeq ?? resume.seq else {
                return write(.error(id: envelope.id, code: "bad_message", message: "resume needs data.lastSeq, the last sequence processed"))
            }
            step { $0.resume(from: seq, id: envelope.id, into: &$1) }
        case "subscribe", "unsubscribe":
            enqueue(envelope.type, id: envelope.id, data: data)
        case let type where commands[type] != nil:
            enqueue(type, id: envelope.id, data: data)
        default:
            write(.error(id: envelope.id, code: "unknown_type", message: "Unknown message type \(envelope.type.prefix(40))"))
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
            self.eventLoop.execute {
                guard !self.isClosed, self.topics.remove(topic) != nil else { return }
                hub.leave(topic, self)
                self.write(.error(id: nil, code: "topic_revoked", message: "This topic is no longer available", topic: topic))
            }
        }
    }

    /// The socket's session ended (logout, password change, expiry…): nothing more is sent or run for it. Any thread.
    func endSession() {
        eventLoop.execute {
            guard !self.isClosed else { return }
            self.shut()
            self.logger.info("Realtime socket closed: its session ended")
            self.close(code: SessionSignals.closeCode, reason: "session ended")
        }
    }

    func closed(_ peer: WebSocketPeer) {
        shut()
        hub.unregister(self, topics: topics)
    }

    private func shut() {
        isClosed = true
        machine.close()
        commandQueue = []
    }

    // MARK: Commands (event loop)

    /// Commands of one connection run one at a time, in the order sent: two `chat:send`s are stored in order.
    private func enqueue(_ type: String, id: ClientRequestID?, data: CommandData) {
        // A client that sends faster than its commands run is not waited for without bound.
        guard commandQueue.count < hub.settings.maxPendingCommands else {
            logger.info("Realtime socket closed: too many pending commands", metadata: ["pending": "\(commandQueue.count)"])
            shut()
            return close(code: WebSocketCloseCode.policyViolation, reason: "too many pending commands")
        }
        commandQueue.append((type, id, data))
        runNextCommand()
    }

    private func runNextCommand() {
        guard !commandRunning, !isClosed, !commandQueue.isEmpty else { return }
        let command = commandQueue.removeFirst()
        commandRunning = true
        Task(executorPreference: EventLoopTaskExecutor(eventLoop)) {
            let outcome: Result<JSONText?, any Error>
            do {
                outcome = .success(try await self.run(command.type, data: command.data))
            } catch {
                outcome = .failure(error)
            }
            // Normally on the loop already (the executor preference); a hop otherwise.
            if self.eventLoop.inEventLoop {
                self.finished(command.type, id: command.id, outcome)
            } else {
                self.eventLoop.execute { self.finished(command.type, id: command.id, outcome) }
            }
        }
    }

    private func finished(_ type: String, id: ClientRequestID?, _ outcome: Result<JSONText?, any Error>) {
        commandRunning = false
        switch outcome {
        case .success(let ack): write(.ack(id: id, data: ack ?? .emptyObject))
        case .failure(let error as AgoraError): write(.error(id: id, code: error.code, message: error.message))
        case .failure(let error):
            logger.error("Realtime command failed", metadata: ["type": "\(type)", "error": "\(error)"])
            write(.error(id: id, code: "internal_error", message: "Something went wrong; try again"))
        }
        runNextCommand()
    }

    /// In the command's task (which prefers the event loop, but the state is only touched in `onLoop`).
    private func run(_ type: String, data: CommandData) async throws -> JSONText? {
        try await hub.chargeCommand(user, logger: logger)
        switch type {
        case "subscribe":
            let topic = try Self.topic(in: data)
            let count = try await onLoop { self.topics.count }
            guard count < hub.settings.maxTopicsPerConnection else {
                throw AgoraError(.validation, code: "too_many_topics", "At most \(hub.settings.maxTopicsPerConnection) topics per connection")
            }
            guard try await hub.topicAuthorizer.mayFollow(topic, identity: identity, logger: logger) else {
                throw AgoraError(.forbidden, code: "topic_forbidden", "You may not follow \(topic)")
            }
            try await onLoop {
                guard !self.isClosed, self.topics.insert(topic).inserted else { return }
                self.hub.join(topic, self)
            }
            return try JSONText(encoding: ["topic": topic])
        case "unsubscribe":
            let topic = try Self.topic(in: data)
            try await onLoop {
                if self.topics.remove(topic) != nil { self.hub.leave(topic, self) }
            }
            return try JSONText(encoding: ["topic": topic])
        default:
            guard let handler = commands[type] else { throw AgoraError(.badRequest, code: "unknown_type", "Unknown message type") }
            return try await handler.run(type, data: data, identity: identity, logger: logger)
        }
    }

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        if eventLoop.inEventLoop { return body() }
        return try await eventLoop.submit(body).get()
    }

    /// `kind:id`, e.g. `product:5f0c…`: lower-case letters, a colon, then up to 64 letters, digits and dashes.
    static func topic(in data: CommandData) throws -> String {
        let bad = AgoraError(.validation, code: "bad_topic", "A topic looks like product:<id>")
        guard let topic = try? data.decode(TopicData.self).topic, let colon = topic.firstIndex(of: ":"), topic.utf8.count <= 80,
            topic[..<colon].allSatisfy({ $0.isASCII && $0.isLowercase }), !topic[..<colon].isEmpty,
            topic[topic.index(after: colon)...].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
            topic.index(after: colon) < topic.endIndex
        else { throw bad }
        return topic
    }

    // MARK: Writing (event loop)

    private func write(_ message: ServerMessage, flush: Bool = true) {
        writeFrame(RealtimeHub.encode(message.text))
        if flush { flushWrites() }
    }

    private func writeFrame(_ frame: PreparedMessage) {
        guard !isClosed else { return }
        channel.write(WebSocketOutbound.prepared(frame), promise: nil)
        unflushed = true
    }

    private func close(code: UInt16, reason: String) {
        channel.writeAndFlush(WebSocketOutbound.close(code: code, reason: reason), promise: nil)
    }
}
