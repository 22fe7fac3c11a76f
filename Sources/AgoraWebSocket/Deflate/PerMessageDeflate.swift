/// How this endpoint speaks the permessage-deflate extension (RFC 7692), and the negotiation itself.
///
/// The defaults come from `scripts/bench-ws-compression.sh` (README, "WebSocket compression"): without context takeover in
/// either direction a connection owns no zlib state at all. Every message is compressed and inflated by its event
/// loop's one compressor and one inflater (`DeflateCodecs`), so an idle connection that negotiated compression costs
/// what one that did not costs, and a broadcast is compressed once for every member with the same window. Context
/// takeover compresses small, similar messages better, at up to 262 KiB of zlib state per connection that is sending;
/// it is a setting (`serverNoContextTakeover: false`), its state allocated on the first compressed message and
/// freed after `pingInterval` without one (zlib's memory goes back to malloc, which may keep it: resident memory
/// stays near its peak, see the README).
public struct PerMessageDeflateConfiguration: Sendable, Equatable {
    /// The largest LZ77 window this side compresses with, 9...15 (a client may ask for less; 8 is declined since
    /// zlib cannot compress a raw stream with a 256-byte window).
    public var serverMaxWindowBits: Int
    /// The window the server asks clients to compress with, 9...15, when they offer `client_max_window_bits`. Only
    /// matters with client context takeover, where it is the size of the window the server keeps per connection.
    public var clientMaxWindowBits: Int
    /// Compress each message on its own (`server_no_context_takeover` in every answer).
    public var serverNoContextTakeover: Bool
    /// Ask clients to compress each message on its own (`client_no_context_takeover`), so the server keeps no window
    /// per connection to inflate them.
    public var clientNoContextTakeover: Bool
    /// Messages shorter than this go uncompressed (RSV1 clear): DEFLATE cannot win much on a few dozen bytes.
    public var threshold: Int
    /// zlib level, 1 (fast) ... 9 (small).
    public var level: Int
    /// zlib memLevel, 1...9: the size of the compressor's hash table (`1 << (memLevel + 9)` bytes).
    public var memoryLevel: Int

    public init(
        serverMaxWindowBits: Int = 15,
        clientMaxWindowBits: Int = 15,
        serverNoContextTakeover: Bool = true,
        clientNoContextTakeover: Bool = true,
        threshold: Int = 128,
        level: Int = 6,
        memoryLevel: Int = 8
    ) {
        self.serverMaxWindowBits = min(max(serverMaxWindowBits, 9), 15)
        self.clientMaxWindowBits = min(max(clientMaxWindowBits, 9), 15)
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.threshold = max(threshold, 0)
        self.level = min(max(level, 1), 9)
        self.memoryLevel = min(max(memoryLevel, 1), 9)
    }
}

/// What both ends agreed on for one connection (RFC 7692 §7.1).
public struct PerMessageDeflateParameters: Sendable, Equatable {
    /// The server compresses each message on its own.
    public var serverNoContextTakeover: Bool
    /// The client compresses each message on its own.
    public var clientNoContextTakeover: Bool
    /// The server's window, 8...15 (15 when not given).
    public var serverMaxWindowBits: Int
    /// The client's window, 8...15 (15 when not given).
    public var clientMaxWindowBits: Int

    public init(serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false, serverMaxWindowBits: Int = 15, clientMaxWindowBits: Int = 15) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }
}

/// The negotiation of RFC 7692 §5 and §7.1, as pure functions of header values.
public enum PerMessageDeflate {
    public static let name = "permessage-deflate"

    /// One offer's parameters, each present at most once and valid (§7.1).
    struct Offer: Equatable {
        var serverNoContextTakeover = false
        var clientNoContextTakeover = false
        /// nil: absent.
        var serverMaxWindowBits: Int?
        /// `.some(nil)`: present without a value (the client can honour a smaller window but names none).
        var clientMaxWindowBits: Int??

        /// Reads an offer (or a response: same parameters), or nil when it breaks §7.1: an unknown parameter, one
        /// given twice, a value where none belongs, or a window size that is not 8...15 written without leading zeros.
        init?(_ parameters: [(name: String, value: String?)]) {
            var seen: Set<String> = []
            for (rawName, value) in parameters {
                let name = rawName.lowercased()
                guard seen.insert(name).inserted else { return nil }
                switch name {
                case "server_no_context_takeover":
                    guard value == nil else { return nil }
                    serverNoContextTakeover = true
                case "client_no_context_takeover":
                    guard value == nil else { return nil }
                    clientNoContextTakeover = true
                case "server_max_window_bits":
                    guard let value, let bits = Self.windowBits(value) else { return nil }
                    serverMaxWindowBits = bits
                case "client_max_window_bits":
                    if let value {
                        guard let bits = Self.windowBits(value) else { return nil }
                        clientMaxWindowBits = .some(bits)
                    } else {
                        clientMaxWindowBits = .some(nil)
                    }
                default:
                    return nil
                }
            }
        }

        /// §7.1.2.1: `1*DIGIT` without leading zeros, 8...15.
        static func windowBits(_ text: String) -> Int? {
            guard !text.hasPrefix("0"), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let bits = Int(text), (8...15).contains(bits)
            else { return nil }
            return bits
        }
    }

    /// The server's answer to a client's offers: the first offer (in the client's order of preference, §5.1) that it
    /// can honour, and the `Sec-WebSocket-Extensions` value to send back; nil when there is none (the connection then
    /// goes on uncompressed).
    ///
    /// An offer is declined when it is malformed, or when it asks the server for an 8-bit window, which zlib cannot
    /// produce.
    public static func accept(offers headerValues: [String], configuration: PerMessageDeflateConfiguration) -> (PerMessageDeflateParameters, String)? {
        guard let extensions = WebSocketExtension.parse(headerValues) else { return nil }
        for candidate in extensions where candidate.name.caseInsensitiveEquals(name) {
            guard let offer = Offer(candidate.parameters) else { continue }
            var response: [(name: String, value: String?)] = []
            var agreed = PerMessageDeflateParameters()

            // The server's own window: at most what the client allows, never the 8 zlib cannot do.
            var serverBits = configuration.serverMaxWindowBits
            if let requested = offer.serverMaxWindowBits {
                guard requested >= 9 else { continue }
                serverBits = min(serverBits, requested)
            }
            agreed.serverMaxWindowBits = serverBits
            if offer.serverNoContextTakeover || configuration.serverNoContextTakeover {
                agreed.serverNoContextTakeover = true
                response.append(("server_no_context_takeover", nil))
            }
            if offer.clientNoContextTakeover || configuration.clientNoContextTakeover {
                agreed.clientNoContextTakeover = true
                response.append(("client_no_context_takeover", nil))
            }
            // §7.1.2.1: accepting a requested window means naming it; a smaller window of our own may be named anyway.
            if offer.serverMaxWindowBits != nil || serverBits < 15 {
                response.append(("server_max_window_bits", String(serverBits)))
            }
            // §7.1.2.2: the client's window may be named only when the client offered the parameter.
            if case .some(let offered) = offer.clientMaxWindowBits {
                let clientBits = min(configuration.clientMaxWindowBits, offered ?? 15)
                agreed.clientMaxWindowBits = clientBits
                if clientBits < 15 || offered != nil { response.append(("client_max_window_bits", String(clientBits))) }
            }
            return (agreed, WebSocketExtension(name: name, parameters: response).headerValue)
        }
        return nil
    }

    /// The offer a client sends: no context takeover asked of either side, `client_max_window_bits` so the server
    /// may shrink our window.
    public static func offer(_ configuration: PerMessageDeflateConfiguration) -> String {
        var parameters: [(name: String, value: String?)] = []
        if configuration.serverNoContextTakeover { parameters.append(("server_no_context_takeover", nil)) }
        if configuration.clientNoContextTakeover { parameters.append(("client_no_context_takeover", nil)) }
        if configuration.serverMaxWindowBits < 15 { parameters.append(("server_max_window_bits", String(configuration.serverMaxWindowBits))) }
        parameters.append(("client_max_window_bits", configuration.clientMaxWindowBits < 15 ? String(configuration.clientMaxWindowBits) : nil))
        return WebSocketExtension(name: name, parameters: parameters).headerValue
    }

    /// A client's reading of the server's answer to `offer(configuration)` (§7.1): nil when the server declined;
    /// throws when the answer is one the client must fail the connection for.
    public static func confirm(response headerValues: [String], offered configuration: PerMessageDeflateConfiguration) throws(WebSocketError) -> PerMessageDeflateParameters? {
        guard !headerValues.isEmpty else { return nil }
        guard let extensions = WebSocketExtension.parse(headerValues), extensions.count == 1, extensions[0].name.caseInsensitiveEquals(name),
            let answer = Offer(extensions[0].parameters)
        else { throw .protocolError("the server answered with extensions that were not offered") }
        var agreed = PerMessageDeflateParameters(
            serverNoContextTakeover: answer.serverNoContextTakeover, clientNoContextTakeover: answer.clientNoContextTakeover || configuration.clientNoContextTakeover)
        if configuration.serverNoContextTakeover, !answer.serverNoContextTakeover {
            throw .protocolError("the server did not accept server_no_context_takeover")
        }
        if let bits = answer.serverMaxWindowBits {
            guard bits <= configuration.serverMaxWindowBits else { throw .protocolError("server_max_window_bits above what was offered") }
            agreed.serverMaxWindowBits = bits
        } else if configuration.serverMaxWindowBits < 15 {
            throw .protocolError("the server did not accept server_max_window_bits")
        }
        switch answer.clientMaxWindowBits {
        case .some(.some(let bits)):
            guard bits <= configuration.clientMaxWindowBits else { throw .protocolError("client_max_window_bits above what was offered") }
            agreed.clientMaxWindowBits = bits
        case .some(.none):
            throw .protocolError("client_max_window_bits without a value in a response")
        case .none:
            agreed.clientMaxWindowBits = configuration.clientMaxWindowBits
        }
        // A client cannot compress with an 8-bit window either: zlib makes it 9. Use what the server allows.
        guard agreed.clientMaxWindowBits >= 9 else { throw .protocolError("the server asked for an 8-bit window, which zlib cannot compress with") }
        return agreed
    }
}
