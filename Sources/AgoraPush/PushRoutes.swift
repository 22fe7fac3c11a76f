package import AgoraCore
import Foundation
import HTTPTypes
package import Hummingbird

/// `GET /api/push/key` (the VAPID public key the PWA subscribes with), `POST /api/push/subscriptions` (a device's
/// subscription, `PushSubscription.toJSON()`) and `DELETE /api/push/subscriptions` (`{"endpoint"}`).
package struct PushRoutes: Sendable {
    let subscriptions: PushSubscriptions
    let vapid: VAPID

    package init(subscriptions: PushSubscriptions, vapid: VAPID) {
        self.subscriptions = subscriptions
        self.vapid = vapid
    }

    struct KeyBody: ResponseEncodable { var publicKey: String }
    struct Subscribed: ResponseEncodable { var id: UUID }
    struct EndpointInput: Decodable { var endpoint: String }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/push/key") { _, _ in KeyBody(publicKey: vapid.publicKey) }
        router.post("/api/push/subscriptions") { request, context -> EditedResponse<Subscribed> in
            let identity = try context.requireIdentity()
            let input = try await request.decode(as: PushSubscriptionInput.self, context: context)
            let id = try await subscriptions.subscribe(
                input, account: identity.accountID, session: identity.sessionID, userAgent: request.headers[.userAgent], logger: context.logger
            )
            return EditedResponse(status: .created, response: Subscribed(id: id))
        }
        router.delete("/api/push/subscriptions") { request, context -> Response in
            let identity = try context.requireIdentity()
            let input = try await request.decode(as: EndpointInput.self, context: context)
            try await subscriptions.unsubscribe(endpoint: input.endpoint, account: identity.accountID, logger: context.logger)
            return Response(status: .noContent)
        }
    }
}
