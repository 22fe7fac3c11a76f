internal import CHiredis
import Foundation
package import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A message received on a subscribed channel or pattern.
package struct RedisPubSubMessage: Sendable {
    /// The channel it was published on.
    package let channel: String
    /// The pattern that matched, for `PSUBSCRIBE` deliveries.
    package let pattern: String?
    /// The message bytes.
    package let payload: [UInt8]
}

/// One Redis pub/sub connection on its own thread, subscribing and unsubscribing while it runs.
///
/// `subscribe` and friends may be called from any thread: they record what is wanted and wake the subscriber
/// thread, which alone touches the hiredis context. When Redis goes away the thread reconnects with backoff
/// (100 ms doubling to 5 s) and subscribes to everything wanted again, so a caller's subscriptions outlive
/// any number of disconnects. Messages go to the `handler` given to `run` on the subscriber thread: it must be quick and
/// must not block. Its owner runs it (it is not a `Service` of its own: the handlers are the owner's).
package final class RedisSubscriber: Sendable {
    private struct State {
        var channels: Set<String> = []
        var patterns: Set<String> = []
        /// Commands waiting for the subscriber thread.
        var pending: [[String]] = []
        /// What the server has confirmed on the current connection.
        var confirmedChannels: Set<String> = []
        var confirmedPatterns: Set<String> = []
        var stopping = false
        var connections = 0
        /// Channels and patterns subscribed at the last (re)connect that the server has not confirmed yet; `onReady`
        /// runs when this empties.
        var awaitingReady: Set<String>?
    }

    private let configuration: RedisConfiguration
    /// The connection's `CLIENT SETNAME`, so operators (and tests) can find it in `CLIENT LIST`.
    package let name: String
    private let logger: Logger
    private let state = Mutex(State())
    private let wake: WakePipe
    private let thread = NIOThreadPool(numberOfThreads: 1)

    /// What the subscriber thread calls: given to `run`, so an owner can pass closures over itself without
    /// patching them in after its own construction.
    private struct Handlers: Sendable {
        var onReady: (@Sendable () -> Void)?
        var message: @Sendable (RedisPubSubMessage) -> Void
    }

    /// Makes a subscriber; nothing connects until `run(onReady:handler:)`. Subscriptions made before are sent when it
    /// connects.
    /// - Parameters:
    ///   - configuration: where Redis is (the database number does not matter to pub/sub).
    ///   - name: the connection's client name in `CLIENT LIST` (letters, digits, `-`, `_`).
    ///   - logger: disconnects and reconnects are logged here.
    package init(configuration: RedisConfiguration, name: String = "agora-subscriber", logger: Logger) throws {
        self.configuration = configuration
        self.name = name
        self.logger = logger
        self.wake = try WakePipe()
    }

    // MARK: Subscriptions (any thread)

    /// Subscribes to `channels` (those not already wanted).
    package func subscribe(_ channels: [String]) { change(\.channels, add: true, channels, command: "SUBSCRIBE") }
    /// Unsubscribes from `channels`.
    package func unsubscribe(_ channels: [String]) { change(\.channels, add: false, channels, command: "UNSUBSCRIBE") }
    /// Subscribes to glob `patterns`.
    package func psubscribe(_ patterns: [String]) { change(\.patterns, add: true, patterns, command: "PSUBSCRIBE") }
    /// Unsubscribes from glob `patterns`.
    package func punsubscribe(_ patterns: [String]) { change(\.patterns, add: false, patterns, command: "PUNSUBSCRIBE") }

    /// Whether the server has confirmed a subscription to `channel` on the current connection.
    package func isSubscribed(_ channel: String) -> Bool { state.withLock { $0.confirmedChannels.contains(channel) } }
    /// Whether the server has confirmed a subscription to `pattern` on the current connection.
    package func isSubscribed(pattern: String) -> Bool { state.withLock { $0.confirmedPatterns.contains(pattern) } }
    /// How many times the subscriber has connected (1 + reconnects).
    package var connectionCount: Int { state.withLock { $0.connections } }

    private func change(_ set: WritableKeyPath<State, Set<String>>, add: Bool, _ names: [String], command: String) {
        let changed = state.withLock { state -> [String] in
            let changed = names.filter { add ? !state[keyPath: set].contains($0) : state[keyPath: set].contains($0) }
            guard !changed.isEmpty else { return [] }
            for name in changed {
                if add { state[keyPath: set].insert(name) } else { state[keyPath: set].remove(name) }
            }
            state.pending.append([command] + changed)
            return changed
        }
        if !changed.isEmpty { wake.signal() }
    }

    // MARK: Service

    /// Runs the subscriber thread until graceful shutdown or cancellation.
    /// - Parameters:
    ///   - onReady: called on the subscriber thread after every (re)connect, once the server has confirmed everything
    ///     wanted at that moment: from then on nothing published on those channels is missed, so a consumer can
    ///     catch up on what it missed while disconnected.
    ///   - handler: called on the subscriber thread for every message.
    package func run(onReady: (@Sendable () -> Void)? = nil, handler: @escaping @Sendable (RedisPubSubMessage) -> Void) async throws {
        let handlers = Handlers(onReady: onReady, message: handler)
        thread.start()
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await thread.runIfActive { self.loop(handlers) }
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
        try await thread.shutdownGracefully()
    }

    private func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    // MARK: The subscriber thread

    private func loop(_ handlers: Handlers) {
        var backoff: Duration = .milliseconds(100)
        var wasConnected = false
        while !isStopping {
            let context: UnsafeMutablePointer<redisContext>
            do {
                context = try connect()
            } catch {
                logger.warning("Redis subscriber cannot connect; retrying", metadata: ["error": "\(error.message)", "retry_in": "\(backoff)"])
                wake.wait(timeout: backoff)
                backoff = min(backoff * 2, .seconds(5))
                continue
            }
            backoff = .milliseconds(100)
            let (channels, patterns) = state.withLock { state in
                // Everything wanted is sent now, so older queued commands are moot.
                state.pending = []
                state.confirmedChannels = []
                state.confirmedPatterns = []
                state.connections += 1
                state.awaitingReady = Set(state.channels.map { "c:" + $0 } + state.patterns.map { "p:" + $0 })
                return (Array(state.channels), Array(state.patterns))
            }
            readyIfConfirmed(nil, handlers)
            if !channels.isEmpty { append(context, ["SUBSCRIBE"] + channels) }
            if !patterns.isEmpty { append(context, ["PSUBSCRIBE"] + patterns) }
            if wasConnected {
                logger.info("Redis subscriber reconnected", metadata: ["channels": "\(channels.count)", "patterns": "\(patterns.count)"])
            }
            wasConnected = true
            let reason = serve(context, handlers)
            redisFree(context)
            if let reason {
                logger.warning("Redis subscriber lost its connection; reconnecting", metadata: ["error": "\(reason)"])
                state.withLock {
                    $0.confirmedChannels = []
                    $0.confirmedPatterns = []
                }
            }
        }
    }

    private func connect() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        let context = try RedisConnection.connect(configuration)
        var setup: [[String]] = [["CLIENT", "SETNAME", name]]
        if let password = configuration.password {
            setup.insert(configuration.user.map { ["AUTH", $0, password] } ?? ["AUTH", password], at: 0)
        }
        for command in setup {
            let reply = RedisConnection.withArgv(command) { argc, argv, lengths in redisCommandArgv(context, argc, argv, lengths) }
            defer { if let reply { freeReplyObject(reply) } }
            guard let reply, reply.assumingMemoryBound(to: redisReply.self).pointee.type != REDIS_REPLY_ERROR else {
                redisFree(context)
                throw RedisError(.connectionFailed, message: "Redis refused the subscriber's \(command[0])")
            }
        }
        if !configuration.sentinels.isEmpty {
            do {
                try RedisSentinel.checkMaster(context, configuration)
            } catch {
                redisFree(context)
                throw error
            }
        }
        // A subscriber waits indefinitely for messages: no read timeout (TCP keep-alive catches dead peers; with
        // Sentinel, the PINGs of `serve` catch a master that hangs).
        _ = redisSetTimeout(context, timeval(tv_sec: 0, tv_usec: 0))
        return context
    }

    /// Serves one connection until it breaks (returns why) or the subscriber stops (returns nil).
    private func serve(_ context: UnsafeMutablePointer<redisContext>, _ handlers: Handlers) -> String? {
        // With Sentinel, a master that stops answering (hung, partitioned) must be left for the new one Sentinel
        // promotes: a connection silent for a second is PINGed, and one that does not answer in three is given up.
        let watch = !configuration.sentinels.isEmpty
        var lastHeard = ContinuousClock.now
        var pingSent: ContinuousClock.Instant?
        while true {
            let commands = state.withLock { state -> [[String]]? in
                if state.stopping { return nil }
                defer { state.pending = [] }
                return state.pending
            }
            guard let commands else { return nil }
            for command in commands { append(context, command) }
            if !flush(context) { return RedisConnection.errorString(context) }

            var descriptors = [
                pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0),
            ]
            if watch {
                let now = ContinuousClock.now
                if let sent = pingSent, now - sent > .seconds(3) { return "no answer to PING within 3 s" }
                if pingSent == nil, now - lastHeard > .seconds(1) {
                    append(context, ["PING"])
                    if !flush(context) { return RedisConnection.errorString(context) }
                    pingSent = now
                }
            }
            let ready = poll(&descriptors, 2, watch ? 500 : -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return "poll failed: \(String(cString: strerror(errno)))"
            }
            if descriptors[1].revents != 0 { wake.drain() }
            if descriptors[0].revents != 0 {
                guard redisBufferRead(context) == REDIS_OK else { return RedisConnection.errorString(context) }
                lastHeard = ContinuousClock.now
                pingSent = nil
                var reply: UnsafeMutableRawPointer?
                while redisGetReplyFromReader(context, &reply) == REDIS_OK, let raw = reply {
                    defer { freeReplyObject(raw) }
                    reply = nil
                    if let value = try? RedisValue(raw.assumingMemoryBound(to: redisReply.self)) { dispatch(value, handlers) }
                }
                if context.pointee.err != 0 { return RedisConnection.errorString(context) }
            }
        }
    }

    /// Notes a confirmation; runs `onReady` when the last one of this connection's initial set arrives.
    private func readyIfConfirmed(_ confirmed: String?, _ handlers: Handlers) {
        let ready = state.withLock { state -> Bool in
            guard var awaiting = state.awaitingReady else { return false }
            if let confirmed { awaiting.remove(confirmed) }
            state.awaitingReady = awaiting.isEmpty ? nil : awaiting
            return awaiting.isEmpty
        }
        if ready { handlers.onReady?() }
    }

    private func append(_ context: UnsafeMutablePointer<redisContext>, _ command: [String]) {
        _ = RedisConnection.withArgv(command) { argc, argv, lengths in
            argv.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(argc)) { argv in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
        }
    }

    private func flush(_ context: UnsafeMutablePointer<redisContext>) -> Bool {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { return false }
        }
        return true
    }

    private func dispatch(_ value: RedisValue, _ handlers: Handlers) {
        guard let parts = value.array, let kind = parts.first?.string else { return }
        switch (kind, parts.count) {
        case ("message", 3):
            guard let channel = parts[1].string, case .bulk(let payload) = parts[2] else { return }
            handlers.message(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload))
        case ("pmessage", 4):
            guard let pattern = parts[1].string, let channel = parts[2].string, case .bulk(let payload) = parts[3] else { return }
            handlers.message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload))
        case ("subscribe", 3):
            if let channel = parts[1].string {
                state.withLock { _ = $0.confirmedChannels.insert(channel) }
                readyIfConfirmed("c:" + channel, handlers)
            }
        case ("unsubscribe", 3):
            if let channel = parts[1].string {
                state.withLock { _ = $0.confirmedChannels.remove(channel) }
                readyIfConfirmed("c:" + channel, handlers)  // unsubscribed before it was confirmed: nothing to wait for
            }
        case ("psubscribe", 3):
            if let pattern = parts[1].string {
                state.withLock { _ = $0.confirmedPatterns.insert(pattern) }
                readyIfConfirmed("p:" + pattern, handlers)
            }
        case ("pong", 2):
            break  // the answer to the health PING
        case ("punsubscribe", 3):
            if let pattern = parts[1].string { state.withLock { _ = $0.confirmedPatterns.remove(pattern) } }
        default:
            logger.debug("Unexpected pub/sub reply", metadata: ["kind": "\(kind)"])
        }
    }
}

/// A self-pipe that wakes the subscriber thread out of `poll`.
final class WakePipe: Sendable {
    let readEnd: Int32
    private let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw RedisError(.connectionFailed, message: "cannot create a wake pipe") }
        readEnd = fds[0]
        writeEnd = fds[1]
        // Non-blocking both ways: a full pipe already means "wake up", and draining stops when it is empty.
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }

    /// Sleeps up to `timeout`, returning early if signalled.
    func wait(timeout: Duration) {
        var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        let (seconds, attoseconds) = timeout.components
        _ = poll(&descriptor, 1, Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        drain()
    }
}
