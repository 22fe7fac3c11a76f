/// A WebSocket protocol failure, carrying the status code we send in our Close frame (RFC 6455 §7.4.1).
///
/// Each failure the codec detects maps to exactly one code, so the connection handler can answer with
/// `FrameEncoder.closePayload(code: error.closeCode, reason: error.reason)` without a lookup table.
/// Reasons are written by the codec itself and never quote peer data, so they are safe to send back
/// and to log.
public struct WebSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The status code for our Close frame.
    public var closeCode: UInt16
    /// A short human-readable explanation, sent as the Close frame's reason.
    public var reason: String

    /// Creates an error with an explicit close code.
    ///
    /// - Parameters:
    ///   - closeCode: the status code for our Close frame; should satisfy `WebSocketCloseCode.isValidOnWire`.
    ///   - reason: a short explanation, sent to the peer.
    public init(closeCode: UInt16, reason: String) {
        self.closeCode = closeCode
        self.reason = reason
    }

    /// The peer broke the framing or fragmentation rules (1002).
    public static func protocolError(_ reason: String) -> WebSocketError {
        WebSocketError(closeCode: WebSocketCloseCode.protocolError, reason: reason)
    }

    /// A text message or close reason was not valid UTF-8 (1007, §8.1).
    public static func invalidPayload(_ reason: String) -> WebSocketError {
        WebSocketError(closeCode: WebSocketCloseCode.invalidPayload, reason: reason)
    }

    /// A frame or message is larger than we are willing to buffer (1009).
    public static func messageTooBig(_ reason: String) -> WebSocketError {
        WebSocketError(closeCode: WebSocketCloseCode.messageTooBig, reason: reason)
    }

    /// A message broke an application rule that has no more specific code (1008).
    public static func policyViolation(_ reason: String) -> WebSocketError {
        WebSocketError(closeCode: WebSocketCloseCode.policyViolation, reason: reason)
    }

    /// The close code and reason, e.g. `WebSocket 1002: control frame is fragmented`.
    public var description: String {
        "WebSocket \(self.closeCode): \(self.reason)"
    }
}
