import AgoraApp
import AgoraDemo
import AgoraMedia
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Store profiles: an uploaded avatar and banner, checked by their bytes, shown on the public profile and the shop's
/// share page, and their files removed when replaced or deleted, never a file someone else uploaded.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ProfileImageTests {
    static func png(_ width: Int, _ height: Int, seed: UInt64 = 1) -> [UInt8] {
        PNGEncoder.encode(DemoArt.render(width: width, height: height, seed: seed, initials: "AV"))
    }

    @Test func avatarsAndBannersAreUploadedShownReplacedAndRemoved() async throws {
        let dataDir = NSTemporaryDirectory() + TestServices.uniqueName("agora-profile-media")
        try await TestApp.withApplication(["AGORA_DATA_DIR": dataDir, "AGORA_RATE_LIMITS": "false"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let seller = try await market.seller("zodwa")
                let other = try await market.api.register("mandla")
                func status(_ path: String) async throws -> HTTPResponse.Status { try await client.execute(uri: path, method: .get) { $0.status } }

                #expect(try await market.api.uploadImage(to: "/api/me/avatar", method: .put, bytes: Self.png(64, 64), bearer: nil).status == .unauthorized)

                // An avatar: stored, on /api/me, on the public profile and on the shop's share page.
                let first = try await market.api.uploadImage(to: "/api/me/avatar", method: .put, bytes: Self.png(64, 48), bearer: seller.accessToken)
                try #require(first.status == .ok, "\(first.raw)")
                let firstURL = try #require(first["avatarUrl"] as? String)
                #expect(firstURL.hasPrefix("/media/") && firstURL.hasSuffix(".png"))
                #expect(try await status(firstURL) == .ok)
                #expect(try await market.api.call(.get, "/api/users/zodwa")["avatarUrl"] as? String == firstURL)
                let page = try await client.execute(uri: "/s/zodwa", method: .get) { String(buffer: $0.body) }
                #expect(page.contains(#"<meta property="og:image" content="http://localhost:8080\#(firstURL)">"#), "the shop's card shows the avatar")

                // Refused by its bytes or its size; nothing changes.
                let text = try await market.api.uploadImage(to: "/api/me/avatar", method: .put, bytes: Array("<svg onload=alert(1)>".utf8),
                                                            filename: "a.png", bearer: seller.accessToken)
                #expect(text.status == .unsupportedMediaType && text.code == "unsupported_image_type")
                let tiny = try await market.api.uploadImage(to: "/api/me/avatar", method: .put, bytes: Self.png(8, 8), bearer: seller.accessToken)
                #expect(tiny.status == .unprocessableContent && tiny.code == "image_too_small")
                let thinBanner = try await market.api.uploadImage(to: "/api/me/banner", method: .put, bytes: Self.png(64, 64), bearer: seller.accessToken)
                #expect(thinBanner.status == .unprocessableContent && thinBanner.code == "image_too_small")
                let wrongField = try await market.api.uploadImage(to: "/api/me/avatar", method: .put, bytes: Self.png(64, 64), bearer: seller.accessToken,
                                                                  field: "photo")
                #expect(wrongField.status.code >= 400 && wrongField.status.code < 500)
                #expect(try await market.api.call(.get, "/api/me", bearer: seller.accessToken)["avatarUrl"] as? String == firstURL)

                // Replacing removes the old file.
                let second = try await market.api.uploadImage(to: "/api/me/avatar", method: .put, bytes: Self.png(96, 96, seed: 2), bearer: seller.accessToken)
                let secondURL = try #require(second["avatarUrl"] as? String)
                #expect(secondURL != firstURL)
                #expect(try await status(secondURL) == .ok)
                #expect(try await status(firstURL) == .notFound)

                // A banner, beside the avatar.
                let banner = try await market.api.uploadImage(to: "/api/me/banner", method: .put, bytes: Self.png(640, 160), bearer: seller.accessToken)
                let bannerURL = try #require(banner["bannerUrl"] as? String)
                #expect(banner["avatarUrl"] as? String == secondURL)
                #expect(try await market.api.call(.get, "/api/users/zodwa")["bannerUrl"] as? String == bannerURL)

                // Someone who points their avatar URL at another user's upload, then replaces it, deletes nothing of theirs.
                let mine = try await market.api.call(.patch, "/api/me", json: ["avatarUrl": secondURL], bearer: other.accessToken)
                #expect(mine.status == .ok)
                _ = try await market.api.uploadImage(to: "/api/me/avatar", method: .put, bytes: Self.png(64, 64, seed: 3), bearer: other.accessToken)
                _ = try await market.api.call(.delete, "/api/me/avatar", bearer: other.accessToken)
                #expect(try await status(secondURL) == .ok, "zodwa's avatar is untouched")

                // Removing: the URL goes from the profile, the file from storage; removing nothing is fine.
                let removed = try await market.api.call(.delete, "/api/me/avatar", bearer: seller.accessToken)
                #expect(removed.status == .ok && removed["avatarUrl"] == nil && removed["bannerUrl"] as? String == bannerURL)
                #expect(try await status(secondURL) == .notFound)
                #expect(try await market.api.call(.delete, "/api/me/avatar", bearer: seller.accessToken).status == .ok)
                #expect(try await market.api.call(.delete, "/api/me/banner", bearer: seller.accessToken)["bannerUrl"] == nil)
                #expect(try await status(bannerURL) == .notFound)
            }
        }
    }
}
