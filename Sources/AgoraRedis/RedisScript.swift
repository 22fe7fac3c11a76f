import AgoraCrypto

/// A Lua script known by its SHA-1, run with `RedisClient.run(_:keys:arguments:logger:)`.
package struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    package let source: String
    /// Lowercase hex SHA-1 of the source, as Redis names cached scripts.
    package let sha1: String

    /// Wraps `source`; nothing is sent until the script first runs.
    package init(_ source: String) {
        self.source = source
        self.sha1 = Hex.encode(SHA1.hash(Array(source.utf8)))
    }
}
