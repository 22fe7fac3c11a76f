import AgoraCore
import AgoraDemo
import AgoraMedia
import AgoraTestSupport
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

/// Single byte ranges, and the redirect of large files to a presigned URL.
@Suite struct MediaRangeTests {
    @Test func aSingleRangeIs206AndOneBeyondTheFileIs416() async throws {
        try await MediaRoutesTests.withApp { client, key, png in
            try await client.execute(uri: "/media/\(key)", method: .get, headers: [.range: "bytes=2-5"]) { response in
                #expect(response.status == .partialContent)
                #expect(response.headers[.contentRange] == "bytes 2-5/\(png.count)")
                #expect(response.headers[.acceptRanges] == "bytes")
                #expect(response.headers[.contentType] == "image/png")
                #expect(Array(buffer: response.body) == Array(png[2...5]))
            }
            try await client.execute(uri: "/media/\(key)", method: .get, headers: [.range: "bytes=-3"]) { response in
                #expect(response.status == .partialContent)
                #expect(Array(buffer: response.body) == Array(png.suffix(3)))
            }
            try await client.execute(uri: "/media/\(key)", method: .get, headers: [.range: "bytes=\(png.count)-"]) { response in
                #expect(response.status == .rangeNotSatisfiable)
                #expect(response.headers[.contentRange] == "bytes */\(png.count)")
                #expect(response.body.readableBytes == 0)
            }
            // Several ranges, or another unit: the whole file, as RFC 9110 allows.
            for header in ["bytes=0-1,3-4", "pages=1-2"] {
                try await client.execute(uri: "/media/\(key)", method: .get, headers: [.range: header]) { response in
                    #expect(response.status == .ok)
                    #expect(Array(buffer: response.body) == png)
                }
            }
        }
    }

    @Test func largeFilesAreRedirectedToAPresignedURLAndSmallOnesRelayed() async throws {
        try await LocalS3.with { s3 in
            let storage = try S3MediaStorage(
                settings: .init(
                    endpoint: s3.endpoint, bucket: "agora-media",
                    credentials: .init(accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey), presignSeconds: 300))
            let large = MediaKey.random(format: .png)
            let small = MediaKey.random(format: .png)
            let png = DemoArt.png(title: "Linen tote", width: 64, height: 48)
            try await storage.put(png, key: large, contentType: "image/png")
            try await storage.put(Array(png.prefix(100)), key: small, contentType: "image/png")
            let router = Router(context: AgoraRequestContext.self)
            MediaRoutes(storage: storage, redirectAbove: 100).add(to: router)
            try await Application(router: router).test(.router) { client in
                let location = try await client.execute(uri: "/media/\(large)", method: .get) { response in
                    #expect(response.status == .found)
                    #expect(response.headers[.cacheControl] == "private, max-age=60")
                    return response.headers[.location]
                }
                let url = try #require(location)
                #expect(url.hasPrefix("\(s3.endpoint)/agora-media/\(large)?"))
                #expect(try await s3.presignedProblem(url) == nil)
                try await client.execute(uri: "/media/\(small)", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(Array(buffer: response.body) == Array(png.prefix(100)))
                }
                try await client.execute(uri: "/media/\(MediaKey.random(format: .png))", method: .get) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }
}
