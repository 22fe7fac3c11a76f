package import AgoraCore
import Catalog
import Foundation
package import Hummingbird
import Logging

/// `/api/conversations…`. Sending here and over the socket (`chat:send`) is the same call.
package struct ChatRoutes: Sendable {
    let chat: ChatService

    package init(chat: ChatService) { self.chat = chat }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.post("/api/conversations", use: open)
        router.get("/api/conversations", use: list)
        router.get("/api/conversations/:id", use: show)
        router.get("/api/conversations/:id/messages", use: messages)
        router.post("/api/conversations/:id/messages", use: send)
        router.post("/api/conversations/:id/read", use: read)
    }

    struct OpenInput: Decodable {
        var userId: UUID?
        var username: String?
        var productId: UUID?
    }

    struct SendInput: Decodable {
        var text: String?
        var productId: UUID?
        var clientId: String?
    }

    struct ReadInput: Decodable { var messageId: Int64? }

    struct MessageBody: ResponseEncodable { var message: ChatService.Message }

    @Sendable func open(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<ChatService.Conversation> {
        let user = try context.requireIdentity().accountID
        let input = try await request.decode(as: OpenInput.self, context: context)
        let other: UUID
        if let id = input.userId {
            other = id
        } else if let username = input.username, let id = try await chat.accounts.accountID(username: username, logger: context.logger) {
            other = id
        } else if input.username != nil {
            throw AgoraError(.notFound, code: "user_not_found", "No such user")
        } else {
            throw AgoraError(.validation, "Say who to talk to", fields: ["userId": "or username is required"])
        }
        return EditedResponse(status: .ok, response: try await chat.open(user, with: other, product: input.productId, logger: context.logger))
    }

    @Sendable func list(_ request: Request, context: AgoraRequestContext) async throws -> Page<ChatService.Conversation> {
        let user = try context.requireIdentity().accountID
        let (limit, cursor) = try request.pagination(defaultLimit: chat.settings.defaultPageSize, maxLimit: chat.settings.maxPageSize)
        return try await chat.conversations(for: user, limit: limit, cursor: cursor, logger: context.logger)
    }

    @Sendable func show(_ request: Request, context: AgoraRequestContext) async throws -> ChatService.Conversation {
        try await chat.conversation(try context.uuidParameter("id"), for: try context.requireIdentity().accountID, logger: context.logger)
    }

    @Sendable func messages(_ request: Request, context: AgoraRequestContext) async throws -> Page<ChatService.Message> {
        let user = try context.requireIdentity().accountID
        let (limit, cursor) = try request.pagination(defaultLimit: chat.settings.defaultPageSize, maxLimit: chat.settings.maxPageSize)
        return try await chat.messages(in: try context.uuidParameter("id"), for: user, limit: limit, cursor: cursor, logger: context.logger)
    }

    @Sendable func send(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<MessageBody> {
        let user = try context.requireIdentity().accountID
        let input = try await request.decode(as: SendInput.self, context: context)
        let outgoing = ChatService.Outgoing(
            conversationId: try context.uuidParameter("id"), text: input.text ?? "", productId: input.productId, clientId: input.clientId
        )
        let message = try await chat.send(outgoing, from: user, logger: context.logger)
        return EditedResponse(status: .created, response: MessageBody(message: message))
    }

    @Sendable func read(_ request: Request, context: AgoraRequestContext) async throws -> ChatService.ReadReceipt {
        let user = try context.requireIdentity().accountID
        let input = try await request.decode(as: ReadInput.self, context: context)
        return try await chat.markRead(try context.uuidParameter("id"), by: user, upTo: input.messageId, logger: context.logger)
    }
}

extension ChatService.Conversation: ResponseEncodable {}
extension ChatService.Message: ResponseEncodable {}
extension ChatService.ReadReceipt: ResponseEncodable {}
