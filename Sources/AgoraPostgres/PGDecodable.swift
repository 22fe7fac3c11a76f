package import Foundation

/// A Swift type that can be read from a result column.
package protocol PGDecodable: Sendable {
    /// Decodes `cell`.
    /// - Throws: `unexpectedNull`, `typeMismatch` or `invalidValue`, naming the column.
    init(pgCell cell: PGCell) throws(PGError)
}

extension Optional: PGDecodable where Wrapped: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) {
        self = cell.bytes == nil ? .none : .some(try Wrapped(pgCell: cell))
    }
}

extension PGCell {
    func integer<T: FixedWidthInteger>(_: T.Type, size: Int) throws(PGError) -> T {
        let bytes = try requireBytes()
        guard bytes.count == size else { throw invalid("expected \(size) bytes, got \(bytes.count)") }
        return bytes.reduce(T.zero) { $0 << 8 | T($1) }
    }

    func signedInteger() throws(PGError) -> Int64 {
        switch type {
        case PGType.int2: return Int64(Int16(bitPattern: try integer(UInt16.self, size: 2)))
        case PGType.int4: return Int64(Int32(bitPattern: try integer(UInt32.self, size: 4)))
        case PGType.int8: return Int64(bitPattern: try integer(UInt64.self, size: 8))
        case PGType.oid: return Int64(try integer(UInt32.self, size: 4))
        case PGType.numeric:
            // sum() and avg() of integers return numeric; accept it when it is a whole number that fits.
            guard let value = Int64(try PGNumeric.decimalString(try requireBytes(), column: self)) else {
                throw invalid("numeric value is not a whole number that fits in 64 bits")
            }
            return value
        default: throw mismatch("an integer")
        }
    }
}

extension Int: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) { self = Int(try cell.signedInteger()) }
}

extension Int64: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) { self = try cell.signedInteger() }
}

extension Int32: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) {
        guard let value = Int32(exactly: try cell.signedInteger()) else { throw cell.invalid("value does not fit in Int32") }
        self = value
    }
}

extension Bool: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) {
        guard cell.type == PGType.bool else { throw cell.mismatch("Bool") }
        self = try cell.integer(UInt8.self, size: 1) != 0
    }
}

extension Double: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) {
        switch cell.type {
        case PGType.float8: self = Double(bitPattern: try cell.integer(UInt64.self, size: 8))
        case PGType.float4: self = Double(Float(bitPattern: try cell.integer(UInt32.self, size: 4)))
        case PGType.numeric:
            guard let value = Double(try PGNumeric.decimalString(try cell.requireBytes(), column: cell)) else {
                throw cell.invalid("numeric is not a finite number")
            }
            self = value
        case PGType.int2, PGType.int4, PGType.int8: self = Double(try cell.signedInteger())
        default: throw cell.mismatch("Double")
        }
    }
}

extension String: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) {
        switch cell.type {
        case PGType.text, PGType.varchar, PGType.bpchar, PGType.name, PGType.unknown, PGType.json:
            break
        case PGType.numeric:
            self = try PGNumeric.decimalString(try cell.requireBytes(), column: cell)
            return
        case let oid where oid >= PGType.firstUserDefined:
            break  // enums, domains over text, citext: their binary form is their text
        default:
            throw cell.mismatch("String")
        }
        let bytes = try cell.requireBytes()
        guard let string = String(validating: bytes, as: UTF8.self) else { throw cell.invalid("text is not valid UTF-8") }
        self = string
    }
}

extension UUID: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) {
        guard cell.type == PGType.uuid else { throw cell.mismatch("UUID") }
        let b = try cell.requireBytes()
        guard b.count == 16 else { throw cell.invalid("uuid must be 16 bytes") }
        self = UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}

extension Date: PGDecodable {
    package init(pgCell cell: PGCell) throws(PGError) {
        switch cell.type {
        case PGType.timestamptz, PGType.timestamp:
            let micros = Int64(bitPattern: try cell.integer(UInt64.self, size: 8))
            // 'infinity' and '-infinity' are Int64.max / Int64.min on the wire; a Date cannot say that.
            guard micros != .max, micros != .min else { throw cell.invalid("infinite timestamp cannot be a Date") }
            self = Date(timeIntervalSince1970: Double(postgresEpochOffset) + Double(micros) / 1_000_000)
        case PGType.date:
            let days = Int32(bitPattern: try cell.integer(UInt32.self, size: 4))
            guard days != .max, days != .min else { throw cell.invalid("infinite date cannot be a Date") }
            self = Date(timeIntervalSince1970: Double(postgresEpochOffset) + Double(days) * 86_400)
        default:
            throw cell.mismatch("Date")
        }
    }
}

/// PostgreSQL's binary `numeric`: base-10000 digits with a weight, a sign and a display scale.
enum PGNumeric {
    static func decimalString(_ bytes: [UInt8], column cell: PGCell) throws(PGError) -> String {
        func int16(_ at: Int) -> Int { Int(Int16(bitPattern: UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]))) }
        guard bytes.count >= 8 else { throw cell.invalid("numeric header too short") }
        let count = int16(0), weight = int16(2), sign = int16(4), scale = int16(6)
        guard count >= 0, bytes.count == 8 + 2 * count, scale >= 0 else { throw cell.invalid("malformed numeric") }
        switch UInt16(truncatingIfNeeded: sign) {
        case 0x0000, 0x4000: break
        case 0xC000: throw cell.invalid("numeric is NaN")
        default: throw cell.invalid("numeric is infinite")
        }
        let digits = (0..<count).map { int16(8 + 2 * $0) }
        // Integer part: groups 0...weight; each group is four decimal digits except the leading one.
        var integer = ""
        if weight < 0 {
            integer = "0"
        } else {
            for group in 0...weight {
                let value = group < digits.count ? digits[group] : 0
                integer += group == 0 ? String(value) : String(repeating: "0", count: 4 - String(value).count) + String(value)
            }
        }
        var fraction = ""
        if scale > 0 {
            var group = weight + 1
            while fraction.count < scale {
                let value = group >= 0 && group < digits.count ? digits[group] : 0
                fraction += String(repeating: "0", count: 4 - String(value).count) + String(value)
                group += 1
            }
            fraction = String(fraction.prefix(scale))
        }
        let negative = sign == 0x4000 && (integer != "0" || fraction.contains { $0 != "0" })
        return (negative ? "-" : "") + integer + (scale > 0 ? "." + fraction : "")
    }
}
