internal import CLibPQ

#if canImport(Glibc)
internal import Glibc
#endif

extension PGConnection {
    /// What waiting for notifications ended with.
    enum NotificationWait {
        /// Payloads of the notifications that arrived, in order (possibly none: the socket had other input).
        case notified([String])
        /// `wakeDescriptor` became readable.
        case woken
        /// Nothing happened within the timeout.
        case timedOut
        /// The connection broke.
        case broken
    }

    /// Blocks until a notification arrives on this (LISTENing) connection, `wakeDescriptor` is readable, or
    /// `timeoutMilliseconds` pass. Runs on a thread of its own, never an event loop.
    func waitForNotifications(wakeDescriptor: Int32, timeoutMilliseconds: Int32) -> NotificationWait {
        var descriptors = [
            pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&descriptors, 2, timeoutMilliseconds)
        if ready < 0 { return errno == EINTR ? .timedOut : .broken }
        if descriptors[1].revents != 0 { return .woken }
        if ready == 0 { return .timedOut }
        guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else {
            markBroken()
            return .broken
        }
        var payloads: [String] = []
        while let notification = PQnotifies(handle) {
            payloads.append(String(cString: notification.pointee.extra))
            PQfreemem(notification)
        }
        return .notified(payloads)
    }
}
