package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// A category, with its children when read as a tree.
package struct Category: Sendable, Codable, Equatable {
    package var id: UUID
    package var parentId: UUID?
    package var slug: String
    package var name: String
    package var position: Int
    package var children: [Category]
}

/// What admins send to create (`POST /api/categories`) or change (`PATCH /api/categories/:id`) a category;
/// `parentId: null` moves it to the top level.
package struct CategoryInput: Decodable, Sendable {
    package var slug: FieldChange<String> = .keep
    package var name: FieldChange<String> = .keep
    package var parentId: FieldChange<UUID> = .keep
    package var position: FieldChange<Int> = .keep
    var typeErrors = FieldErrors()

    package init() {}

    enum CodingKeys: String, CodingKey { case slug, name, parentId, position }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        slug = c.change(String.self, .slug, expected: "a string", errors: &typeErrors)
        name = c.change(String.self, .name, expected: "a string", errors: &typeErrors)
        parentId = c.change(UUID.self, .parentId, expected: "a category id or null", errors: &typeErrors)
        position = c.change(Int.self, .position, expected: "an integer", errors: &typeErrors)
    }
}

/// The category tree (any depth, unique slugs). Owns `categories`.
package struct CategoryService: Sendable {
    let db: PGPool

    package init(db: PGPool) { self.db = db }

    /// Every category as a forest, siblings by position then name.
    package func tree(logger: Logger) async throws -> [Category] {
        let rows = try await db.query("SELECT id, parent_id, slug, name, position FROM categories ORDER BY position, name", logger: logger)
        let all = try rows.map { row in
            Category(id: try row.decode("id"), parentId: try row.decode("parent_id"), slug: try row.decode("slug"), name: try row.decode("name"),
                     position: try row.decode("position"), children: [])
        }
        let byParent = Dictionary(grouping: all, by: \.parentId)
        func build(_ parent: UUID?, depth: Int) -> [Category] {
            // The move check keeps the graph acyclic; the depth bound only guards against a corrupted table.
            guard depth < 100 else { return [] }
            return (byParent[parent] ?? []).map { category in
                var category = category
                category.children = build(category.id, depth: depth + 1)
                return category
            }
        }
        return build(nil, depth: 0)
    }

    /// Creates a category.
    /// - Throws: 422 for invalid fields, a taken slug or an unknown parent.
    package func create(_ input: CategoryInput, logger: Logger) async throws -> Category {
        var errors = input.typeErrors
        let slug = Self.slug(input.slug, required: true, &errors)
        let name = Self.name(input.name, required: true, &errors)
        Self.checkPosition(input.position, &errors)
        try errors.throwIfAny()
        return try await mapViolations {
            let row = try await db.query(
                """
                INSERT INTO categories (parent_id, slug, name, position)
                VALUES (\(input.parentId.newValue), \(slug), \(name), \(input.position.newValue ?? 0))
                RETURNING id, parent_id, slug, name, position
                """,
                logger: logger
            ).one()
            return try Self.category(row)
        }
    }

    /// Renames, re-slugs, re-orders or moves a category.
    /// - Throws: 404 for an unknown category; 422 for invalid fields or a move under itself or its descendants.
    package func update(_ id: UUID, _ input: CategoryInput, logger: Logger) async throws -> Category {
        var errors = input.typeErrors
        let slug = Self.slug(input.slug, required: false, &errors)
        let name = Self.name(input.name, required: false, &errors)
        Self.checkPosition(input.position, &errors)
        try errors.throwIfAny()
        return try await mapViolations {
            try await db.withTransaction(logger: logger) { tx in
                // Moves are serialised: two concurrent moves could each be acyclic alone and make a cycle together
                // (A under B while B goes under A). Readers are not blocked by this lock mode.
                try await tx.execute("LOCK TABLE categories IN SHARE ROW EXCLUSIVE MODE")
                guard try await !tx.query("SELECT 1 FROM categories WHERE id = \(id)").isEmpty else {
                    throw AgoraError(.notFound, code: "category_not_found", "No such category")
                }
                if case .set(let parent) = input.parentId {
                    let cycle = try await tx.query(
                        """
                        WITH RECURSIVE up AS (SELECT id, parent_id FROM categories WHERE id = \(parent)
                            UNION ALL SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id)
                        SELECT 1 FROM up WHERE id = \(id)
                        """
                    )
                    if !cycle.isEmpty {
                        throw AgoraError(.validation, code: "category_cycle", "A category cannot move under itself or one of its descendants",
                                         fields: ["parentId": "is this category or one of its descendants"])
                    }
                }
                let row = try await tx.query(
                    """
                    UPDATE categories SET slug = coalesce(\(slug), slug), name = coalesce(\(name), name),
                        position = coalesce(\(input.position.newValue), position),
                        parent_id = CASE \(Self.parentAction(input.parentId)) WHEN 'keep' THEN parent_id WHEN 'clear' THEN NULL ELSE \(input.parentId.newValue)::uuid END
                    WHERE id = \(id)
                    RETURNING id, parent_id, slug, name, position
                    """
                ).one()
                return try Self.category(row)
            }
        }
    }

    /// Deletes a category that has no children and no products.
    /// - Throws: 404 for an unknown category; 409 while children or products still use it.
    package func delete(_ id: UUID, logger: Logger) async throws {
        do {
            let result = try await db.execute("DELETE FROM categories WHERE id = \(id)", logger: logger)
            guard result.affectedRows == 1 else { throw AgoraError(.notFound, code: "category_not_found", "No such category") }
        } catch let error as PGError where error.isForeignKeyViolation {
            throw AgoraError(.conflict, code: "category_in_use", "Move or delete its subcategories and products first")
        }
    }

    static func parentAction(_ change: FieldChange<UUID>) -> String {
        switch change {
        case .keep: "keep"
        case .clear: "clear"
        case .set: "set"
        }
    }

    static func category(_ row: PGRow) throws -> Category {
        Category(id: try row.decode("id"), parentId: try row.decode("parent_id"), slug: try row.decode("slug"), name: try row.decode("name"),
                 position: try row.decode("position"), children: [])
    }

    static func slug(_ change: FieldChange<String>, required: Bool, _ errors: inout FieldErrors) -> String? {
        switch change {
        case .keep:
            if required { errors.add("slug", "is required") }
            return nil
        case .clear:
            errors.add("slug", "is required")
            return nil
        case .set(let raw):
            let slug = raw.lowercased()
            let valid = (1...60).contains(slug.count)
                && slug.split(separator: "-", omittingEmptySubsequences: false).allSatisfy { part in
                    !part.isEmpty && part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
                }
            guard valid else {
                errors.add("slug", "must be 1 to 60 lower-case letters or digits in words joined by single hyphens")
                return nil
            }
            return slug
        }
    }

    /// Where siblings are placed; the column is a PostgreSQL `integer`, and a million places is plenty.
    static let positionRange = -1_000_000...1_000_000

    static func checkPosition(_ change: FieldChange<Int>, _ errors: inout FieldErrors) {
        if let position = change.newValue, !positionRange.contains(position) {
            errors.add("position", "must be from \(positionRange.lowerBound) to \(positionRange.upperBound)")
        }
    }

    static func name(_ change: FieldChange<String>, required: Bool, _ errors: inout FieldErrors) -> String? {
        switch change {
        case .keep:
            if required { errors.add("name", "is required") }
            return nil
        case .clear:
            errors.add("name", "is required")
            return nil
        case .set(let raw): return ProductValidation.line(raw, 1...60, "name", &errors)
        }
    }

    func mapViolations<R>(_ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch let error as PGError where error.isUniqueViolation {
            throw AgoraError(.validation, "Some fields are not valid", fields: ["slug": "is taken"])
        } catch let error as PGError where error.isForeignKeyViolation {
            throw AgoraError(.validation, "Some fields are not valid", fields: ["parentId": "does not name a category"])
        } catch let error as PGError where error.sqlState == "23514" {
            throw AgoraError(.validation, code: "category_cycle", "A category cannot be its own parent", fields: ["parentId": "is this category"])
        }
    }
}
