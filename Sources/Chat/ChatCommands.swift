public import AgoraCore
import Catalog
import Foundation
public import Logging
public import Realtime

/// `chat:send`, `chat:typing` and `chat:read` over the socket: the same service calls as the HTTP routes.
public struct ChatCommands: RealtimeCommands {
    let chat: ChatService

    public init(chat: ChatService) { self.chat = chat }

    public var commandTypes: Set<String> { ["chat:send", "chat:typing", "chat:read"] }

    public func run(_ type: String, data: JSON, identity: Identity, logger: Logger) async throws -> String? {
        let user = identity.accountID
        switch type {
        case "chat:send":
            var to = try uuid(data, "to")
            if to == nil, let username = data["username"]?.string {
                guard let id = try await chat.accounts.accountID(username: username, logger: logger) else {
                    throw AgoraError(.notFound, code: "user_not_found", "No such user")
                }
                to = id
            }
            let outgoing = ChatService.Outgoing(
                conversationId: try uuid(data, "conversationId"), to: to, about: try uuid(data, "about"),
                text: try string(data, "text") ?? "", productId: try uuid(data, "productId"), clientId: try string(data, "clientId")
            )
            let message = try await chat.send(outgoing, from: user, logger: logger)
            return "{\"message\":\(try encode(message))}"
        case "chat:typing":
            guard let conversation = try uuid(data, "conversationId") else { throw missing("conversationId") }
            try await chat.typing(in: conversation, by: user, logger: logger)
            return nil
        case "chat:read":
            guard let conversation = try uuid(data, "conversationId") else { throw missing("conversationId") }
            var upTo: Int64?
            if let raw = data["messageId"], raw != .null {
                guard let id = raw.int64 else { throw AgoraError(.validation, "messageId must be a whole number", fields: ["messageId": "must be a whole number"]) }
                upTo = id
            }
            return try encode(try await chat.markRead(conversation, by: user, upTo: upTo, logger: logger))
        default:
            throw AgoraError(.badRequest, code: "unknown_type", "Unknown message type")
        }
    }

    private func uuid(_ data: JSON, _ key: String) throws(AgoraError) -> UUID? {
        guard let value = data[key], value != .null else { return nil }
        guard let id = value.uuid else { throw AgoraError(.validation, "\(key) must be an id", fields: [key: "must be an id"]) }
        return id
    }

    private func string(_ data: JSON, _ key: String) throws(AgoraError) -> String? {
        guard let value = data[key], value != .null else { return nil }
        guard let text = value.string else { throw AgoraError(.validation, "\(key) must be text", fields: [key: "must be text"]) }
        return text
    }

    private func missing(_ key: String) -> AgoraError { AgoraError(.validation, "\(key) is required", fields: [key: "is required"]) }

    private func encode(_ value: some Encodable) throws -> String {
        String(decoding: try ChatJSON.encoder.encode(value), as: UTF8.self)
    }
}

enum ChatJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}
