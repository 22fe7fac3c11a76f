import AgoraCrypto

/// Masking keys for the frames a client sends (RFC 6455 §5.3), one per connection.
///
/// Every key comes straight from `SecureRandom` (OpenSSL's CSPRNG), fetched 64 keys at a time.
/// §10.3 requires that a key cannot be predicted from the ones before it, and those earlier keys are
/// on the wire for anyone who controls the payload to read: a fast generator seeded from
/// `SecureRandom` (xorshift, a counter, and so on) could be reconstructed from a few observed keys,
/// which is exactly the cache-poisoning attack masking exists to stop. Buffering keeps the CSPRNG's
/// guarantee while paying for one call and one allocation per 64 frames instead of per frame.
public struct MaskingKeySource: Sendable {
    /// How many keys one refill fetches: 256 bytes, small enough to keep per connection.
    private static let batchSize = 64
    /// Keys not handed out yet; each is used once.
    private var keys: [UInt32] = []

    /// Creates a source; the first call to `next()` fetches the first batch.
    public init() {}

    /// A fresh masking key for the next frame.
    public mutating func next() -> UInt32 {
        if self.keys.isEmpty {
            let bytes = SecureRandom.bytes(Self.batchSize * 4)
            self.keys.reserveCapacity(Self.batchSize)
            for start in stride(from: 0, to: bytes.count, by: 4) {
                self.keys.append(
                    UInt32(bytes[start]) << 24 | UInt32(bytes[start + 1]) << 16 | UInt32(bytes[start + 2]) << 8 | UInt32(bytes[start + 3])
                )
            }
        }
        return self.keys.removeLast()
    }
}
