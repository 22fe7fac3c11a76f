/// Collects per-field problems and throws them together as one 422, so a form can show every error at once.
package struct FieldErrors: Sendable {
    package private(set) var fields: [String: String] = [:]

    package init() {}

    /// Records `message` for `field` unless the field already has a problem (the first one is the clearest).
    package mutating func add(_ field: String, _ message: String) {
        if fields[field] == nil { fields[field] = message }
    }

    /// Throws a validation error listing every field, if any was recorded.
    package func throwIfAny(_ message: String = "Some fields are not valid") throws(AgoraError) {
        guard !fields.isEmpty else { return }
        throw AgoraError(.validation, message, fields: fields)
    }
}

/// A change to a field that may be left alone, set, or (for optional fields) cleared with JSON `null`.
package enum FieldChange<Value: Sendable>: Sendable {
    case keep, set(Value), clear
}


extension KeyedDecodingContainer {
    /// What a JSON body asks for at `key`: absent (`keep`), `null` (`clear`) or a value (`set`). A value of the wrong
    /// JSON type is recorded in `errors` as "must be <expected>", so it becomes part of one 422 naming every field
    /// instead of failing the whole body with a 400.
    package func change<T: Decodable & Sendable>(_ type: T.Type, _ key: Key, expected: String, errors: inout FieldErrors) -> FieldChange<T> {
        guard contains(key) else { return .keep }
        if (try? decodeNil(forKey: key)) == true { return .clear }
        guard let value = try? decode(T.self, forKey: key) else {
            errors.add(key.stringValue, "must be \(expected)")
            return .keep
        }
        return .set(value)
    }
}

extension FieldChange {
    /// The new value, or nil when the field is kept or cleared.
    package var newValue: Value? {
        if case .set(let value) = self { return value }
        return nil
    }
}
