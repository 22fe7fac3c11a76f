package import AgoraCore
import AgoraMedia
import Foundation
package import Hummingbird
import Logging
import NIOCore

/// The HTTP face of disputes for buyers and sellers; the administrators' queue and decision are in module Admin.
package struct DisputeRoutes: Sendable {
    let disputes: DisputeService
    let settings: CommerceSettings

    package init(disputes: DisputeService, settings: CommerceSettings) {
        self.disputes = disputes
        self.settings = settings
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.post("/api/orders/:id/disputes", use: open)
        router.get("/api/disputes", use: list)
        router.get("/api/disputes/:id", use: show)
        router.post("/api/disputes/:id/messages", use: reply)
        router.post("/api/disputes/:id/photos", use: photo)
        router.post("/api/disputes/:id/escalate", use: escalate)
        router.post("/api/disputes/:id/accept", use: accept)
    }

    struct OpenInput: Decodable {
        var sellerOrderId: UUID
        var reason: String
        var message: String?
    }

    /// `POST /api/orders/:id/disputes {"sellerOrderId", "reason", "message"}`: the buyer opens a dispute.
    @Sendable func open(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<DisputeView> {
        let buyer = try context.requireIdentity()
        let input = try await request.decode(as: OpenInput.self, context: context)
        let view = try await disputes.open(
            order: try context.uuidParameter(), sellerOrder: input.sellerOrderId, buyer: buyer.accountID, reason: input.reason, message: input.message ?? "",
            logger: context.logger
        )
        return EditedResponse(status: .created, response: view)
    }

    /// `GET /api/disputes?as=buyer|seller`: mine, newest first (as buyer by default).
    @Sendable func list(_ request: Request, context: AgoraRequestContext) async throws -> Page<DisputeView> {
        let identity = try context.requireIdentity()
        let page = try request.pagination(defaultLimit: settings.defaultPageSize, maxLimit: settings.maxPageSize)
        let side = request.uri.queryParameters["as"].map(String.init) ?? "buyer"
        guard side == "buyer" || side == "seller" else { throw AgoraError(.badRequest, code: "invalid_parameter", "as must be buyer or seller") }
        let party: DisputeService.Party = side == "buyer" ? .buyer(identity.accountID) : .seller(identity.accountID)
        return try await disputes.list(for: party, status: nil, limit: page.limit, cursor: page.cursor, logger: context.logger)
    }

    func party(_ context: AgoraRequestContext) async throws -> (id: UUID, party: DisputeService.Party) {
        let identity = try context.requireIdentity()
        let id = try context.uuidParameter()
        return (id, try await disputes.party(id, account: identity.accountID, isAdmin: identity.role == .admin, logger: context.logger))
    }

    @Sendable func show(_ request: Request, context: AgoraRequestContext) async throws -> DisputeView {
        let (id, party) = try await party(context)
        return try await disputes.view(id, viewer: party, logger: context.logger)
    }

    struct MessageInput: Decodable { var message: String? }

    @Sendable func reply(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<DisputeView> {
        let (id, party) = try await party(context)
        let input = try await request.decode(as: MessageInput.self, context: context)
        return EditedResponse(status: .created, response: try await disputes.reply(id, by: party, message: input.message ?? "", logger: context.logger))
    }

    /// A photo, as `multipart/form-data` with a field named `image` (the product image rules).
    @Sendable func photo(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<DisputeView> {
        let (id, party) = try await party(context)
        let bytes = try await ImageUpload.imageBytes(of: request, context: context, limit: context.maxUploadSize)
        return EditedResponse(status: .created, response: try await disputes.addPhoto(id, by: party, bytes: bytes, logger: context.logger))
    }

    @Sendable func escalate(_ request: Request, context: AgoraRequestContext) async throws -> DisputeView {
        let (id, party) = try await party(context)
        guard case .buyer(let buyer) = party else {
            throw AgoraError(.forbidden, code: "buyer_only", "Only the buyer escalates a dispute")
        }
        return try await disputes.escalate(id, buyer: buyer, logger: context.logger)
    }

    @Sendable func accept(_ request: Request, context: AgoraRequestContext) async throws -> DisputeView {
        let (id, party) = try await party(context)
        guard case .seller(let seller) = party else {
            throw AgoraError(.forbidden, code: "seller_only", "Only the seller accepts a dispute")
        }
        return try await disputes.accept(id, seller: seller, logger: context.logger)
    }
}

extension DisputeView: ResponseEncodable {}
