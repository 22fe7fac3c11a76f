import Foundation
package import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `LISTEN` on one channel, on a connection and a thread of its own, run as a service.
///
/// PostgreSQL delivers a `NOTIFY` (or `pg_notify`) when the transaction that sent it commits, so a listener learns of
/// a committed change within a fraction of a millisecond instead of at its next poll. The thread blocks in `poll` on
/// the connection's socket and a wake pipe (for shutdown), so it costs nothing while nothing happens.
///
/// A notification sent while the listener was not connected is lost (PostgreSQL keeps none for absent listeners):
/// `onListening` is called each time LISTEN takes effect, first and after every reconnect, so the owner can look
/// for what it may have missed. Keep a slow poll as a safety net besides.
package final class PGListener: Service, Sendable {
    private let configuration: PGConfiguration
    private let channel: String
    private let logger: Logger
    private let onNotification: @Sendable (String) -> Void
    private let onListening: @Sendable () -> Void
    private let reconnectDelay: Duration
    private let state = Mutex(State())
    /// A pipe whose read end the thread polls beside its socket: a byte written to it ends the thread's wait.
    private let wake: (read: Int32, write: Int32)

    private struct State {
        var stopped = false
        var backendPID: Int32?
        var finished: CheckedContinuation<Void, Never>?
        var threadDone = false
        var started = false
    }

    /// - Parameters:
    ///   - channel: the channel name, letters, digits and underscores only (it is written into `LISTEN` as an
    ///     identifier).
    ///   - reconnectDelay: the wait before reconnecting after the connection broke or could not be opened.
    ///   - onNotification: called on the listener's thread with each notification's payload, in order.
    ///   - onListening: called on the listener's thread each time LISTEN has taken effect.
    package init(
        configuration: PGConfiguration, channel: String, reconnectDelay: Duration = .seconds(1), logger: Logger,
        onNotification: @escaping @Sendable (String) -> Void, onListening: @escaping @Sendable () -> Void = {}
    ) {
        precondition(!channel.isEmpty && channel.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) })
        self.configuration = configuration
        self.channel = channel
        self.reconnectDelay = reconnectDelay
        self.logger = logger
        self.onNotification = onNotification
        self.onListening = onListening
        var descriptors: [Int32] = [0, 0]
        precondition(pipe(&descriptors) == 0, "pipe() failed: \(errno)")
        _ = fcntl(descriptors[0], F_SETFL, fcntl(descriptors[0], F_GETFL) | O_NONBLOCK)
        wake = (descriptors[0], descriptors[1])
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// The backend process of the current LISTEN connection (tests terminate it to check reconnection).
    package var backendPID: Int32? { state.withLock { $0.backendPID } }

    /// Listens until graceful shutdown.
    package func run() async throws {
        start()
        try? await gracefulShutdown()
        await stop()
    }

    /// Starts the thread (once).
    package func start() {
        let first = state.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started && !state.stopped
        }
        guard first else { return }
        let thread = Thread { [self] in
            self.loop()
            let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.threadDone = true
                defer { state.finished = nil }
                return state.finished
            }
            waiter?.resume()
        }
        thread.name = "agora.pg.listen"
        thread.start()
    }

    /// Stops the thread and closes its connection; returns when it has.
    package func stop() async {
        let running = state.withLock { state -> Bool in
            state.stopped = true
            return state.started && !state.threadDone
        }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        guard running else { return }
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.threadDone { return true }
                state.finished = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    /// The thread: connect, LISTEN, wait for notifications; reconnect after a failure until stopped.
    private func loop() {
        while !isStopped {
            let connection: PGConnection
            do {
                connection = try PGConnection(configuration: configuration)
                try connection.executeScript("LISTEN \(channel)")
            } catch {
                logger.warning("Could not LISTEN; retrying", metadata: ["channel": "\(channel)", "error": "\(error)"])
                pause(reconnectDelay)
                continue
            }
            state.withLock { $0.backendPID = connection.backendPID }
            onListening()
            listen(on: connection)
            state.withLock { $0.backendPID = nil }
            if !isStopped {
                logger.warning("LISTEN connection lost; reconnecting", metadata: ["channel": "\(channel)"])
                pause(reconnectDelay)
            }
        }
    }

    private func listen(on connection: PGConnection) {
        while !isStopped {
            switch connection.waitForNotifications(wakeDescriptor: wake.read, timeoutMilliseconds: 60_000) {
            case .notified(let payloads):
                for payload in payloads { onNotification(payload) }
            case .timedOut:
                // An idle socket says nothing when the server dies without a FIN; a check now and then notices.
                if !connection.checkAlive() { return }
            case .woken:
                return
            case .broken:
                return
            }
        }
    }

    /// Waits for `duration` or until stopped.
    private func pause(_ duration: Duration) {
        guard !isStopped else { return }
        var descriptor = pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        _ = poll(&descriptor, 1, Int32(clamping: milliseconds))
    }
}
