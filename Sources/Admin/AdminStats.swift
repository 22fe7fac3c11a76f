public import AgoraCore
public import Commerce
import Foundation

/// The admin dashboard's figures for a range of days (UTC): sign-ups from Accounts, sales from Commerce.
public struct AdminStats: Codable, Sendable, Equatable {
    public struct Day: Codable, Sendable, Equatable {
        /// `YYYY-MM-DD`.
        public var day: String
        public var newUsers: Int
        public var newSellers: Int
        /// Orders paid that day, and their value per currency.
        public var orders: Int
        public var gmv: [Money]
    }
    public typealias TopProduct = SalesFigures.TopProduct
    public var from: String
    public var to: String
    public var totals: Totals
    public var days: [Day]
    public var topProducts: [TopProduct]

    public struct Totals: Codable, Sendable, Equatable {
        public var users: Int
        public var sellers: Int
        public var ordersPaid: Int
        public var gmv: [Money]
        /// Orders that had a payment declined and were never paid, over those plus the orders paid, among the
        /// orders created in the range; null when there are none. An order paid after a decline counts as paid.
        public var paymentFailureRate: Double?
    }
}
