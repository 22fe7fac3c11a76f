import AgoraDemo
import Foundation

/// What one client of Agora's realtime protocol receives over one socket (README, "Protocol").
struct SessionScript: Sendable {
    var hello: String
    /// Stored events, sent back to back after a `resume`.
    var resume: [String]
    var ack: String
    /// Live events, one at a time.
    var live: [String]

    var count: Int { resume.count + live.count + 2 }
    var payloadBytes: Int { ([hello, ack] + resume + live).reduce(0) { $0 + $1.utf8.count } }
}

/// Server-to-client messages of Agora's realtime protocol with realistic ids, times and text, generated
/// deterministically from a seed: one user with a few conversations and followed products. What the compression
/// benchmarks send, since how well DEFLATE does depends on exactly this: JSON keys and ids repeated from message to
/// message, short free text, random UUIDs.
struct RealtimeTraffic {
    private var random: SplitMix64
    private var seq = 841
    private var messageID = 120_000
    private var notificationID = 9_000
    private var seconds = 18 * 3600 + 52 * 60
    private let me: String
    private let conversations: [(id: String, partner: String, product: String)]
    private let products: [String]
    private let orders: [(order: String, sellerOrder: String, seller: String)]

    init(seed: UInt64) {
        var random = SplitMix64(seed: seed &+ 0x5EED)
        func uuid() -> String { RealtimeTraffic.uuid(&random) }
        me = uuid()
        conversations = (0..<4).map { _ in (id: uuid(), partner: uuid(), product: uuid()) }
        products = (0..<10).map { _ in uuid() }
        orders = (0..<2).map { _ in (order: uuid(), sellerOrder: uuid(), seller: uuid()) }
        self.random = random
    }

    /// hello, a resume page of `resume` stored events, the resume ack, `live` live events.
    mutating func session(resume: Int, live: Int) -> SessionScript {
        let hello = #"{"type":"hello","data":{"userId":"\#(me)","seq":\#(seq + resume)}}"#
        // Of every 20 stored events: 12 chat messages, 3 read receipts, 3 notifications, 2 order updates.
        let storedMix = "mmmrmnmmomrmnmmrmnmo"
        let stored = (0..<resume).map { i in event(storedMix[storedMix.index(storedMix.startIndex, offsetBy: i % 20)]) }
        let ack = #"{"type":"ack","id":"r1","data":{"seq":\#(seq)}}"#
        // Of every 20 live events: 4 chat messages, 4 typing, 9 product updates, 2 presence, 1 notification.
        let liveMix = "mtppPpmtppmptpnpmtpP"
        let lives = (0..<live).map { i in event(liveMix[liveMix.index(liveMix.startIndex, offsetBy: i % 20)]) }
        return SessionScript(hello: hello, resume: stored, ack: ack, live: lives)
    }

    private mutating func event(_ kind: Character) -> String {
        switch kind {
        case "m": chatMessage()
        case "r": chatRead()
        case "n": notification()
        case "o": orderStatus()
        case "t": typing()
        case "P": presence()
        default: productUpdated()
        }
    }

    /// `chat:message`, 250 to 400 bytes: sometimes mine, sometimes a product card.
    mutating func chatMessage() -> String {
        let conversation = pick(conversations)
        let sender = random.next() % 2 == 0 ? me : conversation.partner
        let text = pick(Self.phrases)
        seq += 1
        messageID += 1 + Int(random.next() % 40)
        let card = random.next() % 8 == 0 ? #""productId":"\#(conversation.product)","kind":"product""# : #""kind":"text""#
        var json = #"{"type":"chat:message","seq":\#(seq),"data":{"conversationId":"\#(conversation.id)","message":{"id":\#(messageID),"#
        json += #""senderId":"\#(sender)",\#(card),"text":"\#(text)","clientId":"m\#(messageID)-\#(random.next() % 100_000)","#
        return json + #""createdAt":"\#(timestamp())"}}}"#
    }

    private mutating func chatRead() -> String {
        let conversation = pick(conversations)
        seq += 1
        return #"{"type":"chat:read","seq":\#(seq),"data":{"conversationId":"\#(conversation.id)","userId":"\#(conversation.partner)","#
            + #""messageId":\#(messageID)}}"#
    }

    private mutating func notification() -> String {
        seq += 1
        notificationID += 1
        let unread = 1 + random.next() % 9
        let kind: String
        var data: String
        switch random.next() % 3 {
        case 0:
            let order = pick(orders)
            kind = "order"
            data = #"{"orderId":"\#(order.order)","sellerOrderId":"\#(order.sellerOrder)","status":"paid","total":\#(1000 + random.next() % 90_000),"#
            data += #""currency":"ZAR","buyerId":"\#(me)","sellerId":"\#(order.seller)"}"#
        case 1:
            kind = "like"
            data = #"{"productId":"\#(pick(products))","userId":"\#(pick(conversations).partner)","username":"\#(pick(Self.usernames))"}"#
        default:
            kind = "follower"
            data = #"{"userId":"\#(pick(conversations).partner)","username":"\#(pick(Self.usernames))","displayName":"\#(pick(Self.names))"}"#
        }
        let json = #"{"type":"notification:new","seq":\#(seq),"data":{"unread":\#(unread),"notification":{"id":\#(notificationID),"kind":"\#(kind)","#
        return json + #""read":false,"createdAt":"\#(timestamp())","data":\#(data)}}}"#
    }

    private mutating func orderStatus() -> String {
        let order = pick(orders)
        seq += 1
        let status = pick(["shipped", "delivered", "cancelled", "shipped"])
        let tracking = status == "shipped" ? #","carrier":"PostNet","trackingNumber":"PN\#(100_000 + random.next() % 900_000)""# : ""
        var json = #"{"type":"order:status","seq":\#(seq),"data":{"orderId":"\#(order.order)","sellerOrderId":"\#(order.sellerOrder)","#
        json += #""status":"\#(status)"\#(tracking),"total":\#(1000 + random.next() % 90_000),"currency":"ZAR","#
        return json + #""buyerId":"\#(me)","sellerId":"\#(order.seller)"}}"#
    }

    private mutating func typing() -> String {
        let conversation = pick(conversations)
        return #"{"type":"chat:typing","data":{"conversationId":"\#(conversation.id)","userId":"\#(conversation.partner)"}}"#
    }

    private mutating func presence() -> String {
        let online = random.next() % 2 == 0
        let lastSeen = online ? "" : #","lastSeen":"\#(timestamp())""#
        return #"{"type":"presence","data":{"userId":"\#(pick(conversations).partner)","online":\#(online)\#(lastSeen)}}"#
    }

    /// `product:updated`: only what changed (views most often, then likes, price and availability).
    private mutating func productUpdated() -> String {
        let product = pick(products)
        let change: String
        switch random.next() % 10 {
        case 0..<5: change = #""views":\#(100 + random.next() % 5_000)"#
        case 5..<8: change = #""likes":\#(random.next() % 300)"#
        case 8: change = #""price":{"amount":\#(5_000 + random.next() % 200_000),"currency":"ZAR"},"available":\#(random.next() % 12)"#
        default: change = #""available":\#(random.next() % 12),"status":"published""#
        }
        return #"{"type":"product:updated","topic":"product:\#(product)","data":{"productId":"\#(product)",\#(change)}}"#
    }

    /// A broadcast event, 300 bytes to 2 KB: a product snapshot (half of them), a chat message, an order update.
    mutating func broadcastEvent(seq: Int) -> String {
        let inner: String
        switch seq % 4 {
        case 0, 2: inner = #"{"kind":"product:updated","data":\#(productSnapshot())}"#
        case 1: inner = #"{"kind":"chat:message","data":\#(chatMessage())}"#
        default: inner = #"{"kind":"order:status","data":\#(orderStatus())}"#
        }
        return #"{"type":"event","seq":\#(seq),"event":\#(inner)}"#
    }

    private mutating func productSnapshot() -> String {
        let id = pick(products)
        let title = pick(Self.titles)
        let slug = title.lowercased().split { !$0.isLetter && !$0.isNumber }.joined(separator: "-")
        let images = (0..<(2 + Int(random.next() % 4))).map { i in
            #"{"url":"https://cdn.agora.example/media/\#(Self.uuid(&random))/1280.webp","width":1280,"height":960,"#
                + #""alt":"\#(title), photo \#(i + 1)"}"#
        }
        let (category, path) = pick(Self.categories)
        var json = #"{"product":{"id":"\#(id)","title":"\#(title)","slug":"\#(slug)","description":"\#(pick(Self.descriptions))","#
        json += #""price":{"amount":\#(5_000 + random.next() % 200_000),"currency":"ZAR"},"available":\#(random.next() % 12),"#
        json += #""likes":\#(random.next() % 300),"views":\#(100 + random.next() % 5_000),"status":"published","#
        json += #""condition":"\#(pick(["new", "used_like_new", "used_good", "used_fair"]))","#
        json += #""seller":{"id":"\#(pick(conversations).partner)","username":"\#(pick(Self.usernames))","displayName":"\#(pick(Self.names))","#
        json += #""rating":4.\#(random.next() % 10),"sales":\#(random.next() % 400)},"#
        json += #""category":{"id":"\#(Self.uuid(&random))","name":"\#(category)","path":\#(path)},"#
        return json + #""images":[\#(images.joined(separator: ","))],"updatedAt":"\#(timestamp())"}}"#
    }

    private mutating func timestamp() -> String {
        seconds += Int(random.next() % 90)
        return String(format: "2026-12-03T%02d:%02d:%02dZ", (seconds / 3600) % 24, (seconds / 60) % 60, seconds % 60)
    }

    private mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }

    private static func uuid(_ random: inout SplitMix64) -> String {
        let (a, b) = (random.next(), random.next())
        let hex = String(a, radix: 16, uppercase: true).leftPadded(16) + String(b, radix: 16, uppercase: true).leftPadded(16)
        let d = Array(hex)
        return "\(String(d[0..<8]))-\(String(d[8..<12]))-4\(String(d[13..<16]))-\(String(d[16..<20]))-\(String(d[20..<32]))"
    }

    private static let phrases = [
        "Is it still available?", "Hi! Would you take R750 for it?", "I can collect on Saturday morning if that works for you.",
        "Does it come with the original box and charger?", "Sure, Saturday works. I am in Rondebosch, near the station.",
        "What is the condition of the screen? Any scratches?", "Thanks, just paid. Please let me know when it ships.",
        "Can you send a photo of the back?", "It has a small mark on the left side, otherwise perfect.", "Yes, still available.",
        "Great, see you then!", "Would you post it to Durban? I can cover PostNet.", "I have two of these, do you want both for R1400?",
        "Sorry, I only have the one size left.", "Shipped this morning, the tracking number is on the order.", "Received it today, thank you!",
        "ok", "Perfect 👍", "How old is the battery?", "Can you hold it for me until Friday? I get paid on Thursday.",
    ]
    private static let usernames = ["thandi.m", "jvdmerwe", "capetown_cycles", "lerato_k", "vintage.finds", "sipho92", "marie-louise", "bookworm_za"]
    private static let names = ["Thandi Mokoena", "Johan van der Merwe", "Cape Town Cycles", "Lerato Khumalo", "Vintage Finds", "Sipho Dlamini"]
    private static let titles = [
        "iPhone 13 128GB, Midnight, battery 89%", "Trek Marlin 7 mountain bike (2022), size L", "Mid-century teak sideboard",
        "Le Creuset cast iron casserole 24cm, cerise", "Canon EOS 250D with 18-55mm kit lens", "Set of 6 hand-thrown stoneware mugs",
    ]
    private static let descriptions = [
        "Used for one season, serviced in October. New tyres and brake pads; a few scuffs on the top tube. "
            + "Collection in Rondebosch or courier at the buyer's cost.",
        "Bought in 2023, always in a case with a screen protector. Comes with the original box and a USB-C cable, no charger.",
        "Solid teak, three drawers and two cupboards. Some wear on the top consistent with age, all drawers run smoothly.",
        "Barely used, no chips in the enamel. A wedding present we never got round to using.",
    ]
    private static let categories = [
        ("Phones", #"["Electronics","Phones"]"#), ("Bicycles", #"["Sport","Cycling","Bicycles"]"#), ("Furniture", #"["Home","Furniture"]"#),
        ("Cookware", #"["Home","Kitchen","Cookware"]"#), ("Cameras", #"["Electronics","Cameras"]"#),
    ]
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
