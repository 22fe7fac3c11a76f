import AgoraApp
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The app-wide security headers meet a route that sets its own policy.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct MediaHeadersTests {
    /// A served image keeps the media route's sandbox CSP: the app's policy (scripts from this origin) would let an
    /// uploaded file opened directly run as a page of the site.
    @Test func servedImageKeepsItsSandboxPolicy() async throws {
        let data = NSTemporaryDirectory() + TestServices.uniqueName("agora-data")
        defer { try? FileManager.default.removeItem(atPath: data) }
        // Written where LocalMediaStorage keeps it (media/<first two characters>/<key>): the route reads any bytes.
        let key = "0123456789abcdef0123456789abcdef.png"
        let folder = "\(data)/media/\(key.prefix(2))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]).write(to: URL(fileURLWithPath: "\(folder)/\(key)"))

        try await TestApp.withApplication(["AGORA_DATA_DIR": data]) { app, _ in
            try await app.test(.router) { client in
                for method in [HTTPRequest.Method.get, .head] {
                    try await client.execute(uri: "/media/\(key)", method: method) { response in
                        #expect(response.status == .ok, "\(method)")
                        let policy = try #require(response.headers[.contentSecurityPolicy], "\(method)")
                        #expect(policy.contains("sandbox"), "\(method): \(policy)")
                        #expect(policy.contains("default-src 'none'"), "\(method): \(policy)")
                        #expect(!policy.contains("script-src 'self'"), "\(method): \(policy)")
                        // The other app-wide headers still apply.
                        #expect(response.headers[.xContentTypeOptions] == "nosniff")
                        #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                    }
                }
                // Everything else still gets the app's policy, errors from the media route included.
                try await client.execute(uri: "/media/ffffffffffffffffffffffffffffffff.png", method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                }
            }
        }
    }
}
