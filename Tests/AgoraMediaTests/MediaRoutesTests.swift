import AgoraCore
import AgoraDemo
import AgoraMedia
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct MediaRoutesTests {
    /// A router with only the media routes, over a scratch folder holding one PNG.
    static func withApp(_ body: @escaping @Sendable (any TestClientProtocol, MediaKey, [UInt8]) async throws -> Void) async throws {
        try await withScratchFolder { folder in
            let storage = LocalMediaStorage(directory: folder)
            let key = MediaKey.random(format: .png)
            let png = DemoArt.png(title: "Linen tote", width: 64, height: 48)
            try await storage.put(png, key: key, contentType: ImageFormat.png.contentType)
            let router = Router(context: AgoraRequestContext.self)
            MediaRoutes(storage: storage).add(to: router)
            try await Application(router: router).test(.router) { client in try await body(client, key, png) }
        }
    }

    @Test func servesTheBytesWithCachingHeaders() async throws {
        try await Self.withApp { client, key, png in
            try await client.execute(uri: "/media/\(key)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "image/png")
                #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(response.headers[.eTag] == "\"\(key)\"")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                // Opened directly, a stored file may run nothing (AgoraApp's headers must keep this policy).
                #expect(response.headers[.contentSecurityPolicy] == "default-src 'none'; sandbox")
                #expect(Array(buffer: response.body) == png)
            }
        }
    }

    @Test func headAnswersTheHeadersWithoutTheBytes() async throws {
        try await Self.withApp { client, key, bytes in
            try await client.execute(uri: "/media/\(key)", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(response.headers[.contentLength] == String(bytes.count))
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/media/0123456789abcdef0123456789abcdef.png", method: .head) { #expect($0.status == .notFound) }
        }
    }

    @Test func matchingIfNoneMatchIs304() async throws {
        try await Self.withApp { client, key, _ in
            for tag in ["\"\(key)\"", "W/\"\(key)\"", "\"other\", \"\(key)\"", "*"] {
                try await client.execute(uri: "/media/\(key)", method: .get, headers: [.ifNoneMatch: tag]) { response in
                    #expect(response.status == .notModified, "\(tag)")
                    #expect(response.headers[.eTag] == "\"\(key)\"")
                    #expect(response.body.readableBytes == 0)
                }
            }
            try await client.execute(uri: "/media/\(key)", method: .get, headers: [.ifNoneMatch: "\"something-else\""]) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test(arguments: ["0123456789abcdef0123456789abcdef.png", "not-a-key", "..%2F..%2Fetc%2Fpasswd", "0123456789ABCDEF0123456789ABCDEF.png"])
    func unknownOrInvalidKeyIs404InTheErrorShape(key: String) async throws {
        try await Self.withApp { client, _, _ in
            try await client.execute(uri: "/media/\(key)", method: .get) { response in
                #expect(response.status == .notFound)
                let body = try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView))
                #expect(body.statusCode == 404)
                #expect(body.code == "media_not_found")
                #expect(body.path.hasPrefix("/media/"))
            }
            // Even with a matching-looking tag, a missing file is a 404 for `*`.
            try await client.execute(uri: "/media/\(key)", method: .get, headers: [.ifNoneMatch: "*"]) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
