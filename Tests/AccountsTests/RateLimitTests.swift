import Accounts
import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraRedis
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct RateLimitTests {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// Creates an account without going through the (rate-limited) HTTP route.
    func makeAccount(_ services: AgoraServices, _ name: String) async throws {
        _ = try await services.auth.accounts.register(
            .init(email: "\(name)@example.com", username: name, displayName: name, password: "correct horse battery"),
            logger: TestServices.logger
        )
    }

    @Test func theEleventhLoginInAMinuteIs429() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                try await makeAccount(services, "lena")  // migrations run when the app starts
                let api = API(client: client)
                for attempt in 1...10 {
                    let response = try await api.login("lena@example.com", attempt % 2 == 0 ? "correct horse battery" : "wrong password!")
                    #expect(response.status == (attempt % 2 == 0 ? .ok : .unauthorized), "attempt \(attempt)")
                }
                let limited = try await api.login("lena@example.com")
                #expect(limited.status == .tooManyRequests)
                #expect(limited.code == "rate_limited" && limited["statusCode"] as? Int == 429 && limited["requestId"] != nil)
                let retryAfter = try #require(limited.headers[.retryAfter].flatMap(Int.init))
                #expect((1...6).contains(retryAfter))  // 10 per minute: the next slot opens within 6 seconds
                #expect(limited.headers[HTTPField.Name("RateLimit-Limit")!] == "10")
                #expect(limited.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
                #expect(limited.headers[HTTPField.Name("RateLimit-Policy")!] == "10;w=60")
                #expect(limited.setCookies.isEmpty)  // and no session was made
            }
        }
    }

    @Test func twoInstancesSharingRedisEnforceOneLimit() async throws {
        try await TestDatabase.withSchema { _, database in
            // Two applications, as two processes would be: same database, same Redis, same key prefix. Each
            // request comes from a different client address, so only the per-account limit can stop the 11th.
            var config = try TestApp.config(["AGORA_TRUST_PROXY": "true"])
            config.postgres.searchPath = database.searchPath
            let (first, services) = try buildApplication(config: config, logger: TestServices.logger)
            let (second, _) = try buildApplication(config: config, logger: TestServices.logger)
            try await first.test(.router) { a in
                try await second.test(.router) { b in
                    try await makeAccount(services, "kim")
                    for attempt in 1...10 {
                        let client = attempt % 2 == 0 ? a : b
                        let status = try await client.execute(
                            uri: "/api/auth/login", method: .post,
                            headers: [.contentType: "application/json", Self.forwardedFor: "198.51.100.\(attempt)"],
                            body: ByteBuffer(string: #"{"email":"kim@example.com","password":"correct horse battery"}"#)
                        ) { $0.status }
                        #expect(status == .ok, "attempt \(attempt)")
                    }
                    for client in [a, b] {
                        let status = try await client.execute(
                            uri: "/api/auth/login", method: .post,
                            headers: [.contentType: "application/json", Self.forwardedFor: "198.51.100.99"],
                            body: ByteBuffer(string: #"{"email":"KIM@example.com","password":"correct horse battery"}"#)
                        ) { $0.status }
                        #expect(status == .tooManyRequests)
                    }
                    // Another account from a fresh address is not affected.
                    try await makeAccount(services, "lee")
                    let other = try await a.execute(
                        uri: "/api/auth/login", method: .post,
                        headers: [.contentType: "application/json", Self.forwardedFor: "198.51.100.200"],
                        body: ByteBuffer(string: #"{"email":"lee@example.com","password":"correct horse battery"}"#)
                    ) { $0.status }
                    #expect(other == .ok)
                }
            }
        }
    }

    @Test func oneAddressTryingManyAccountsIsLimited() async throws {
        // Ten an hour, so a slot reopens only after six minutes: eleven logins on a loaded CI machine once took longer
        // than the six seconds "ten a minute" gives, and the eleventh was rightly let in. What is tested is the bucket
        // (the address, not the account; the proxy's entry, not a forged one), not the clock.
        try await TestApp.withApplication(["AGORA_TRUST_PROXY": "true", "AGORA_RATE_LIMIT_WINDOW": "3600"]) { app, _ in
            try await app.test(.router) { client in
                var statuses: [HTTPResponse.Status] = []
                for n in 1...11 {
                    let status = try await client.execute(
                        uri: "/api/auth/login", method: .post,
                        headers: [.contentType: "application/json", Self.forwardedFor: "203.0.113.7"],
                        body: ByteBuffer(string: #"{"email":"user\#(n)@example.com","password":"guess guess guess"}"#)
                    ) { $0.status }
                    statuses.append(status)
                }
                #expect(statuses.prefix(10).allSatisfy { $0 == .unauthorized })
                #expect(statuses.last == .tooManyRequests)
                // The client cannot pick its own bucket with a forged first entry: only the proxy's (last) one counts.
                let forged = try await client.execute(
                    uri: "/api/auth/login", method: .post,
                    headers: [.contentType: "application/json", Self.forwardedFor: "1.2.3.4, 203.0.113.7"],
                    body: ByteBuffer(string: #"{"email":"other@example.com","password":"guess guess guess"}"#)
                ) { $0.status }
                #expect(forged == .tooManyRequests)
            }
        }
    }

    /// `POST /api/me/password` runs bcrypt on the current password: a stolen session must not make it a guessing
    /// oracle with only the general limit. It counts against the auth limit per account (whatever the address) and
    /// per address (whatever the account), like a login.
    @Test func wrongCurrentPasswordsHitTheAuthLimit() async throws {
        let limit = 4
        try await TestApp.withApplication(["AGORA_RATE_LIMIT_AUTH": String(limit), "AGORA_TRUST_PROXY": "true"]) { app, services in
            try await app.test(.router) { client in
                try await makeAccount(services, "pia")
                try await makeAccount(services, "quin")
                let pia = try await services.auth.login(email: "pia@example.com", password: "correct horse battery", device: "t", ip: "192.0.2.1", logger: TestServices.logger)
                let quin = try await services.auth.login(email: "quin@example.com", password: "correct horse battery", device: "t", ip: "192.0.2.1", logger: TestServices.logger)
                let api = API(client: client)
                func change(_ grant: AuthService.Grant, from address: String, current: String = "not my password") async throws -> APIResponse {
                    try await api.call(
                        .post, "/api/me/password", json: ["currentPassword": current, "newPassword": "a brand new passphrase"],
                        bearer: grant.accessToken, headers: [Self.forwardedFor: address])
                }
                // Per account: each guess from a new address, so only the account's bucket can stop them.
                for attempt in 1...limit {
                    #expect(try await change(pia, from: "198.51.100.\(attempt)").status == .unprocessableContent, "attempt \(attempt)")
                }
                let limited = try await change(pia, from: "198.51.100.99")
                #expect(limited.status == .tooManyRequests && limited.code == "rate_limited")
                let retryAfter = try #require(limited.headers[.retryAfter].flatMap(Int.init))
                #expect(retryAfter >= 1)
                // The right password does not get through either while the account is limited: no bcrypt at all.
                #expect(try await change(pia, from: "198.51.100.98", current: "correct horse battery").status == .tooManyRequests)

                // Per address: another account guessing from one address is limited by that address's bucket.
                for attempt in 1...limit {
                    #expect(try await change(quin, from: "203.0.113.50").status == .unprocessableContent, "attempt \(attempt)")
                }
                let sameAddress = try await change(quin, from: "203.0.113.50")
                #expect(sameAddress.status == .tooManyRequests && sameAddress.headers[.retryAfter] != nil)
            }
        }
    }

    @Test func theGeneralLimitCountsPerUserAndReportsHeaders() async throws {
        try await TestApp.withApplication(["AGORA_RATE_LIMIT_GENERAL": "5"]) { app, services in
            try await app.test(.router) { client in
                try await makeAccount(services, "gus")
                try await makeAccount(services, "hal")
                let gus = try await services.auth.login(email: "gus@example.com", password: "correct horse battery", device: "t", ip: nil, logger: TestServices.logger)
                let hal = try await services.auth.login(email: "hal@example.com", password: "correct horse battery", device: "t", ip: nil, logger: TestServices.logger)
                let api = API(client: client)
                var remaining: [String] = []
                for _ in 1...5 {
                    let response = try await api.call(.get, "/api/me", bearer: gus.accessToken)
                    #expect(response.status == .ok)
                    remaining.append(response.headers[HTTPField.Name("RateLimit-Remaining")!] ?? "?")
                }
                #expect(remaining == ["4", "3", "2", "1", "0"])
                let limited = try await api.call(.get, "/api/me", bearer: gus.accessToken)
                #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] != nil)
                // Hal has his own bucket; anonymous callers share their address's.
                #expect(try await api.call(.get, "/api/me", bearer: hal.accessToken).status == .ok)
                // Static files and health checks are not API calls and are never limited.
                for _ in 1...6 { #expect(try await api.call(.get, "/health").status == .ok) }
            }
        }
    }

    @Test func concurrentRequestsCannotSlipPastTheLimit() async throws {
        let redis = RedisClient(configuration: try RedisConfiguration(url: try TestServices.requireRedisURL(), poolSize: 8), logger: TestServices.logger)
        let limiter = RedisRateLimiter(redis: redis)
        let rule = RateLimitRule(key: TestServices.uniqueName("rl-test"), limit: 10, period: .seconds(60))
        let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 { group.addTask { try await limiter.check([rule], logger: TestServices.logger).isAllowed } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(allowed == 10)
        // A request refused by one rule does not count against the others.
        let other = RateLimitRule(key: TestServices.uniqueName("rl-test"), limit: 10, period: .seconds(60))
        let refused = try await limiter.check([other, rule], logger: TestServices.logger)
        #expect(!refused.isAllowed && refused.limit == 10)
        let fresh = try await limiter.check([other], logger: TestServices.logger)
        #expect(fresh.isAllowed && fresh.remaining == 9)
        await redis.close()
    }
}
