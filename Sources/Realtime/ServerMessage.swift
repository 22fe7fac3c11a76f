import AgoraCore
package import Foundation

/// JSON text to embed as a message's `data`: encoded by `AgoraJSON.encoder`, or written by PostgreSQL (a stored
/// event's `jsonb`), never assembled by hand.
package struct JSONText: Sendable, Equatable {
    package let text: String

    /// `value` encoded with `AgoraJSON.encoder`.
    package init(encoding value: some Encodable) throws {
        text = try AgoraJSON.text(value)
    }

    /// Text that is JSON already: what PostgreSQL returned for a `jsonb` value, or what `AgoraJSON` encoded before.
    package init(json text: String) {
        self.text = text
    }

    /// `{}`
    package static let emptyObject = JSONText(json: "{}")
}

/// Every message the server writes on a realtime socket: the protocol's one envelope,
/// `{"type": ..., "id"?: ..., "seq"?: ..., "topic"?: ..., "data": ...}`, laid out in one place.
package enum ServerMessage: Sendable, Equatable {
    /// The first message of a socket: whose it is and their stream's head.
    case hello(userId: UUID, seq: Int64)
    /// A request of the client was done; `data` is its answer.
    case ack(id: ClientRequestID?, data: JSONText)
    /// A request failed (`id` nil: nothing the client asked, e.g. a topic it lost).
    case error(id: ClientRequestID?, code: String, message: String, topic: String? = nil)
    /// A durable event of the user's stream.
    case event(type: String, seq: Int64, data: JSONText)
    /// An ephemeral event for a user (typing, presence).
    case ephemeral(type: String, data: JSONText)
    /// An ephemeral event of a topic the socket follows.
    case topic(type: String, topic: String, data: JSONText)

    private struct Hello: Encodable {
        var userId: UUID
        var seq: Int64
    }

    private struct Failure: Encodable {
        var code: String
        var message: String
        var topic: String?
    }

    /// The message as JSON text: strings and ids through `AgoraJSON.encoder`, `data` as the JSON it already is.
    package var text: String {
        switch self {
        case .hello(let user, let seq):
            return Self.layout(type: "hello", data: Self.encoded(Hello(userId: user, seq: seq)))
        case .ack(let id, let data):
            return Self.layout(type: "ack", id: .some(id), data: data.text)
        case .error(let id, let code, let message, let topic):
            return Self.layout(type: "error", id: .some(id), data: Self.encoded(Failure(code: code, message: message, topic: topic)))
        case .event(let type, let seq, let data):
            return Self.layout(type: type, seq: seq, data: data.text)
        case .ephemeral(let type, let data):
            return Self.layout(type: type, data: data.text)
        case .topic(let type, let topic, let data):
            return Self.layout(type: type, topic: topic, data: data.text)
        }
    }

    /// `id` is written (as `null` when the request had none) exactly when it is `.some`.
    private static func layout(type: String, id: ClientRequestID?? = nil, seq: Int64? = nil, topic: String? = nil, data: String) -> String {
        var out = "{\"type\":" + jsonString(type)
        if let id { out += ",\"id\":" + (id.map(encoded) ?? "null") }
        if let seq { out += ",\"seq\":" + String(seq) }
        if let topic { out += ",\"topic\":" + jsonString(topic) }
        return out + ",\"data\":" + data + "}"
    }

    /// Values of our own types cannot fail to encode; if one ever did, `null` keeps the frame valid JSON.
    private static func encoded(_ value: some Encodable) -> String {
        (try? AgoraJSON.text(value)) ?? "null"
    }
}
