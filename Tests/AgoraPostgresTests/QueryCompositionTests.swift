import AgoraPostgres
import AgoraTestSupport
import Foundation
import Testing

struct QueryCompositionTests {
    @Test func fragmentsAreRenumberedAfterTheQueryTheyJoin() {
        let filter: PGQuery = "price >= \(100) AND title = \("$1 is not a placeholder")"
        let query: PGQuery = "SELECT * FROM p WHERE id = \(7) AND \(fragment: filter) LIMIT \(10)"
        #expect(query.sql == "SELECT * FROM p WHERE id = $1 AND price >= $2 AND title = $3 LIMIT $4")
        #expect(query.binds.count == 4)
        #expect(query.binds[1] == 100.pgBind && query.binds[2] == "$1 is not a placeholder".pgBind)
    }

    @Test func joinedSeparatesPartsAndKeepsEveryBind() {
        let parts: [PGQuery] = ["a = \(1)", "b = ANY(\([2, 3]))", "c IS NULL", "d = \(4)"]
        let joined = PGQuery.joined(parts, separator: " AND ")
        #expect(joined.sql == "a = $1 AND b = ANY($2) AND c IS NULL AND d = $3")
        #expect(joined.binds.count == 3)
        // A joined query can itself be spliced in again.
        let outer: PGQuery = "SELECT \(0) WHERE \(fragment: joined)"
        #expect(outer.sql == "SELECT $1 WHERE a = $2 AND b = ANY($3) AND c IS NULL AND d = $4")
    }

    @Test(.tags(.integration), .enabled(if: TestServices.isConfigured))
    func composedQueriesAndArraysRunOnPostgres() async throws {
        try await TestDatabase.withSchema { db, _ in
            let log = TestServices.logger
            let ids = [UUID(), UUID(), UUID()]
            try await db.execute("CREATE TABLE t (id uuid PRIMARY KEY, n bigint NOT NULL, tags text[] NOT NULL)", logger: log)
            for (index, id) in ids.enumerated() {
                try await db.execute("INSERT INTO t VALUES (\(id), \(index), \(["tag \(index)", "shared", "quote ' and \\ and \"x\""]))", logger: log)
            }
            var filters: [PGQuery] = ["n >= \(1)"]
            filters.append("id = ANY(\(Array(ids.prefix(2))))")
            let rows = try await db.query("SELECT id, tags FROM t WHERE \(fragment: PGQuery.joined(filters, separator: " AND "))", logger: log)
            #expect(rows.count == 1)
            #expect(try rows[0].decode("id", as: UUID.self) == ids[1])
            #expect(try rows[0].decode("tags", as: [String].self) == ["tag 1", "shared", "quote ' and \\ and \"x\""])
            let empty = try await db.query("SELECT \([String]()) AS e, \([Int]()) AS i", logger: log)
            #expect(try empty[0].decode("e", as: [String].self) == [] && empty[0].decode("i", as: [Int].self) == [])
            let unnest = try await db.query("SELECT sum(x) AS s FROM unnest(\([5, 6, 7])) AS x", logger: log)
            #expect(try unnest[0].decode("s", as: Int.self) == 18)
        }
    }
}
