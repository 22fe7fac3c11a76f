internal import CHiredis
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One hiredis connection, used synchronously.
///
/// hiredis contexts are not thread-safe and every call blocks: only one thread may use a connection at a time, and
/// never an event loop or the cooperative pool. That is the invariant behind `@unchecked Sendable`. `RedisClient`
/// uses it only to connect and authenticate, then hands its socket to a `RedisPipelinedConnection`.
package final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>
    /// Set when a call saw the connection break.
    package private(set) var isBroken = false
    /// With Sentinel, the master's `host:port` that `ROLE` confirmed; nil otherwise.
    private(set) var masterAddress: String?

    /// Connects, authenticates, selects the database and names the connection (`CLIENT SETNAME`). Blocks.
    /// - Parameters:
    ///   - configuration: where to connect, and the timeout.
    ///   - name: shown by `CLIENT LIST`, so an operator (or a test) can find and kill the connection; no spaces.
    package init(configuration: RedisConfiguration, name: String? = nil) throws(RedisError) {
        context = try Self.connect(configuration)
        do {
            if let password = configuration.password {
                let auth: [any RedisArgument] = configuration.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try command(auth)
            }
            if configuration.database != 0 { _ = try command(["SELECT", configuration.database]) }
            if let name { _ = try command(["CLIENT", "SETNAME", name]) }
            if !configuration.sentinels.isEmpty { masterAddress = try RedisSentinel.checkMaster(context, configuration) }
        } catch {
            // No redisFree here: the object is fully initialised, so throwing runs deinit, which frees the context
            // (freeing it here as well was a double free, first hit by a server that never answers the handshake).
            throw RedisError(.connectionFailed, message: "Redis at \(configuration.redacted) refused the connection: \(error.message)")
        }
    }

    deinit { redisFree(context) }

    /// The connection's socket; it stays open until the connection is freed.
    var descriptor: Int32 { context.pointee.fd }

    /// Opens a TCP connection with connect and read/write timeouts and TCP keep-alive.
    static func connect(_ configuration: RedisConfiguration) throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        let timeout = timeval(configuration.commandTimeout)
        var (host, port) = (configuration.host, configuration.port)
        if !configuration.sentinels.isEmpty { (host, port) = try RedisSentinel.masterAddress(configuration) }
        guard let context = redisConnectWithTimeout(host, Int32(port), timeout) else {
            throw RedisError(.connectionFailed, message: "hiredis could not allocate a connection")
        }
        if context.pointee.err != 0 {
            let message = errorString(context)
            redisFree(context)
            throw RedisError(.connectionFailed, message: "cannot connect to Redis at \(configuration.redacted): \(message)")
        }
        _ = redisSetTimeout(context, timeout)
        _ = redisEnableKeepAlive(context)
        return context
    }

    /// Runs one command. Arguments go through `redisCommandArgv`, so they are binary-safe and never parsed. Blocks.
    /// - Throws: `RedisError.server` for an error reply, `connectionClosed` if the connection broke.
    package func command(_ arguments: [any RedisArgument]) throws(RedisError) -> RedisValue {
        let raw = Self.withArgv(arguments) { argc, argv, lengths in redisCommandArgv(context, argc, argv, lengths) }
        guard let raw else {
            isBroken = true
            throw RedisError(.connectionClosed, message: "Redis connection failed: \(Self.errorString(context))")
        }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return try RedisValue(reply)
    }

    /// Calls `body` with C argv/argvlen arrays for `arguments`.
    static func withArgv<R>(
        _ arguments: [any RedisArgument],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        let encoded = arguments.map(\.redisBytes)
        let buffers = encoded.map { bytes -> UnsafeMutableBufferPointer<CChar> in
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(bytes.count, 1))
            for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var argv = buffers.map { UnsafePointer($0.baseAddress) }
        let lengths = encoded.map(\.count)
        return argv.withUnsafeMutableBufferPointer { argvBuffer in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }

    static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}

extension RedisValue {
    /// Copies a hiredis reply into Swift values (the caller frees the reply).
    init(_ reply: UnsafeMutablePointer<redisReply>) throws(RedisError) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_NIL:
            self = .null
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(r.integer))
        case REDIS_REPLY_STRING:
            self = .bulk(r.len > 0 ? Array(UnsafeRawBufferPointer(start: r.str, count: r.len)) : [])
        case REDIS_REPLY_STATUS:
            self = .status(String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            throw RedisError(.server, message: String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                // An error nested in an array (e.g. from EXEC) is kept as a thrown error for the whole reply.
                elements.append(try RedisValue(r.element[index]!))
            }
            self = .array(elements)
        default:
            throw RedisError(.unexpectedReply, message: "unknown hiredis reply type \(r.type)")
        }
    }
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
