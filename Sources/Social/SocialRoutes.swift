package import AgoraCore
import Catalog
import Foundation
package import Hummingbird
import Logging

/// `/api/users/:username/follow`, `/api/users/:username/followers|following`, `/api/users/:username/block` and
/// `/api/feed`.
package struct SocialRoutes: Sendable {
    let follows: FollowService
    let maxPageSize: Int
    let defaultPageSize: Int

    package init(follows: FollowService, defaultPageSize: Int, maxPageSize: Int) {
        self.follows = follows
        self.defaultPageSize = defaultPageSize
        self.maxPageSize = maxPageSize
    }

    package func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/api/users/:username/follow") { request, context in
            try await self.follows.state(try context.parameters.require("username"), viewer: context.identity?.accountID, logger: context.logger)
        }
        router.put("/api/users/:username/follow") { try await self.setFollow($0, $1, following: true) }
        router.delete("/api/users/:username/follow") { try await self.setFollow($0, $1, following: false) }
        router.get("/api/users/:username/followers") { try await self.list($0, $1, .followers) }
        router.get("/api/users/:username/following") { try await self.list($0, $1, .following) }
        router.get("/api/feed", use: feed)
        router.get("/api/users/:username/block") { request, context -> BlockBody in
            let user = try context.requireIdentity().accountID
            return BlockBody(blocked: try await self.follows.isBlocking(user, username: try context.parameters.require("username"), logger: context.logger))
        }
        router.put("/api/users/:username/block") { try await self.setBlock($0, $1, blocked: true) }
        router.delete("/api/users/:username/block") { try await self.setBlock($0, $1, blocked: false) }
    }

    struct BlockBody: ResponseEncodable { var blocked: Bool }

    /// Blocks (or unblocks) `:username` for the caller; blocking also removes the follows between the two.
    func setBlock(_ request: Request, _ context: AgoraRequestContext, blocked: Bool) async throws -> BlockBody {
        let user = try context.requireIdentity().accountID
        try await follows.setBlock(user, username: try context.parameters.require("username"), blocked: blocked, logger: context.logger)
        return BlockBody(blocked: blocked)
    }

    func setFollow(_ request: Request, _ context: AgoraRequestContext, following: Bool) async throws -> FollowService.FollowState {
        let identity = try context.requireIdentity()
        return try await follows.setFollow(try context.parameters.require("username"), follower: identity.accountID, following: following, logger: context.logger)
    }

    func list(_ request: Request, _ context: AgoraRequestContext, _ direction: FollowService.Direction) async throws -> FollowService.Page {
        let (limit, cursor) = try request.pagination(defaultLimit: defaultPageSize, maxLimit: maxPageSize)
        return try await follows.list(try context.parameters.require("username"), direction, limit: limit, cursor: cursor, logger: context.logger)
    }

    @Sendable func feed(_ request: Request, context: AgoraRequestContext) async throws -> ProductPage {
        let identity = try context.requireIdentity()
        let (limit, cursor) = try request.pagination(defaultLimit: defaultPageSize, maxLimit: maxPageSize)
        return try await follows.feed(identity.accountID, limit: limit, cursor: cursor, logger: context.logger)
    }
}

extension FollowService.FollowState: ResponseEncodable {}
