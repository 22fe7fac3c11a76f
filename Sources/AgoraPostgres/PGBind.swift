package import Foundation

/// One parameter value as it goes on the wire: a type OID, a format, and bytes (nil for NULL).
package struct PGBind: Sendable, Equatable {
    /// The parameter's type OID; 0 lets the server infer it from the statement.
    package var oid: UInt32
    /// Binary (true) or text (false) wire format.
    package var binary: Bool
    /// The encoded value, or nil for NULL.
    package var bytes: [UInt8]?

    /// Makes a bind.
    package init(oid: UInt32, binary: Bool, bytes: [UInt8]?) {
        self.oid = oid
        self.binary = binary
        self.bytes = bytes
    }

    /// SQL NULL, of a type the server infers.
    package static let null = PGBind(oid: 0, binary: false, bytes: nil)
}

/// A Swift value that can be a query parameter.
package protocol PGEncodable: Sendable {
    /// The value as a parameter.
    var pgBind: PGBind { get }
}

/// PostgreSQL type OIDs we read and write (from `pg_type.dat`).
package enum PGType {
    static let bool: UInt32 = 16
    static let bytea: UInt32 = 17
    static let name: UInt32 = 19
    static let int8: UInt32 = 20
    static let int2: UInt32 = 21
    static let int4: UInt32 = 23
    static let text: UInt32 = 25
    static let oid: UInt32 = 26
    static let json: UInt32 = 114
    static let float4: UInt32 = 700
    static let float8: UInt32 = 701
    static let unknown: UInt32 = 705
    static let bpchar: UInt32 = 1042
    static let varchar: UInt32 = 1043
    static let date: UInt32 = 1082
    static let timestamp: UInt32 = 1114
    static let timestamptz: UInt32 = 1184
    static let numeric: UInt32 = 1700
    static let uuid: UInt32 = 2950
    static let jsonb: UInt32 = 3802
    /// OIDs from here up belong to user-defined types (enums, domains, extensions such as citext), which
    /// PostgreSQL sends as their text form in binary results too.
    static let firstUserDefined: UInt32 = 16384
}

// MARK: - Encodings

extension PGBind {
    static func bigEndian<T: FixedWidthInteger>(_ value: T, oid: UInt32) -> PGBind {
        withUnsafeBytes(of: value.bigEndian) { PGBind(oid: oid, binary: true, bytes: Array($0)) }
    }
}

extension Int: PGEncodable {
    package var pgBind: PGBind { .bigEndian(Int64(self), oid: PGType.int8) }
}

extension Int64: PGEncodable {
    package var pgBind: PGBind { .bigEndian(self, oid: PGType.int8) }
}

extension Int32: PGEncodable {
    package var pgBind: PGBind { .bigEndian(self, oid: PGType.int4) }
}

extension Bool: PGEncodable {
    package var pgBind: PGBind { PGBind(oid: PGType.bool, binary: true, bytes: [self ? 1 : 0]) }
}

extension Double: PGEncodable {
    package var pgBind: PGBind { .bigEndian(bitPattern, oid: PGType.float8) }
}

extension String: PGEncodable {
    // Sent as text of unknown type, so the server reads it as whatever the statement needs there
    // (text, varchar, an enum label, citext, ...), exactly as it would a quoted literal.
    package var pgBind: PGBind { PGBind(oid: 0, binary: false, bytes: Array(utf8)) }
}

extension UUID: PGEncodable {
    package var pgBind: PGBind {
        withUnsafeBytes(of: uuid) { PGBind(oid: PGType.uuid, binary: true, bytes: Array($0)) }
    }
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 00:00:00 UTC).
let postgresEpochOffset: Int64 = 946_684_800

extension Date: PGEncodable {
    package var pgBind: PGBind {
        // timestamptz has microsecond resolution; round rather than truncate so a value survives a round trip.
        let micros = ((timeIntervalSince1970 - Double(postgresEpochOffset)) * 1_000_000).rounded()
        return .bigEndian(Self.postgresMicros(micros), oid: PGType.timestamptz)
    }

    /// PostgreSQL's timestamptz range (4713 BC to 294276 AD) in microseconds since 2000-01-01.
    static let postgresMicrosRange: ClosedRange<Double> = -211_813_488_000_000_000...9_224_318_015_999_999_000

    /// `micros` as PostgreSQL stores it. A date outside the range, which a client can put in a pagination cursor,
    /// becomes '-infinity' or 'infinity' (Int64.min / Int64.max on the wire): it compares as the far past or future
    /// would, where `Int64(micros)` would trap and a value just inside Int64 would be PostgreSQL's "out of range".
    static func postgresMicros(_ micros: Double) -> Int64 {
        if micros.isNaN || micros < postgresMicrosRange.lowerBound { return .min }
        if micros > postgresMicrosRange.upperBound { return .max }
        return Int64(micros)
    }
}

/// Bytes for a `bytea` column.
package struct PGBytes: PGEncodable, PGDecodable, Equatable, Sendable {
    /// The bytes.
    package var bytes: [UInt8]
    /// Wraps `bytes`.
    package init(_ bytes: [UInt8]) { self.bytes = bytes }
    package var pgBind: PGBind { PGBind(oid: PGType.bytea, binary: true, bytes: bytes) }
    package init(pgCell cell: PGCell) throws(PGError) {
        guard cell.type == PGType.bytea else { throw cell.mismatch("PGBytes") }
        self.bytes = try cell.requireBytes()
    }
}

/// A Codable value stored as `jsonb` (read from `json` or `jsonb`).
package struct PGJSON<Value: Codable & Sendable>: PGEncodable, PGDecodable, Sendable {
    /// The value.
    package var value: Value
    /// Wraps `value`.
    package init(_ value: Value) { self.value = value }

    package var pgBind: PGBind {
        // Encoding our own Codable models cannot fail short of a programming error (e.g. a Double.nan).
        let json = (try? JSONEncoder().encode(value)).map(Array.init) ?? Array("null".utf8)
        return PGBind(oid: PGType.jsonb, binary: true, bytes: [1] + json)  // jsonb binary format version 1
    }

    package init(pgCell cell: PGCell) throws(PGError) {
        var bytes = try cell.requireBytes()
        switch cell.type {
        case PGType.json: break
        case PGType.jsonb:
            guard bytes.first == 1 else { throw cell.invalid("unknown jsonb format version") }
            bytes.removeFirst()
        default: throw cell.mismatch("PGJSON<\(Value.self)>")
        }
        do {
            value = try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw cell.invalid("JSON does not decode as \(Value.self): \(error)")
        }
    }
}
