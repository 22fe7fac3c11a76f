/// The Close frame status codes Agora uses (RFC 6455 §7.4.1) and the rule for which codes may be sent.
public enum WebSocketCloseCode {
    /// The purpose of the connection has been fulfilled.
    public static let normal: UInt16 = 1000
    /// The endpoint is going away: a server shutting down or a browser leaving the page.
    public static let goingAway: UInt16 = 1001
    /// The peer broke the protocol.
    public static let protocolError: UInt16 = 1002
    /// The peer sent a kind of data we do not accept (e.g. binary where only text makes sense).
    public static let unsupportedData: UInt16 = 1003
    /// A message's data was inconsistent with its type, e.g. non-UTF-8 text.
    public static let invalidPayload: UInt16 = 1007
    /// A message broke our policy and no more specific code applies.
    public static let policyViolation: UInt16 = 1008
    /// A message was too big to process.
    public static let messageTooBig: UInt16 = 1009
    /// We hit an unexpected condition while handling the request.
    public static let internalError: UInt16 = 1011

    /// Whether `code` may appear in a Close frame on the wire (RFC 6455 §7.4).
    ///
    /// 0-999 are unused and 1016-2999 are reserved for future protocol revisions (§7.4.2). 1004 is
    /// reserved, and 1005, 1006 and 1015 are placeholders an API may report locally but an endpoint
    /// must never send (§7.4.1). 1007-1014 are the defined and IANA-registered protocol codes (§11.7).
    /// 3000-3999 belong to libraries and frameworks, 4000-4999 to applications.
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999:
            return true
        default:
            return false
        }
    }
}
