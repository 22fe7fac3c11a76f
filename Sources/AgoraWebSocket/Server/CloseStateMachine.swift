/// The closing handshake (RFC 6455 §5.5.1, §7.1), as a value: events in, actions out.
///
/// The server closes TCP as soon as both Close frames have crossed (§7.1.1: the server should close first); a
/// client waits for the server to do so, with a timeout. Either side that fails the connection sends its Close and
/// drops TCP without waiting.
struct CloseStateMachine: Sendable {
    enum State: Equatable {
        case open
        /// We sent Close and wait for the peer's.
        case closeSent
        /// Both Close frames are done, or the connection failed.
        case closed
    }

    enum Action: Equatable {
        case none
        /// Send a Close frame (nil code: empty payload), then start the close timer, or close TCP at once.
        case sendClose(code: UInt16?, reason: String, closeTCP: Bool)
        /// Close TCP now.
        case closeTCP
        /// Wait (with the close timer) for the peer to close TCP.
        case awaitTCPClose
    }

    let isClient: Bool
    private(set) var state: State = .open

    init(isClient: Bool) { self.isClient = isClient }

    /// Data may be sent, and received data is delivered, only while open (§5.5.1: after sending Close, send no more data).
    var isOpen: Bool { state == .open }

    /// This side starts the closing handshake.
    mutating func close(code: UInt16, reason: String) -> Action {
        guard state == .open else { return .none }
        state = .closeSent
        return .sendClose(code: code, reason: reason, closeTCP: false)
    }

    /// The peer's Close frame arrived.
    mutating func receivedClose(code: UInt16?) -> Action {
        switch state {
        case .open:
            state = .closed
            // Echo the peer's code (§5.5.1); an empty Close is answered with an empty Close.
            return .sendClose(code: code, reason: "", closeTCP: !isClient)
        case .closeSent:
            state = .closed
            return isClient ? .awaitTCPClose : .closeTCP
        case .closed:
            return .none
        }
    }

    /// The connection must fail (§7.1.7): say why if we still can, then drop TCP.
    mutating func fail(code: UInt16, reason: String) -> Action {
        switch state {
        case .open:
            state = .closed
            return .sendClose(code: code, reason: reason, closeTCP: true)
        case .closeSent:
            state = .closed
            return .closeTCP
        case .closed:
            return .none
        }
    }
}
