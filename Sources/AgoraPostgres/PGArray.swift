package import Foundation

/// A type whose values can be elements of a one-dimensional PostgreSQL array parameter or column.
package protocol PGArrayElement: PGEncodable, PGDecodable {
    /// The OID of the element type (e.g. `text`).
    static var pgElementOID: UInt32 { get }
    /// The OID of the array type (e.g. `text[]`).
    static var pgArrayOID: UInt32 { get }
}

extension String: PGArrayElement {
    package static var pgElementOID: UInt32 { PGType.text }
    package static var pgArrayOID: UInt32 { 1009 }
}

extension UUID: PGArrayElement {
    package static var pgElementOID: UInt32 { PGType.uuid }
    package static var pgArrayOID: UInt32 { 2951 }
}

extension Int: PGArrayElement {
    package static var pgElementOID: UInt32 { PGType.int8 }
    package static var pgArrayOID: UInt32 { 1016 }
}

// Binary array format (array_send in arrayfuncs.c): int32 ndim, int32 has-nulls, uint32 element oid, then per
// dimension int32 length and int32 lower bound, then per element int32 byte length (-1 for NULL) and the bytes.
extension Array: PGEncodable where Element: PGArrayElement {
    package var pgBind: PGBind {
        var bytes: [UInt8] = []
        func put(_ value: Int32) { Swift.withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
        put(isEmpty ? 0 : 1)
        put(0)
        put(Int32(bitPattern: Element.pgElementOID))
        if !isEmpty {
            put(Int32(count))
            put(1)
        }
        for element in self {
            // Text's binary format is its UTF-8 bytes, the same as the text form a String binds with.
            let value = element.pgBind.bytes ?? []
            put(Int32(value.count))
            bytes.append(contentsOf: value)
        }
        return PGBind(oid: Element.pgArrayOID, binary: true, bytes: bytes)
    }
}

extension Array: PGDecodable where Element: PGArrayElement {
    package init(pgCell cell: PGCell) throws(PGError) {
        guard cell.type == Element.pgArrayOID else { throw cell.mismatch("[\(Element.self)]") }
        let bytes = try cell.requireBytes()
        var offset = 0
        func int32() throws(PGError) -> Int32 {
            guard offset + 4 <= bytes.count else { throw cell.invalid("array is truncated") }
            defer { offset += 4 }
            return Int32(bitPattern: bytes[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        let dimensions = try int32()
        _ = try int32()  // has-nulls; each element says so itself
        let elementOID = UInt32(bitPattern: try int32())
        guard dimensions <= 1 else { throw cell.invalid("only one-dimensional arrays are supported") }
        guard dimensions == 1 else {
            self = []
            return
        }
        let count = try int32()
        _ = try int32()  // lower bound
        var elements: [Element] = []
        elements.reserveCapacity(Int(count))
        for _ in 0..<count {
            let length = try int32()
            guard length >= 0 else { throw cell.invalid("array has a NULL element") }
            guard offset + Int(length) <= bytes.count else { throw cell.invalid("array is truncated") }
            let value = Array<UInt8>(bytes[offset..<offset + Int(length)])
            offset += Int(length)
            elements.append(try Element(pgCell: PGCell(column: cell.column, type: elementOID, bytes: value)))
        }
        self = elements
    }
}
