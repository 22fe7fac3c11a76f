import AgoraApp
import AgoraCrypto
import AgoraMail
import AgoraPostgres
import Commerce
import Foundation
import Testing

@Suite struct ConfigTests {
    let scratch = NSTemporaryDirectory() + "agora-config-\(UUID().uuidString)"

    @Test func defaultsAreSafeAndLocal() throws {
        let config = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch])
        #expect(config.mode == .development)
        #expect(config.host == "127.0.0.1" && config.port == 8080)
        #expect(config.postgres["host"] == "127.0.0.1")
        #expect(config.maxBodySize == 1 << 20)
        #expect(config.migrateOnStart)
        #expect(config.allowedOrigins == ["http://127.0.0.1:8080", "http://localhost:8080"])
    }

    @Test func postgreSQLProbesIdleConnectionsSoAVanishedHostsBackendsEnd() throws {
        let config = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch])
        #expect(config.postgres.serverSettings["tcp_keepalives_idle"] == "10")
        #expect(config.postgres.serverSettings["tcp_keepalives_interval"] == "5")
        #expect(config.postgres.serverSettings["tcp_keepalives_count"] == "3")
        #expect(config.postgres.serverSettings["tcp_user_timeout"] == "30000")
        let off = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch, "AGORA_DB_TCP_KEEPALIVE_SECONDS": "0"])
        #expect(off.postgres.serverSettings["tcp_keepalives_idle"] == nil && off.postgres.serverSettings["tcp_user_timeout"] == nil)
        let bad = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch, "AGORA_DB_TCP_KEEPALIVE_SECONDS": "-1"])
        }
        #expect(bad.description.contains("AGORA_DB_TCP_KEEPALIVE_SECONDS"))
    }

    @Test func solanaPayIsOffUntilAnEndpointAndItsRatesAreSet() throws {
        let off = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch])
        #expect(!off.commerce.solana.isEnabled && off.commerce.solana.tokens.map(\.symbol) == ["SOL", "USDC"])
        let on = try AgoraConfig(environment: [
            "AGORA_DATA_DIR": scratch, "AGORA_SOLANA_RPC_URL": "https://rpc.example.com", "AGORA_SOLANA_RATES": "ZAR/USDC=0.055",
            "AGORA_SOLANA_RATE_SOURCE": "desk", "AGORA_SOLANA_RATE_AT": "2026-12-07T09:00:00Z", "AGORA_SOLANA_POLL_MS": "500",
        ])
        #expect(on.commerce.solana.isEnabled && on.commerce.solana.rates.first?.text == "0.055" && on.commerce.solana.rateSource == "desk")
        #expect(on.commerce.solana.rateAt == Date(timeIntervalSince1970: 1_796_634_000) && on.commerce.solana.pollInterval == .milliseconds(500))
        let bad = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: [
                "AGORA_DATA_DIR": scratch, "AGORA_SOLANA_RPC_URL": "ftp://rpc", "AGORA_SOLANA_RATES": "ZAR/DOGE=1",
                "AGORA_SOLANA_TOKENS": "USDC=nope:6", "AGORA_SOLANA_RATE_AT": "yesterday",
            ])
        }
        for key in ["AGORA_SOLANA_RPC_URL", "AGORA_SOLANA_RATES", "AGORA_SOLANA_TOKENS", "AGORA_SOLANA_RATE_AT"] {
            #expect(bad.description.contains(key), "\(key)")
        }
        // An endpoint without rates could convert no order.
        let noRates = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch, "AGORA_SOLANA_RPC_URL": "https://rpc.example.com"])
        }
        #expect(noRates.description.contains("AGORA_SOLANA_RATES"))
    }

    @Test func everyBadValueIsListed() throws {
        let error = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: [
                "AGORA_PORT": "eighty", "AGORA_DB_POOL_SIZE": "0", "AGORA_ENV": "staging",
                "AGORA_DATABASE_URL": "mysql://x", "AGORA_LOG_LEVEL": "loud", "AGORA_DATA_DIR": scratch,
            ])
        }
        #expect(error.problems.count == 5)
        #expect(error.description.contains("AGORA_PORT must be a whole number"))
        #expect(error.description.contains("AGORA_DATABASE_URL"))
    }

    @Test func mailDefaultsToTheMailboxInDevelopmentAndRefusesUnsafeSMTP() throws {
        let development = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch]).mail
        #expect(development.transport == .mailbox && development.mailboxDirectory == scratch + "/mailbox")
        #expect(development.from.address == "no-reply@agora.localhost" && development.from.displayName == "Agora")

        let smtp = try AgoraConfig(environment: [
            "AGORA_DATA_DIR": scratch, "AGORA_MAIL_TRANSPORT": "smtp", "AGORA_SMTP_TLS": "starttls", "AGORA_SMTP_HOST": "mail.example.com",
            "AGORA_SMTP_USERNAME": "agora", "AGORA_SMTP_PASSWORD": "hunter2-secret",
        ])
        #expect(smtp.mail.smtp.port == 587 && smtp.mail.smtp.security.rawValue == "starttls")
        #expect(smtp.summary["mail"].map { "\($0)" } == "smtp mail.example.com:587 tls=starttls auth")
        #expect(!"\(smtp.summary)".contains("hunter2"))

        let error = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: [
                "AGORA_DATA_DIR": scratch, "AGORA_MAIL_TRANSPORT": "pigeon", "AGORA_SMTP_TLS": "maybe", "AGORA_MAIL_FROM": "not an address",
            ])
        }
        #expect(error.problems.count == 3)
        // Credentials in clear to another host, and a production that would keep mail on the machine, are refused.
        let clear = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch, "AGORA_MAIL_TRANSPORT": "smtp", "AGORA_SMTP_HOST": "mail.example.com", "AGORA_SMTP_USERNAME": "agora", "AGORA_SMTP_PASSWORD": "pw"])
        }
        #expect(clear.problems.contains { $0.contains("in clear") } && !clear.description.contains("pw\n"))
        let production = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: ["AGORA_ENV": "production", "AGORA_MAIL_TRANSPORT": "mailbox", "AGORA_DATA_DIR": scratch])
        }
        #expect(production.problems.contains { $0.contains("production needs smtp") })
        // The simulated provider takes no money: production must name a real one.
        #expect(production.problems.contains { $0.contains("AGORA_PAYMENT_PROVIDER=simulated takes no money") })
    }

    @Test func productionRefusesToStartWithoutSecrets() throws {
        let error = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: [
                "AGORA_ENV": "production", "AGORA_JWT_SECRET": String(repeating: "k", count: 40), "AGORA_DATA_DIR": scratch,
                "AGORA_PAYMENT_PROVIDER": "stripe", "AGORA_STRIPE_SECRET_KEY": "sk_test_x", "AGORA_STRIPE_WEBHOOK_SECRET": "whsec_x",
            ])
        }
        #expect(error.problems.contains("AGORA_INVENTORY_KEY must be set when AGORA_ENV=production"))
        #expect(error.problems.contains("AGORA_PAYMENT_WEBHOOK_SECRET must be set when AGORA_ENV=production"))
        #expect(error.problems.contains("AGORA_VAPID_PRIVATE_KEY must be set when AGORA_ENV=production"))
        #expect(!FileManager.default.fileExists(atPath: scratch + "/secrets.json"))
    }

    @Test func aDevelopmentSecretsFileFromBeforeWebPushKeepsItsSecretsAndGainsAVAPIDKey() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let inventoryKey = Base64.encode([UInt8](repeating: 7, count: 32))
        let old = ["AGORA_JWT_SECRET": String(repeating: "j", count: 40), "AGORA_INVENTORY_KEY": inventoryKey, "AGORA_PAYMENT_WEBHOOK_SECRET": String(repeating: "w", count: 20)]
        try JSONEncoder().encode(old).write(to: URL(fileURLWithPath: scratch + "/secrets.json"))
        let secrets = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch]).secrets
        #expect(secrets.inventoryKey == [UInt8](repeating: 7, count: 32), "items encrypted with the old key stay readable")
        #expect(secrets.jwtSecret == Array(String(repeating: "j", count: 40).utf8))
        #expect(secrets.vapidKey.publicKey.count == 65)
        #expect(try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch]).secrets.vapidKey == secrets.vapidKey, "and keeps it")
        let bad = try #require(throws: ConfigError.self) {
            try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch, "AGORA_VAPID_PRIVATE_KEY": "not-a-key"])
        }
        #expect(bad.problems.contains { $0.hasPrefix("AGORA_VAPID_PRIVATE_KEY must be a P-256 private key") })
    }

    @Test func developmentSecretsAreGeneratedOnceAndKept() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let first = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch]).secrets
        let second = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch]).secrets
        #expect(first.jwtSecret == second.jwtSecret && first.inventoryKey == second.inventoryKey)
        #expect(first.inventoryKey.count == 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch + "/secrets.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // An environment value wins over the stored one.
        let overridden = try AgoraConfig(environment: ["AGORA_DATA_DIR": scratch, "AGORA_JWT_SECRET": String(repeating: "z", count: 32)])
        #expect(overridden.secrets.jwtSecret == Array(String(repeating: "z", count: 32).utf8))
    }
}
