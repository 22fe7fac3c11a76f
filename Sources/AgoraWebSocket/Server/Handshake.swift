import AgoraCrypto
public import HTTPTypes

/// The server side of the opening handshake (RFC 6455 §4.2.1–4.2.2), as a pure function of the request head.
public enum WebSocketHandshake {
    /// The GUID of §1.3, appended to the key before hashing.
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// A handshake the server will not complete, with the HTTP answer it gets.
    public struct Failure: Error, Sendable, Equatable {
        /// 400, or 426 for an unsupported version.
        public var status: HTTPResponse.Status
        /// Says what is wrong; goes into the JSON body.
        public var message: String
        /// Extra headers (`Sec-WebSocket-Version: 13` on a 426).
        public var headers: HTTPFields
    }

    /// What a valid handshake yields.
    public struct Accepted: Sendable, Equatable {
        /// The `Sec-WebSocket-Accept` value.
        public var acceptKey: String
        /// The subprotocol chosen, if the client offered one we support.
        public var subprotocol: String?
        /// permessage-deflate as agreed, when the client offered it in a form we accept.
        public var deflate: PerMessageDeflateParameters?
        /// The `Sec-WebSocket-Extensions` value of the answer, with `deflate`.
        public var extensions: String?
    }

    /// Checks a request against §4.2.1.
    /// - Parameters:
    ///   - subprotocols: what the server speaks, in order of preference; the first the client also offers wins.
    ///   - compression: how permessage-deflate is accepted; nil declines every extension.
    public static func validate(
        _ head: RequestHead, subprotocols: [String] = [], compression: PerMessageDeflateConfiguration? = nil
    ) -> Result<Accepted, Failure> {
        func fail(_ message: String) -> Result<Accepted, Failure> { .failure(Failure(status: .badRequest, message: message, headers: [:])) }
        guard head.method == "GET" else { return fail("A WebSocket handshake must be a GET request") }
        guard head.version == "HTTP/1.1" else { return fail("A WebSocket handshake needs HTTP/1.1") }
        guard head.values("Host").count == 1 else { return fail("The handshake needs exactly one Host header") }
        guard head.tokens("Upgrade").contains(where: { $0.caseInsensitiveEquals("websocket") }) else {
            // A handshake without the protocol to switch to: 426 names it (RFC 9110 §15.5.22) and the version (§4.4).
            return .failure(
                Failure(
                    status: .upgradeRequired, message: "The Upgrade header must contain 'websocket'",
                    headers: [HTTPField.Name("Upgrade")!: "websocket", .secWebSocketVersion: "13"]))
        }
        guard head.tokens("Connection").contains(where: { $0.caseInsensitiveEquals("upgrade") }) else {
            return fail("The Connection header must contain 'Upgrade'")
        }
        let versions = head.values("Sec-WebSocket-Version")
        guard versions == ["13"] else {
            // §4.4: answer an unsupported version with the versions we do support.
            return .failure(
                Failure(status: .upgradeRequired, message: "Only WebSocket version 13 is supported", headers: [.secWebSocketVersion: "13"])
            )
        }
        let keys = head.values("Sec-WebSocket-Key")
        guard keys.count == 1, let key = keys.first, Base64.decode(key)?.count == 16 else {
            return fail("Sec-WebSocket-Key must be one base64-encoded 16-byte value")
        }
        let offered = head.tokens("Sec-WebSocket-Protocol")
        let chosen = subprotocols.first { offered.contains($0) }
        var accepted = Accepted(acceptKey: acceptKey(for: key), subprotocol: chosen)
        if let compression, let (parameters, header) = PerMessageDeflate.accept(offers: head.values("Sec-WebSocket-Extensions"), configuration: compression) {
            accepted.deflate = parameters
            accepted.extensions = header
        }
        return .success(accepted)
    }

    /// `Sec-WebSocket-Accept` for a client key: base64(SHA-1(key + GUID)).
    public static func acceptKey(for key: String) -> String {
        Base64.encode(SHA1.hash(Array((key + guid).utf8)))
    }
}
