import Checksum

/// HMAC-SHA256 (RFC 2104) over Checksum's SHA-256: the only primitive Signature V4 needs beyond the hash, so
/// no second wrapper of libcrypto is needed. Checked against RFC 4231's vectors in ObjectStoreTests.
enum HMACSHA256 {
    /// SHA-256's block size: keys are padded (or first hashed) to it.
    private static let blockSizeBytes = 64

    static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var blockKey = key
        if blockKey.count > blockSizeBytes {
            var hasher = SHA256()
            hasher.update(blockKey)
            blockKey = hasher.finalize()
        }
        blockKey += [UInt8](repeating: 0, count: blockSizeBytes - blockKey.count)
        var inner = SHA256()
        inner.update(blockKey.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256()
        outer.update(blockKey.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }

    static func authenticationCode(key: [UInt8], message: String) -> [UInt8] {
        authenticationCode(key: key, message: Array(message.utf8))
    }
}
