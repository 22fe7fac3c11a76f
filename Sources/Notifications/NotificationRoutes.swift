package import AgoraCore
import Foundation
package import Hummingbird
import Logging

/// `/api/notifications`: the list with its unread count, marking read, and muted kinds.
package struct NotificationRoutes: Sendable {
    let notifications: NotificationService
    let defaultPageSize: Int
    let maxPageSize: Int

    package init(notifications: NotificationService, defaultPageSize: Int, maxPageSize: Int) {
        self.notifications = notifications
        self.defaultPageSize = defaultPageSize
        self.maxPageSize = maxPageSize
    }

    struct UnreadBody: ResponseEncodable { var unread: Int }
    struct MutedBody: ResponseEncodable, Decodable { var muted: [String] }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/notifications") { request, context -> NotificationService.NoticePage in
            let user = try context.requireIdentity().accountID
            let (limit, cursor) = try request.pagination(defaultLimit: defaultPageSize, maxLimit: maxPageSize)
            return try await notifications.list(user, limit: limit, cursor: cursor, logger: context.logger)
        }
        router.post("/api/notifications/read") { _, context -> UnreadBody in
            UnreadBody(unread: try await notifications.markRead(try context.requireIdentity().accountID, id: nil, logger: context.logger))
        }
        router.post("/api/notifications/:id/read") { _, context -> UnreadBody in
            let user = try context.requireIdentity().accountID
            guard let id = Int64(try context.parameters.require("id")) else {
                throw AgoraError(.notFound, code: "notification_not_found", "No such notification")
            }
            return UnreadBody(unread: try await notifications.markRead(user, id: id, logger: context.logger))
        }
        router.get("/api/notifications/preferences") { _, context -> MutedBody in
            MutedBody(muted: try await notifications.muted(try context.requireIdentity().accountID, logger: context.logger))
        }
        router.put("/api/notifications/preferences") { request, context -> MutedBody in
            let user = try context.requireIdentity().accountID
            let input = try await request.decode(as: MutedBody.self, context: context)
            return MutedBody(muted: try await notifications.setMuted(user, kinds: input.muted, logger: context.logger))
        }
    }
}

extension NotificationService.NoticePage: ResponseEncodable {}
