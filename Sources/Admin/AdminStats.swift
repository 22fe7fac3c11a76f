package import AgoraCore
package import Commerce
import Foundation

/// The admin dashboard's figures for a range of days (UTC): sign-ups from Accounts, sales from Commerce.
package struct AdminStats: Codable, Sendable, Equatable {
    package struct Day: Codable, Sendable, Equatable {
        /// `YYYY-MM-DD`.
        package var day: String
        package var newUsers: Int
        package var newSellers: Int
        /// Orders paid that day, and their value per currency.
        package var orders: Int
        package var gmv: [Money]
    }
    package typealias TopProduct = SalesFigures.TopProduct
    package var from: String
    package var to: String
    package var totals: Totals
    package var days: [Day]
    package var topProducts: [TopProduct]

    package struct Totals: Codable, Sendable, Equatable {
        package var users: Int
        package var sellers: Int
        package var ordersPaid: Int
        package var gmv: [Money]
        /// Orders that had a payment declined and were never paid, over those plus the orders paid, among the
        /// orders created in the range; null when there are none. An order paid after a decline counts as paid.
        package var paymentFailureRate: Double?
    }
}
