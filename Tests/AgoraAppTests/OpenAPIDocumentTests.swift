import AgoraApp
import AgoraTestSupport
import Foundation
import Testing

/// Public/openapi.json describes exactly the routes the server has: a route added without its documentation, or an
/// operation documented for a route that was removed or renamed, fails here rather than in a client.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct OpenAPIDocumentTests {
    /// Documented operations the router does not serve: the WebSocket upgrade is decided before routing.
    static let outsideTheRouter: Set<String> = ["GET /ws"]

    @Test func documentAndRouterAgree() async throws {
        let documented = try Self.documentedOperations()
        let routed = try await TestApp.withApplication { _, services in
            Set(services.routes.map { "\($0.method) \(Self.openAPIPath($0.path))" })
        }
        #expect(!routed.isEmpty)
        let undocumented = routed.subtracting(documented).sorted()
        let unrouted = documented.subtracting(routed).subtracting(Self.outsideTheRouter).sorted()
        #expect(undocumented.isEmpty, "routes missing from Public/openapi.json: \(undocumented)")
        #expect(unrouted.isEmpty, "operations in Public/openapi.json that no route serves: \(unrouted)")
        for operation in Self.outsideTheRouter {
            #expect(documented.contains(operation), "\(operation) is no longer documented; drop it from outsideTheRouter")
        }
    }

    @Test func pathsAreTranslatedToOpenAPITemplates() {
        #expect(Self.openAPIPath("/api/products/:id/images/:imageId") == "/api/products/{id}/images/{imageId}")
        #expect(Self.openAPIPath("/health") == "/health")
    }

    /// A router path (`/api/products/:id`) as an OpenAPI path template (`/api/products/{id}`).
    static func openAPIPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }

    /// `METHOD /path` of every operation in the document.
    static func documentedOperations() throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Public/openapi.json").standardized
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]], "no paths in \(url.path)")
        let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var operations = Set<String>()
        for (path, item) in paths {
            for method in methods where item[method] != nil { operations.insert("\(method.uppercased()) \(path)") }
        }
        return operations
    }
}
