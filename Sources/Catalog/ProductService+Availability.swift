import AgoraPostgres
package import Foundation
package import Logging

extension ProductService {
    /// What buyers can still put in a cart (`stock - reserved`) of each of `ids` that exists, as every product page
    /// shows it; for live updates.
    package func availability(of ids: [UUID], logger: Logger) async throws -> [UUID: Int] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.query("SELECT id, stock - reserved AS available FROM products WHERE id = ANY(\(ids))", logger: logger)
        var available: [UUID: Int] = [:]
        for row in rows { available[try row.decode("id")] = try row.decode("available") }
        return available
    }
}
