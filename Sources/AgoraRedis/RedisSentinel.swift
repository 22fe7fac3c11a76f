internal import CHiredis
import Foundation
import Synchronization

/// Finding the master through Redis Sentinel (`AGORA_REDIS_SENTINELS`, `AGORA_REDIS_MASTER_NAME`).
///
/// Every new connection (commands and the subscriber alike) asks the sentinels, in order, for the master's address
/// (`SENTINEL get-master-addr-by-name`), connects there and checks with `ROLE` that it is a master: a sentinel that
/// has not yet seen a failover could name the old one. After a failover, connections to the old master break (it
/// died, or Sentinel closed its clients when demoting it) or answer `READONLY`; both drop the connection, and the next
/// one is opened at the new master.
///
/// A master that hangs rather than dies keeps its connections open, and each would cost a command timeout before it
/// is dropped. So every connection that `ROLE` confirms records its master here, for the whole process: when any of
/// them (a new pooled connection, or the subscriber, whose PINGs notice a hang within seconds) finds the master at a
/// new address, the pools leave their connections to the old one before their next command.
enum RedisSentinel {
    /// The master `ROLE` last confirmed, per set of sentinels and master name.
    private static let masters = Mutex<[String: String]>([:])
    /// Bumped whenever a recorded master moves: one relaxed load per command tells a pool nothing moved.
    static let moves = Atomic<Int>(0)

    /// The master's address, from the first sentinel that answers.
    static func masterAddress(_ configuration: RedisConfiguration) throws(RedisError) -> (host: String, port: Int) {
        var problems: [String] = []
        for sentinel in configuration.sentinels {
            // A short timeout per sentinel: a dead one must not hold up the connect.
            let timeout = timeval(min(configuration.commandTimeout, .seconds(1)))
            guard let context = redisConnectWithTimeout(sentinel.host, Int32(sentinel.port), timeout) else { continue }
            defer { redisFree(context) }
            if context.pointee.err != 0 {
                problems.append("\(sentinel.host):\(sentinel.port): \(RedisConnection.errorString(context))")
                continue
            }
            _ = redisSetTimeout(context, timeout)
            do {
                if let password = configuration.sentinelPassword {
                    _ = try command(context, ["AUTH", password])
                }
                let reply = try command(context, ["SENTINEL", "get-master-addr-by-name", configuration.masterName])
                guard case .array(let parts) = reply, parts.count == 2, let host = parts[0].string, let port = parts[1].string.flatMap({ Int($0) })
                else {
                    problems.append("\(sentinel.host):\(sentinel.port) does not know master \(configuration.masterName)")
                    continue
                }
                return (host, port)
            } catch {
                problems.append("\(sentinel.host):\(sentinel.port): \(error.message)")
            }
        }
        throw RedisError(.connectionFailed, message: "no sentinel named the master: \(problems.joined(separator: "; "))")
    }

    /// Throws unless the connection is to a master (`ROLE`); records that master and returns its address.
    @discardableResult
    static func checkMaster(_ context: UnsafeMutablePointer<redisContext>, _ configuration: RedisConfiguration) throws(RedisError) -> String {
        let reply = try command(context, ["ROLE"])
        guard case .array(let parts) = reply, parts.first?.string == "master" else {
            throw RedisError(.connectionFailed, message: "the address Sentinel named is not a master (yet)")
        }
        let host = context.pointee.tcp.host.map { String(cString: $0) } ?? ""
        let address = "\(host):\(context.pointee.tcp.port)"
        let key = masterKey(configuration)
        masters.withLock { masters in
            if masters[key] != address {
                if masters[key] != nil { moves.add(1, ordering: .relaxed) }
                masters[key] = address
            }
        }
        return address
    }

    /// The master last confirmed for this configuration's sentinels and master name.
    static func confirmedMaster(_ configuration: RedisConfiguration) -> String? {
        let key = masterKey(configuration)
        return masters.withLock { $0[key] }
    }

    private static func masterKey(_ configuration: RedisConfiguration) -> String {
        configuration.sentinels.map { "\($0.host):\($0.port)" }.joined(separator: ",") + "/" + configuration.masterName
    }

    static func command(_ context: UnsafeMutablePointer<redisContext>, _ arguments: [any RedisArgument]) throws(RedisError) -> RedisValue {
        let raw = RedisConnection.withArgv(arguments) { argc, argv, lengths in redisCommandArgv(context, argc, argv, lengths) }
        guard let raw else { throw RedisError(.connectionClosed, message: RedisConnection.errorString(context)) }
        defer { freeReplyObject(raw) }
        return try RedisValue(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Whether a server error says the connection no longer reaches a usable master.
    static func meansFailover(_ error: RedisError) -> Bool {
        guard let prefix = error.prefix else { return false }
        return prefix == "READONLY" || prefix == "MASTERDOWN" || prefix == "LOADING"
    }
}
