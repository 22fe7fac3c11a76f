package import AgoraCore
import Catalog
import Foundation
package import Logging
package import Realtime

/// `chat:send`, `chat:typing` and `chat:read` over the socket: the same service calls as the HTTP routes.
package struct ChatCommands: RealtimeCommands {
    let chat: ChatService

    package init(chat: ChatService) { self.chat = chat }

    package var commandTypes: Set<String> { ["chat:send", "chat:typing", "chat:read"] }

    struct Send: Decodable {
        var conversationId: UUID?
        var to: UUID?
        var username: String?
        var about: UUID?
        var text: String?
        var productId: UUID?
        var clientId: String?
    }

    struct InConversation: Decodable {
        var conversationId: UUID
    }

    struct Read: Decodable {
        var conversationId: UUID
        var messageId: Int64?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            conversationId = try container.decode(UUID.self, forKey: .conversationId)
            messageId = try container.decodeWholeNumberIfPresent(forKey: .messageId)
        }

        enum CodingKeys: String, CodingKey { case conversationId, messageId }
    }

    struct Sent: Encodable {
        var message: ChatService.Message
    }

    package func run(_ type: String, data: CommandData, identity: Identity, logger: Logger) async throws -> JSONText? {
        let user = identity.accountID
        switch type {
        case "chat:send":
            let send = try data.decode(Send.self)
            var to = send.to
            if to == nil, let username = send.username {
                guard let id = try await chat.accounts.accountID(username: username, logger: logger) else {
                    throw AgoraError(.notFound, code: "user_not_found", "No such user")
                }
                to = id
            }
            let outgoing = ChatService.Outgoing(
                conversationId: send.conversationId, to: to, about: send.about, text: send.text ?? "", productId: send.productId,
                clientId: send.clientId
            )
            let (message, event) = try await chat.store(outgoing, from: user, logger: logger)
            // The event's data holds the message as the encoder would write it (and the conversation's id beside it).
            return try event.map(JSONText.init(json:)) ?? JSONText(encoding: Sent(message: message))
        case "chat:typing":
            try await chat.typing(in: try data.decode(InConversation.self).conversationId, by: user, logger: logger)
            return nil
        case "chat:read":
            let read = try data.decode(Read.self)
            return try JSONText(encoding: try await chat.markRead(read.conversationId, by: user, upTo: read.messageId, logger: logger))
        default:
            throw AgoraError(.badRequest, code: "unknown_type", "Unknown message type")
        }
    }
}

