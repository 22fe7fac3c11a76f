package import AgoraCore
import AgoraMedia
import Foundation
import HTTPTypes
package import Hummingbird
import NIOCore

/// `POST /api/products/:id/images` (multipart upload, field `image`), `PUT /api/products/:id/images` (order) and
/// `DELETE /api/products/:id/images/:imageId`.
package struct ProductImageRoutes: Sendable {
    let products: ProductService

    package init(products: ProductService) { self.products = products }

    struct Order: Decodable { var order: [UUID] }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.post("/api/products/:id/images", use: upload)
        router.put("/api/products/:id/images", use: reorder)
        router.delete("/api/products/:id/images/:imageId", use: remove)
    }

    @Sendable func upload(_ request: Request, context: AgoraRequestContext) async throws -> EditedResponse<Product> {
        let seller = try context.requireRole(.seller)
        let id = try context.uuidParameter()
        let bytes = try await ImageUpload.imageBytes(of: request, context: context, limit: context.maxUploadSize)
        let product = try await products.addImage(id, seller: seller.accountID, bytes: bytes, logger: context.logger)
        return EditedResponse(status: .created, response: product)
    }

    @Sendable func reorder(_ request: Request, context: AgoraRequestContext) async throws -> Product {
        let seller = try context.requireRole(.seller)
        let order = try await request.decode(as: Order.self, context: context)
        return try await products.reorderImages(try context.uuidParameter(), order: order.order, seller: seller.accountID, logger: context.logger)
    }

    @Sendable func remove(_ request: Request, context: AgoraRequestContext) async throws -> Product {
        let seller = try context.requireRole(.seller)
        let imageID = try context.uuidParameter("imageId")
        return try await products.deleteImage(try context.uuidParameter(), imageID: imageID, seller: seller.accountID, logger: context.logger)
    }
}
