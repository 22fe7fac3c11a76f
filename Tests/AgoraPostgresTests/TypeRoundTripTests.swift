import AgoraPostgres
import AgoraTestSupport
import Foundation
import Testing

private struct Settings: Codable, Equatable, Sendable {
    var theme: String
    var sizes: [Int]
}

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct TypeRoundTripTests {
    @Test func everyTypeRoundTrips() async throws {
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            try await db.execute(
                """
                CREATE TABLE everything (
                    i bigint, i4 integer, i2 smallint, b boolean, s text, v varchar(20), d double precision,
                    u uuid, t timestamptz, raw bytea, j jsonb, js json, n numeric(12, 3)
                )
                """, logger: log)
            let id = UUID()
            let now = Date(timeIntervalSince1970: 1_763_000_000.123456)
            let settings = Settings(theme: "dark ☾", sizes: [1, 2, 3])
            let bytes: [UInt8] = [0, 1, 2, 0xff, 0x00, 0x7f]
            try await db.execute(
                """
                INSERT INTO everything VALUES (\(Int.max), \(Int32.min), \(Int(-7)), \(true), \("héllo 'quoted' \\ ☃"), \("varchar"),
                    \(3.141592653589793), \(id), \(now), \(PGBytes(bytes)), \(PGJSON(settings)), \(PGJSON(settings)), 12345.678)
                """, logger: log)
            let row = try #require(try await db.query("SELECT * FROM everything", logger: log).first)
            #expect(try row.decode("i", as: Int.self) == Int.max)
            #expect(try row.decode("i4", as: Int32.self) == Int32.min)
            #expect(try row.decode("i2", as: Int.self) == -7)
            #expect(try row.decode("b", as: Bool.self) == true)
            #expect(try row.decode("s", as: String.self) == "héllo 'quoted' \\ ☃")
            #expect(try row.decode("v", as: String.self) == "varchar")
            #expect(try row.decode("d", as: Double.self) == 3.141592653589793)
            #expect(try row.decode("u", as: UUID.self) == id)
            #expect(try row.decode("t", as: Date.self) == now)
            #expect(try row.decode("raw", as: PGBytes.self).bytes == bytes)
            #expect(try row.decode("j", as: PGJSON<Settings>.self).value == settings)
            #expect(try row.decode("js", as: PGJSON<Settings>.self).value == settings)
            #expect(try row.decode("n", as: String.self) == "12345.678")
            #expect(try row.decode("n", as: Double.self) == 12345.678)
        }
    }

    @Test func textWithQuotesAndUnicodeIsNeverInterpretedAsSQL() async throws {
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            let hostile = "x'); DROP TABLE notes; -- ☃ \"q\" \\n"
            try await db.execute("CREATE TABLE notes (body text NOT NULL)", logger: log)
            try await db.execute("INSERT INTO notes (body) VALUES (\(hostile))", logger: log)
            let rows = try await db.query("SELECT body FROM notes WHERE body = \(hostile)", logger: log)
            #expect(rows.count == 1)
            #expect(try rows[0].decode("body", as: String.self) == hostile)
        }
    }

    @Test func textWithANulByteIsRefusedNotTruncated() async throws {
        try await TestDatabase.withSchema { db, _ in
            let error = try await #require(throws: PGError.self) {
                try await db.query("SELECT \("before\u{0}after")::text AS t", logger: TestServices.logger)
            }
            #expect(error.code == .invalidValue)
            #expect(error.message.contains("$1"))
        }
    }

    @Test func nullsDecodeAsOptionalAndFailAsNonOptionalNamingTheColumn() async throws {
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            let nothing: String? = nil
            let row = try #require(try await db.query("SELECT \(nothing)::text AS nickname, NULL::uuid AS owner, 1 AS one", logger: log).first)
            #expect(try row.decode("nickname", as: String?.self) == nil)
            #expect(try row.decode("owner", as: UUID?.self) == nil)
            #expect(try row.decode("one", as: Int?.self) == 1)
            let error = try #require(throws: PGError.self) { try row.decode("nickname", as: String.self) }
            #expect(error.code == .unexpectedNull)
            #expect(error.column == "nickname")
        }
    }

    @Test func wrongTypeAndMissingColumnAreClearErrors() async throws {
        try await TestDatabase.withSchema { db, _ in
            let row = try #require(try await db.query("SELECT 'abc'::text AS title, 5 AS count", logger: TestServices.logger).first)
            let mismatch = try #require(throws: PGError.self) { try row.decode("title", as: Int.self) }
            #expect(mismatch.code == .typeMismatch)
            #expect(mismatch.column == "title")
            #expect(mismatch.message.contains("title"))
            let boolMismatch = try #require(throws: PGError.self) { try row.decode("count", as: Bool.self) }
            #expect(boolMismatch.code == .typeMismatch)
            let missing = try #require(throws: PGError.self) { try row.decode("nope", as: Int.self) }
            #expect(missing.code == .missingColumn)
        }
    }

    @Test func numericAggregatesAndNegativeFractions() async throws {
        try await TestDatabase.withSchema { db, _ in
            let row = try #require(
                try await db.query(
                    "SELECT sum(x) AS total, -0.05::numeric(4,2) AS neg, 0.00001::numeric AS tiny, 10000::numeric AS big FROM (VALUES (1), (2), (40)) v(x)",
                    logger: TestServices.logger
                ).first)
            #expect(try row.decode("total", as: Int.self) == 43)
            #expect(try row.decode("neg", as: String.self) == "-0.05")
            #expect(try row.decode("tiny", as: String.self) == "0.00001")
            #expect(try row.decode("big", as: String.self) == "10000")
        }
    }
}
