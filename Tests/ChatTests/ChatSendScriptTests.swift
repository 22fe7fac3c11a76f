import AgoraPostgres
import AgoraTestSupport
import Foundation
import Testing

@testable import Chat

/// bench/chat/send.sql, the pgbench yardstick of issue 25, is the server's send statement: same text, one variable per
/// bind in the same order, each typed as the server types it. Without this the yardstick could drift from the SQL
/// it stands for.
struct ChatSendScriptTests {
    @Test func sendScriptIsTheServersSendStatement() throws {
        let (conversation, sender) = (UUID(), UUID())
        let query = ChatService.sendStatement(conversation: conversation, sender: sender, clientId: nil, kind: "text", text: "bench", productId: nil)
        let script = try Self.placeholders(in: Self.statement(of: "bench/chat/send.sql"))
        #expect(Self.unescapingColons(script.sql) == query.sql)

        // Each variable stands for the bind the server sends in its place, typed as that bind is: a uuid cast where the
        // server sends a uuid, no cast where it lets PostgreSQL infer the type (OID 0), as pgbench does for every parameter.
        let expected: [String: PGBind] = [
            "conv": conversation.pgBind, "sender": sender.pgBind, "kind": "text".pgBind, "body": "bench".pgBind,
            "null_client_id": .null, "null_product_id": .null,
        ]
        try #require(script.names.count == query.binds.count)
        for (index, name) in script.names.enumerated() {
            let bind = query.binds[index]
            #expect(expected[name] == bind, "$\(index + 1) is :\(name) in the script")
            switch script.casts[index] {
            case .some("uuid"): #expect(bind.oid == UUID().pgBind.oid, "$\(index + 1) (:\(name)) is cast to uuid but not sent as one")
            case .none: #expect(bind.oid == PGBind.null.oid, "$\(index + 1) (:\(name)) is sent typed but has no cast")
            case .some(let other): Issue.record("$\(index + 1) (:\(name)) is cast to \(other), which the server never sends")
            }
        }
    }

    /// The message statement of a pgbench script: its lines after the last meta-command (`\set`, `\endif`; the lookup
    /// of a conversation comes before), comments left out, without the closing `;`.
    private static func statement(of path: String) throws -> String {
        let text = try String(contentsOf: TestTools.repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let last = try #require(lines.lastIndex(where: { $0.hasPrefix("\\") }))
        let sql = lines[(last + 1)...]
            .filter { !$0.drop(while: { $0 == " " }).hasPrefix("--") }
            .joined(separator: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(sql.hasSuffix(";"))
        return String(sql.dropLast())
    }

    /// `sql` with each `:name` numbered `$1…$n` as pgbench's parseQuery numbers them: a colon and then a letter or `_`,
    /// inside quotes or not, and a run of colons skipped whole. A `::type` cast right after a variable is left out of
    /// the text (the server's text has none) and returned in `casts`.
    private static func placeholders(in sql: String) -> (sql: String, names: [String], casts: [String?]) {
        func startsName(_ c: Character) -> Bool { c == "_" || (c.isASCII && c.isLetter) }
        func continuesName(_ c: Character) -> Bool { startsName(c) || (c.isASCII && c.isNumber) }
        let chars = Array(sql)
        var (text, names, casts) = ("", [String](), [String?]())
        var i = 0
        while i < chars.count {
            guard chars[i] == ":" else {
                text.append(chars[i])
                i += 1
                continue
            }
            guard i + 1 < chars.count, startsName(chars[i + 1]) else {
                while i < chars.count, chars[i] == ":" {
                    text.append(":")
                    i += 1
                }
                continue
            }
            var end = i + 1
            while end < chars.count, continuesName(chars[end]) { end += 1 }
            names.append(String(chars[(i + 1)..<end]))
            var cast: String?
            if end + 2 < chars.count, chars[end] == ":", chars[end + 1] == ":", startsName(chars[end + 2]) {
                var typeEnd = end + 2
                while typeEnd < chars.count, continuesName(chars[typeEnd]) { typeEnd += 1 }
                cast = String(chars[(end + 2)..<typeEnd])
                end = typeEnd
            }
            casts.append(cast)
            text += "$\(names.count)"
            i = end
        }
        return (text, names, casts)
    }

    /// The script writes a literal holding ":name" as E'…\x3A…' (pgbench would make a placeholder of it even inside
    /// quotes); this gives back the plain literal the server's text has. Any other escape is left as it is, so it fails.
    private static func unescapingColons(_ sql: String) -> String {
        var sql = sql
        while let open = sql.range(of: "E'"), let close = sql.range(of: "'", range: open.upperBound..<sql.endIndex) {
            let inner = sql[open.upperBound..<close.lowerBound].replacingOccurrences(of: #"\x3A"#, with: ":")
            guard !inner.contains("\\") else { break }
            sql.replaceSubrange(open.lowerBound..<close.upperBound, with: "'\(inner)'")
        }
        return sql
    }
}
