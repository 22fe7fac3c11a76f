package import AgoraCore
package import Foundation

/// What a push shows: the service worker turns it into a notification (`title`, `body`, `tag`) whose click opens
/// `url`. Made from a notice's kind and data when the push is sent; plain text, never HTML.
package struct PushMessage: Codable, Sendable, Equatable {
    package var title: String
    package var body: String
    package var url: String
    package var tag: String?
    package var kind: String

    /// A value of a notice's data: the strings and whole numbers a message reads; anything else is ignored.
    enum Field: Decodable {
        case string(String)
        case integer(Int64)
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else {
                self = .other
            }
        }
    }

    /// The message for a notice of `kind` with `data` (its JSON object, as stored), as `recipient` should read it; nil
    /// for a kind that is not pushed or data that is not an object.
    package static func render(kind: String, data json: String, recipient: UUID) -> PushMessage? {
        guard let data = try? JSONDecoder().decode([String: Field].self, from: Data(json.utf8)) else { return nil }
        func string(_ key: String) -> String? { if case .string(let value)? = data[key] { value } else { nil } }
        func int(_ key: String) -> Int64? { if case .integer(let value)? = data[key] { value } else { nil } }
        func money(_ key: String) -> String {
            guard let amount = int(key), let currency = string("currency") else { return "" }
            return "\(currency) \(Money(amount: amount, currency: currency).decimalString)"
        }
        let order = string("orderId")?.lowercased() ?? ""
        let isSeller = string("sellerId").flatMap(UUID.init(uuidString:)) == recipient
        switch kind {
        case "order":
            return PushMessage(title: "New order", body: "\(money("total")) paid: ready to ship", url: "/sell/orders", tag: nil, kind: kind)
        case "message":
            let preview = string("preview") ?? ""
            return PushMessage(title: "New message", body: preview.isEmpty ? "You have a new message" : String(preview.prefix(140)),
                               url: "/chat/\(string("conversationId")?.lowercased() ?? "")", tag: nil, kind: kind)
        case "order_status":
            let url = isSeller ? "/sell/orders" : "/orders/\(order)"
            if let step = string("step") {
                let words = step.replacingOccurrences(of: "_", with: " ")
                return PushMessage(title: "Dispute", body: "A dispute on \(isSeller ? "an order you sold" : "your order"): \(words)", url: url, tag: nil, kind: kind)
            }
            let body: String
            switch string("status") ?? "" {
            case "shipped": body = "Your order has shipped" + (string("carrier").map { " with \($0)" } ?? "")
            case "delivered": body = "Your order was delivered"
            case "cancelled": body = "Your order was cancelled"
            default: body = int("amount") != nil ? "You were refunded \(money("amount"))" : "Your order was updated"
            }
            return PushMessage(title: "Order update", body: body, url: url, tag: nil, kind: kind)
        default:
            return nil
        }
    }
}
