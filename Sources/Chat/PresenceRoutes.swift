package import AgoraCore
import Foundation
package import Hummingbird
import Logging
package import Realtime

/// `GET /api/presence?users=<id>,<id>` (up to 100) and `PUT /api/presence {"hidden": true}`.
///
/// Presence is told to the same people its events reach: conversation partners with no block either way. Anyone
/// else is answered as a hidden user is (offline, no last seen), so the answer does not even say who is hidden.
package struct PresenceRoutes: Sendable {
    let presence: Presence
    let chat: ChatService

    package init(presence: Presence, chat: ChatService) {
        self.presence = presence
        self.chat = chat
    }

    struct StatusBody: ResponseEncodable { var items: [Presence.Status] }
    struct HiddenBody: ResponseEncodable, Decodable { var hidden: Bool }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/presence") { request, context -> StatusBody in
            let viewer = try context.requireIdentity().accountID
            let raw = request.uri.queryParameters.get("users") ?? ""
            let parts = raw.split(separator: ",")
            let users = parts.compactMap { UUID(uuidString: String($0)) }
            guard !users.isEmpty, users.count == parts.count, users.count <= 100 else {
                throw AgoraError(.validation, "users must be 1 to 100 comma-separated ids", fields: ["users": "must be 1 to 100 comma-separated ids"])
            }
            let visible = try await chat.presenceVisible(to: viewer, of: users, logger: context.logger)
            let known = try await presence.status(of: users.filter(visible.contains), logger: context.logger)
            let byUser = Dictionary(known.map { ($0.userId, $0) }, uniquingKeysWith: { first, _ in first })
            return StatusBody(items: users.map { byUser[$0] ?? Presence.Status(userId: $0, online: false, lastSeen: nil) })
        }
        router.put("/api/presence") { request, context -> HiddenBody in
            let user = try context.requireIdentity().accountID
            let input = try await request.decode(as: HiddenBody.self, context: context)
            try await presence.setHidden(user, input.hidden, logger: context.logger)
            return input
        }
    }
}
