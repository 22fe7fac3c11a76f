import AgoraCore
import AgoraCrypto
package import AgoraEvents
package import AgoraPostgres
package import Foundation
package import Logging

/// The digital inventory of key, credential and link products: items uploaded encrypted (AES-256-GCM), counted,
/// and allocated at fulfilment.
package struct InventoryService: Sendable {
    let db: PGPool
    let events: EventOutbox
    let vault: InventoryVault
    let settings: CommerceSettings

    package init(db: PGPool, events: EventOutbox, vault: InventoryVault, settings: CommerceSettings) {
        self.db = db
        self.events = events
        self.vault = vault
        self.settings = settings
    }
}

extension InventoryService {
    /// What an inventory upload did.
    package struct InventoryUpload: Codable, Sendable, Equatable {
        package var added: Int
        /// Lines (1-based) repeating an earlier line of the same upload, and lines already in the inventory.
        package var duplicateLines: [Int]
        package var alreadyStocked: [Int]
        /// Available items after the upload (the product's stock).
        package var available: Int
    }

    /// Item counts of a digital product.
    package struct InventoryCounts: Codable, Sendable, Equatable {
        package var available: Int
        package var sold: Int
        package var keyIds: [String]
    }

    /// Parses an upload: one item per line (`text/plain`), the first column of each record (`text/csv`, with an
    /// optional header naming the column `item`, `key`, `code`, `credential`, `link` or `url`), or `{"items": […]}`.
    /// Blank lines are skipped; line numbers count them.
    package static func inventoryLines(_ body: [UInt8], contentType: String?) throws -> [(line: Int, item: String)] {
        // `split` of an empty header is no parts at all: `first` (not `[0]`) makes an empty Content-Type a plain 415.
        let type = (contentType ?? "text/plain").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard let text = String(validating: body, as: UTF8.self) else {
            throw AgoraError(.badRequest, code: "invalid_encoding", "The inventory must be UTF-8 text")
        }
        switch type {
        case "text/plain":
            // "\r\n" is one Character in Swift, so both line ends are named.
            return text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated().compactMap { index, raw in
                let item = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                return item.isEmpty ? nil : (index + 1, item)
            }
        case "text/csv":
            var records = CSV.records(text).enumerated().map { ($0.offset + 1, $0.element.first?.trimmingCharacters(in: .whitespaces) ?? "") }
            if let first = records.first, ["item", "key", "code", "credential", "link", "url", "value"].contains(first.1.lowercased()) {
                records.removeFirst()
            }
            return records.filter { !$0.1.isEmpty }
        case "application/json":
            struct Body: Decodable { var items: [String] }
            guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(body)) else {
                throw AgoraError(.badRequest, code: "invalid_json", "Expected {\"items\": [\"…\", …]}")
            }
            return decoded.items.enumerated().compactMap { index, raw in
                let item = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                return item.isEmpty ? nil : (index + 1, item)
            }
        default:
            throw AgoraError(.unsupportedMediaType, code: "unsupported_media_type", "Send text/plain, text/csv or application/json")
        }
    }

    /// Adds items to a digital product's inventory, sealed, and raises its stock by the number added.
    /// - Parameter admin: an admin may stock any seller's product; a seller only their own.
    /// - Throws: 404 for a product that is not the caller's; 422 for a physical product, no items, too many lines,
    ///   an item too long or (for `link` products) not an http(s) URL — nothing is added then.
    package func uploadInventory(
        _ product: UUID, actor: UUID, admin: Bool, items: [(line: Int, item: String)], logger: Logger
    ) async throws -> InventoryUpload {
        guard !items.isEmpty else { throw AgoraError(.validation, code: "inventory_empty", "The upload has no items") }
        guard items.count <= settings.maxInventoryLines else {
            throw AgoraError(.validation, code: "inventory_too_large", "At most \(settings.maxInventoryLines) items per upload; this one has \(items.count)")
        }
        return try await db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query("SELECT type, stock, seller_id FROM products WHERE id = \(product) AND (seller_id = \(actor) OR \(admin)) FOR UPDATE")
            guard let row = rows.first else { throw AgoraError(.notFound, code: "product_not_found", "No such product") }
            let type: String = try row.decode("type")
            guard type != "physical" else {
                throw AgoraError(.validation, code: "not_digital", "Only key, credential and link products have an inventory")
            }
            var problems: [String: String] = [:]
            var seen: [String: Int] = [:]
            var duplicates: [Int] = []
            var unique: [(line: Int, item: String)] = []
            for (line, item) in items {
                if item.utf8.count > settings.maxInventoryItemLength {
                    problems["line \(line)"] = "is longer than \(settings.maxInventoryItemLength) bytes"
                } else if type == "link", !(item.hasPrefix("https://") || item.hasPrefix("http://")) || URL(string: item) == nil {
                    problems["line \(line)"] = "is not an http(s) link"
                }
                if seen[item] != nil { duplicates.append(line) } else { seen[item] = line; unique.append((line, item)) }
                if problems.count >= 20 { break }
            }
            guard problems.isEmpty else { throw AgoraError(.validation, code: "invalid_inventory", "Some lines cannot be stocked; nothing was added", fields: problems) }
            // Items already stocked, whichever key's fingerprint their row carries (rows sealed before a rotation
            // carry the old key's). The product row is locked, so no other upload can add one meanwhile.
            let candidates = unique.map { vault.fingerprints($0.item).map(Hex.encode) }
            let present = Set(try await tx.query(
                """
                SELECT encode(fingerprint, 'hex') AS f FROM inventory_items
                WHERE product_id = \(product) AND fingerprint = ANY(SELECT decode(h, 'hex') FROM unnest(\(candidates.flatMap { $0 })) AS h)
                """
            ).map { try $0.decode("f", as: String.self) })
            let fresh = zip(unique, candidates).filter { _, fingerprints in !fingerprints.contains(where: present.contains) }.map(\.0)
            let sealed = try fresh.map { Hex.encode(try vault.seal($0.item, product: product)) }
            let fingerprints = fresh.map { Hex.encode(vault.fingerprint($0.item)) }
            let inserted = try await tx.query(
                """
                INSERT INTO inventory_items (product_id, key_id, sealed, fingerprint)
                SELECT \(product), \(vault.currentKeyID), decode(s, 'hex'), decode(f, 'hex') FROM unnest(\(sealed), \(fingerprints)) AS u(s, f)
                ON CONFLICT (product_id, fingerprint) DO NOTHING
                RETURNING encode(fingerprint, 'hex') AS f
                """
            )
            let added = Set(try inserted.map { try $0.decode("f", as: String.self) })
            let stocked = unique.filter { !added.contains(Hex.encode(vault.fingerprint($0.item))) }.map(\.line)
            let old: Int = try row.decode("stock")
            let stock: Int = try await tx.query(
                "UPDATE products SET stock = stock + \(added.count), updated_at = now() WHERE id = \(product) RETURNING stock"
            ).one().decode("stock")
            if !added.isEmpty {
                try await events.record(DomainEvent(.productStockChanged, actor: actor, subject: product, payload: [
                    "oldStock": .int(Int64(old)), "stock": .int(Int64(stock)), "source": .string("inventory"),
                ]), in: tx)
            }
            logger.info("Inventory uploaded", metadata: ["agora.product_id": "\(product)", "agora.added": "\(added.count)"])
            let reserved: Int = try await tx.query("SELECT reserved FROM products WHERE id = \(product)").one().decode("reserved")
            return InventoryUpload(added: added.count, duplicateLines: duplicates, alreadyStocked: stocked, available: stock - reserved)
        }
    }

    /// Counts of a digital product's inventory, for its seller or an admin.
    package func inventoryCounts(_ product: UUID, actor: UUID, admin: Bool, logger: Logger) async throws -> InventoryCounts {
        let owned = try await db.query("SELECT 1 FROM products WHERE id = \(product) AND (seller_id = \(actor) OR \(admin))", logger: logger)
        guard !owned.isEmpty else { throw AgoraError(.notFound, code: "product_not_found", "No such product") }
        let rows = try await db.query(
            """
            SELECT count(*) FILTER (WHERE status = 'available') AS available, count(*) FILTER (WHERE status = 'sold') AS sold,
                   coalesce(array_agg(DISTINCT key_id), '{}') AS keys
            FROM inventory_items WHERE product_id = \(product)
            """,
            logger: logger
        )
        return InventoryCounts(available: try rows.one().decode("available"), sold: try rows.one().decode("sold"), keyIds: try rows.one().decode("keys"))
    }
}

/// RFC 4180 records: fields separated by commas, quoted fields may hold commas, newlines and doubled quotes.
enum CSV {
    static func records(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar?
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = n }
                    } else { quoted = false }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                record.append(field)
                field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r", let n = next(), n != "\n" { pending = n }
                record.append(field)
                records.append(record)
                record = []
                field = ""
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
