internal import CEpoll
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Something that owns a non-blocking socket and wants to hear when it can be read or written.
///
/// Both calls come on the poller's thread, one at a time for all its sockets: they must not block, and should do
/// little more than read what is there, parse it and hand results on (resume continuations).
package protocol SocketWatcher: AnyObject, Sendable {
    /// The socket has input, or was closed or failed (the read will say which).
    func socketIsReadable()
    /// The socket can take more output; only reported while `SocketPoller.watchWrites(_:true)` is on.
    func socketIsWritable()
}

/// One thread watching many sockets with `epoll`, as pgbench's client thread watches its connections.
///
/// The C client libraries (libpq, hiredis) keep their own sockets, which an NIO event loop cannot watch without
/// owning them. So each pool gets a poller: callers write their requests from their own threads (under the
/// connection's lock), and the poller's one thread reads the answers as they arrive and resumes the callers. No
/// thread ever waits on a single connection.
package final class SocketPoller: Sendable {
    /// A registered socket.
    package struct Registration: Sendable, Hashable {
        let id: UInt64
        /// The file descriptor that was registered.
        package let descriptor: Int32
    }

    private struct State {
        var watchers: [UInt64: any SocketWatcher] = [:]
        var nextID: UInt64 = 1
        var stopped = false
    }

    private let epoll: Int32
    private let wake: Int32
    private let state = Mutex(State())
    private let finished = Mutex<Bool>(false)
    private let finishedCondition = NSCondition()

    /// Starts the poller's thread.
    /// - Parameter name: the thread's name, as seen in `top -H` and profiles.
    package init(name: String) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        precondition(epoll >= 0 && wake >= 0, "epoll_create1/eventfd failed: \(errno)")
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: 0))
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &event) == 0, "epoll_ctl(eventfd) failed: \(errno)")
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    deinit {
        close(epoll)
        close(wake)
    }

    /// Starts watching `descriptor` for input (level-triggered: reported until it is read).
    /// - Returns: the registration to pass to `watchWrites` and `unregister`.
    package func register(_ descriptor: Int32, _ watcher: any SocketWatcher) -> Registration? {
        let id = state.withLock { state -> UInt64? in
            guard !state.stopped else { return nil }
            defer { state.nextID += 1 }
            state.watchers[state.nextID] = watcher
            return state.nextID
        }
        guard let id else { return nil }
        var event = epoll_event(events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue, data: epoll_data_t(u64: id))
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event) == 0 else {
            state.withLock { _ = $0.watchers.removeValue(forKey: id) }
            return nil
        }
        return Registration(id: id, descriptor: descriptor)
    }

    /// Turns reporting of writability on (while output is waiting to be flushed) or off.
    package func watchWrites(_ registration: Registration, _ on: Bool) {
        let events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (on ? EPOLLOUT.rawValue : 0)
        var event = epoll_event(events: events, data: epoll_data_t(u64: registration.id))
        _ = epoll_ctl(epoll, EPOLL_CTL_MOD, registration.descriptor, &event)
    }

    /// Stops watching; call before the socket is closed. A report already under way may still arrive.
    package func unregister(_ registration: Registration) {
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, registration.descriptor, nil)
        state.withLock { _ = $0.watchers.removeValue(forKey: registration.id) }
    }

    /// Stops the thread and waits for it to finish its current round.
    package func shutdown() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        if first {
            var one: UInt64 = 1
            _ = write(wake, &one, 8)
        }
        finishedCondition.lock()
        while !finished.withLock({ $0 }) { finishedCondition.wait() }
        finishedCondition.unlock()
    }

    private func loop() {
        let capacity = 64
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !state.withLock({ $0.stopped }) {
            let count = epoll_wait(epoll, events, Int32(capacity), -1)
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<Int(count) {
                let event = events[index]
                let id = event.data.u64
                if id == 0 {
                    var value: UInt64 = 0
                    _ = read(wake, &value, 8)
                    continue
                }
                guard let watcher = state.withLock({ $0.watchers[id] }) else { continue }
                if event.events & EPOLLOUT.rawValue != 0 { watcher.socketIsWritable() }
                if event.events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                    watcher.socketIsReadable()
                }
            }
        }
        finishedCondition.lock()
        finished.withLock { $0 = true }
        finishedCondition.broadcast()
        finishedCondition.unlock()
    }
}
