package import Accounts
package import Commerce
package import Foundation
package import Logging

/// The operator's half of the marketplace, put together from the domains' own services: it owns no table and
/// reads none, so each figure keeps its SQL in the domain that owns the rows.
package struct AdminService: Sendable {
    let accounts: AccountsService
    let orders: OrderService

    package init(accounts: AccountsService, orders: OrderService) {
        self.accounts = accounts
        self.orders = orders
    }

    /// The dashboard for `from`…`to` inclusive (UTC days): both halves read at once.
    package func stats(from: Date, to: Date, logger: Logger) async throws -> AdminStats {
        async let signups = accounts.signupFigures(from: from, to: to, logger: logger)
        async let sales = orders.salesFigures(from: from, to: to, logger: logger)
        let (people, sold) = try await (signups, sales)
        let salesByDay = Dictionary(sold.days.map { ($0.day, $0) }, uniquingKeysWith: { first, _ in first })
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return AdminStats(
            from: formatter.string(from: from), to: formatter.string(from: to),
            totals: .init(
                users: people.users, sellers: people.sellers, ordersPaid: sold.ordersPaid, gmv: sold.gmv,
                paymentFailureRate: sold.paymentFailureRate
            ),
            days: people.days.map { day in
                AdminStats.Day(
                    day: day.day, newUsers: day.users, newSellers: day.sellers, orders: salesByDay[day.day]?.orders ?? 0,
                    gmv: salesByDay[day.day]?.gmv ?? []
                )
            },
            topProducts: sold.topProducts
        )
    }
}
