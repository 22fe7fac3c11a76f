import Testing

@testable import Accounts

@Suite struct AccountValidationTests {
    @Test func emails() throws {
        #expect(try AccountValidation.email("  Ada.Lovelace+agora@Example.COM ").get() == "Ada.Lovelace+agora@example.com")
        for bad in ["", "plain", "@example.com", "a@", "a@b", "a..b@example.com", ".a@example.com", "a@-x.com", "a@x_y.com", "a b@example.com", "a@example.c"] {
            #expect((try? AccountValidation.email(bad).get()) == nil, "\(bad) should be refused")
        }
        #expect((try? AccountValidation.email(String(repeating: "a", count: 65) + "@example.com").get()) == nil)
    }

    @Test func usernames() throws {
        #expect(try AccountValidation.username("Ada_99").get() == "ada_99")
        for bad in ["ab", "9lives", "_x_", "ada-l", "ada l", "émile", String(repeating: "a", count: 31), "admin", "me"] {
            #expect((try? AccountValidation.username(bad).get()) == nil, "\(bad) should be refused")
        }
    }

    @Test func passwords() {
        #expect(AccountValidation.passwordProblem("correct horse", email: "a@b.co", username: "ada") == nil)
        #expect(AccountValidation.passwordProblem("short", email: nil, username: nil) != nil)
        #expect(AccountValidation.passwordProblem("ada_lovelace", email: nil, username: "Ada_Lovelace") == "must not be your username")
        #expect(AccountValidation.passwordProblem("ADA@EXAMPLE.COM", email: "ada@example.com", username: nil) == "must not be your email address")
        #expect(AccountValidation.passwordProblem(String(repeating: "é", count: 37), email: nil, username: nil) == "must be at most 72 bytes")
        #expect(AccountValidation.passwordProblem("0123456789\0abc", email: nil, username: nil) != nil)
    }

    @Test func profileFields() {
        #expect((try? AccountValidation.line("  Ada  ", 1...50).get()) == "Ada")
        #expect((try? AccountValidation.line("a\u{7}b", 1...50).get()) == nil)
        #expect((try? AccountValidation.text("line one\nline two", max: 500).get()) == "line one\nline two")
        #expect((try? AccountValidation.avatarURL("https://cdn.example.com/a.png").get()) != nil)
        #expect((try? AccountValidation.avatarURL("/media/ab12.webp").get()) != nil)
        for bad in ["http://example.com/a.png", "javascript:alert(1)", "/media/../secrets.json", "https://user:pw@example.com/a.png"] {
            #expect((try? AccountValidation.avatarURL(bad).get()) == nil, "\(bad) should be refused")
        }
    }
}
