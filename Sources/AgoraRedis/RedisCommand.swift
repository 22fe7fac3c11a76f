/// Encodes commands in RESP, the form Redis reads: `*<count>\r\n` then `$<length>\r\n<bytes>\r\n` per argument.
///
/// Our own encoder rather than hiredis's `redisFormatCommandArgv`: the bytes go straight into one Swift array, with
/// no C argv arrays to build and no `malloc`ed result to copy and free. Arguments are length-prefixed, so they are
/// binary-safe and never parsed.
enum RedisCommand {
    /// The RESP bytes of one command.
    static func encode(_ arguments: [any RedisArgument]) -> [UInt8] {
        let parts = arguments.map(\.redisBytes)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(16) { $0 + $1.count + 16 })
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(parts.count, to: &bytes)
        for part in parts {
            bytes.append(UInt8(ascii: "$"))
            appendDecimal(part.count, to: &bytes)
            bytes.append(contentsOf: part)
            bytes.append(contentsOf: [13, 10])
        }
        return bytes
    }

    /// Appends a non-negative number and CRLF, without making a `String` of it.
    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var remaining = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                count += 1
            } while remaining > 0
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
        bytes.append(contentsOf: [13, 10])
    }
}
