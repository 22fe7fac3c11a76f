public import AgoraCore
import Foundation
public import Hummingbird
import Logging
public import Realtime

/// `GET /api/presence?users=<id>,<id>` (up to 100) and `PUT /api/presence {"hidden": true}`.
public struct PresenceRoutes: Sendable {
    let presence: Presence

    public init(presence: Presence) { self.presence = presence }

    struct StatusBody: ResponseEncodable { var items: [Presence.Status] }
    struct HiddenBody: ResponseEncodable, Decodable { var hidden: Bool }

    public func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/presence") { request, context -> StatusBody in
            _ = try context.requireIdentity()
            let raw = request.uri.queryParameters.get("users") ?? ""
            let parts = raw.split(separator: ",")
            let users = parts.compactMap { UUID(uuidString: String($0)) }
            guard !users.isEmpty, users.count == parts.count, users.count <= 100 else {
                throw AgoraError(.validation, "users must be 1 to 100 comma-separated ids", fields: ["users": "must be 1 to 100 comma-separated ids"])
            }
            return StatusBody(items: try await presence.status(of: users, logger: context.logger))
        }
        router.put("/api/presence") { request, context -> HiddenBody in
            let user = try context.requireIdentity().accountID
            let input = try await request.decode(as: HiddenBody.self, context: context)
            try await presence.setHidden(user, input.hidden, logger: context.logger)
            return input
        }
    }
}
