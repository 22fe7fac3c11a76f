import AgoraPostgres
package import Foundation
package import Logging

/// How many accounts signed up, per UTC day of a range and in all: the accounts half of the operator's dashboard.
package struct SignupFigures: Sendable, Equatable {
    package struct Day: Sendable, Equatable {
        /// `YYYY-MM-DD`.
        package var day: String
        package var users: Int
        package var sellers: Int
    }
    package var days: [Day]
    /// Every account, and every seller, now.
    package var users: Int
    package var sellers: Int
}

extension AccountsService {
    /// Sign-ups per UTC day from `from` to `to` inclusive, and the totals now.
    package func signupFigures(from: Date, to: Date, logger: Logger) async throws -> SignupFigures {
        // The days and the totals are independent reads: both in flight at once.
        async let days = db.query(
            """
            WITH d AS (SELECT generate_series(\(from)::timestamptz AT TIME ZONE 'UTC', \(to)::timestamptz AT TIME ZONE 'UTC', '1 day')::date AS day)
            SELECT to_char(d.day, 'YYYY-MM-DD') AS day,
                   (SELECT count(*) FROM accounts a WHERE (a.created_at AT TIME ZONE 'UTC')::date = d.day) AS users,
                   (SELECT count(*) FROM accounts a WHERE (a.created_at AT TIME ZONE 'UTC')::date = d.day AND a.role = 'seller') AS sellers
            FROM d ORDER BY d.day
            """,
            logger: logger
        )
        async let totalRows = db.query(
            "SELECT (SELECT count(*) FROM accounts) AS users, (SELECT count(*) FROM accounts WHERE role = 'seller') AS sellers",
            logger: logger
        )
        let dayRows = try await days
        let totals = try await totalRows.one()
        return SignupFigures(
            days: try dayRows.map { row in
                SignupFigures.Day(day: try row.decode("day"), users: try row.decode("users"), sellers: try row.decode("sellers"))
            },
            users: try totals.decode("users"), sellers: try totals.decode("sellers")
        )
    }
}
