import Postgres

/// Which blobs rows reference (`BlobReferenceSQL.referencedAmong`), asked in batches so a store with millions
/// of blobs never sends one giant array.
public struct BlobReferenceStore: Sendable {
    /// Checksums per query: 1,000 × 65 bytes keeps a statement's parameter under 100 KB.
    static let batchSize = 1000
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// The subset of `candidates` that some row references.
    public func referenced(among candidates: [String]) throws -> Set<String> {
        var found: Set<String> = []
        var start = 0
        while start < candidates.count {
            let batch = Array(candidates[start..<min(candidates.count, start + Self.batchSize)])
            try pool.withConnection { c in
                for row in try c.query(BlobReferenceSQL.referencedAmong, [.textArray(batch)]) {
                    found.insert(try row.string("sha256"))
                }
            }
            start += Self.batchSize
        }
        return found
    }
}
