package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// An address in a buyer's address book.
package struct SavedAddress: Codable, Sendable, Equatable {
    package var id: UUID
    /// The buyer's name for it ("Home", "Work"), if any.
    package var label: String?
    package var isDefault: Bool
    package var address: ShippingAddress
    package var createdAt: Date
    package var updatedAt: Date

    enum CodingKeys: String, CodingKey { case id, label, isDefault, address, createdAt, updatedAt }

    /// Writes `"label": null` rather than leaving the key out, as the document says.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(label, forKey: .label)
        try container.encode(isDefault, forKey: .isDefault)
        try container.encode(address, forKey: .address)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// What a buyer sends to save or replace an address.
package struct SavedAddressInput: Decodable, Sendable {
    package var label: String?
    package var isDefault: Bool?
    package var address: ShippingAddress

    package init(label: String? = nil, isDefault: Bool? = nil, address: ShippingAddress) {
        self.label = label
        self.isDefault = isDefault
        self.address = address
    }
}

/// A buyer's saved addresses (issue 23, part 4): at most `maxSavedAddresses`, exactly one of them the default while
/// there are any. A checkout copies the one it is given into the order, so editing or deleting an address never
/// changes an order.
///
/// Every change of one account's book is serialised by a transaction-scoped advisory lock, so two concurrent saves
/// cannot pass the limit or leave two defaults (the partial unique index `saved_addresses_one_default` would refuse
/// the second anyway).
package struct AddressBook: Sendable {
    let db: PGPool
    let settings: CommerceSettings

    package init(db: PGPool, settings: CommerceSettings) {
        self.db = db
        self.settings = settings
    }

    static let labelLength = 40

    static func notFound() -> AgoraError { AgoraError(.notFound, code: "address_not_found", "No such saved address") }

    /// The book, the default first, then oldest first.
    package func addresses(of account: UUID, logger: Logger) async throws -> [SavedAddress] {
        try await select(where: "account_id = \(account)", logger: logger)
    }

    /// One of `account`'s addresses. - Throws: 404 `address_not_found` (also for someone else's).
    package func address(_ id: UUID, of account: UUID, logger: Logger) async throws -> SavedAddress {
        guard let found = try await select(where: "id = \(id) AND account_id = \(account)", logger: logger).first else { throw Self.notFound() }
        return found
    }

    /// Saves a new address; the first one, or one sent with `isDefault: true`, becomes the default.
    /// - Throws: 422 naming the fields (`address.postalCode`, `label`); 409 `address_book_full`.
    package func add(_ input: SavedAddressInput, for account: UUID, logger: Logger) async throws -> SavedAddress {
        let (label, address) = try Self.validated(input)
        let json = try Self.json(address)
        let id: UUID = try await db.withTransaction(logger: logger) { tx in
            try await lock(account, in: tx)
            let count: Int64 = try await tx.query("SELECT count(*) AS n FROM saved_addresses WHERE account_id = \(account)").one().decode("n")
            guard count < settings.maxSavedAddresses else {
                throw AgoraError(.conflict, code: "address_book_full",
                                 "An address book holds at most \(settings.maxSavedAddresses) addresses; delete one first")
            }
            let makeDefault = count == 0 || input.isDefault == true
            if makeDefault { try await tx.execute("UPDATE saved_addresses SET is_default = false WHERE account_id = \(account) AND is_default") }
            return try await tx.query(
                """
                INSERT INTO saved_addresses (account_id, label, address, is_default)
                VALUES (\(account), \(label), \(json)::jsonb, \(makeDefault)) RETURNING id
                """
            ).one().decode("id")
        }
        logger.info("Address saved", metadata: ["agora.address_id": "\(id)"])
        return try await self.address(id, of: account, logger: logger)
    }

    /// Replaces an address (label, fields); `isDefault: true` makes it the default. Sending `isDefault: false` for
    /// the default is refused: another address becomes the default by being made it.
    /// - Throws: 404 `address_not_found`; 422 as `add`, or `default_required`.
    package func replace(_ id: UUID, with input: SavedAddressInput, for account: UUID, logger: Logger) async throws -> SavedAddress {
        let (label, address) = try Self.validated(input)
        let json = try Self.json(address)
        try await db.withTransaction(logger: logger) { tx in
            try await lock(account, in: tx)
            let rows = try await tx.query("SELECT is_default FROM saved_addresses WHERE id = \(id) AND account_id = \(account)")
            guard let row = rows.first else { throw Self.notFound() }
            let wasDefault: Bool = try row.decode("is_default")
            if wasDefault && input.isDefault == false {
                throw AgoraError(.validation, code: "default_required", "Make another address the default instead",
                                 fields: ["isDefault": "the default address stays the default until another is made it"])
            }
            if input.isDefault == true && !wasDefault {
                try await tx.execute("UPDATE saved_addresses SET is_default = false WHERE account_id = \(account) AND is_default")
            }
            try await tx.execute(
                """
                UPDATE saved_addresses SET label = \(label), address = \(json)::jsonb, is_default = \(wasDefault || input.isDefault == true),
                       updated_at = now()
                WHERE id = \(id)
                """
            )
        }
        return try await self.address(id, of: account, logger: logger)
    }

    /// Makes an address the default. - Throws: 404 `address_not_found`.
    package func makeDefault(_ id: UUID, for account: UUID, logger: Logger) async throws -> SavedAddress {
        try await db.withTransaction(logger: logger) { tx in
            try await lock(account, in: tx)
            guard try await !tx.query("SELECT 1 FROM saved_addresses WHERE id = \(id) AND account_id = \(account)").isEmpty else { throw Self.notFound() }
            try await tx.execute("UPDATE saved_addresses SET is_default = false WHERE account_id = \(account) AND is_default AND id <> \(id)")
            try await tx.execute("UPDATE saved_addresses SET is_default = true, updated_at = now() WHERE id = \(id) AND NOT is_default")
        }
        return try await self.address(id, of: account, logger: logger)
    }

    /// Deletes an address; when it was the default, the oldest remaining one becomes the default.
    /// - Throws: 404 `address_not_found`.
    package func delete(_ id: UUID, for account: UUID, logger: Logger) async throws {
        try await db.withTransaction(logger: logger) { tx in
            try await lock(account, in: tx)
            let rows = try await tx.query("DELETE FROM saved_addresses WHERE id = \(id) AND account_id = \(account) RETURNING is_default")
            guard let row = rows.first else { throw Self.notFound() }
            if try row.decode("is_default") as Bool {
                try await tx.execute(
                    """
                    UPDATE saved_addresses SET is_default = true
                    WHERE id = (SELECT id FROM saved_addresses WHERE account_id = \(account) ORDER BY created_at, id LIMIT 1)
                    """
                )
            }
        }
    }

    /// The address a checkout copies: one of the buyer's saved addresses.
    /// - Throws: 422 `address_not_found` naming `addressId` (a checkout's body, not its URL, named it).
    package func shippingAddress(_ id: UUID, of account: UUID, logger: Logger) async throws -> ShippingAddress {
        do {
            return try await address(id, of: account, logger: logger).address
        } catch let error as AgoraError where error.code == "address_not_found" {
            throw AgoraError(.validation, code: "address_not_found", "No such saved address", fields: ["addressId": "is not one of your saved addresses"])
        }
    }

    // MARK: Parts

    static func validated(_ input: SavedAddressInput) throws -> (label: String?, address: ShippingAddress) {
        let address = input.address.normalized()
        var problems = address.problems(prefix: "address")
        var label: String?
        if let raw = input.label {
            switch TextPolicy.singleLine(raw, 0...labelLength) {
            case .success(let text): label = text.isEmpty ? nil : text
            case .failure(let problem): problems["label"] = problem.description
            }
        }
        guard problems.isEmpty else { throw AgoraError(.validation, "The address is not valid", fields: problems) }
        return (label, address)
    }

    static func json(_ address: ShippingAddress) throws -> String { String(decoding: try JSONEncoder().encode(address), as: UTF8.self) }

    func lock(_ account: UUID, in tx: PGTransaction) async throws {
        try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('agora.addresses:' || \(account.uuidString.lowercased()), 0))")
    }

    func select(where filter: PGQuery, logger: Logger) async throws -> [SavedAddress] {
        try await db.query(
            """
            SELECT id, label, address::text AS address, is_default, created_at, updated_at FROM saved_addresses
            WHERE \(fragment: filter) ORDER BY is_default DESC, created_at, id
            """,
            logger: logger
        ).map { row in
            let json: String = try row.decode("address")
            return SavedAddress(
                id: try row.decode("id"), label: try row.decode("label"), isDefault: try row.decode("is_default"),
                address: try JSONDecoder().decode(ShippingAddress.self, from: Data(json.utf8)),
                createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at")
            )
        }
    }
}
