// Turns sorted bucket records into duplicate pairs: within a run of equal keys (one bucket), every document is paired
// with the bucket's first, lowest, document. Star pairs connect a bucket exactly as all pairs would, in n - 1 instead
// of n(n - 1)/2, and the reducer keeps one record of state, so a bucket of a million copies costs nothing extra.

public struct BucketReducer {
    private var bucketKey: UInt64 = 0
    private var bucketFirst: UInt64 = 0
    private var previous: UInt64 = 0
    private var inBucket = false
    private var bucketCounted = false
    /// Buckets holding more than one document.
    public private(set) var buckets = 0
    public private(set) var pairs = 0

    public init() {}

    /// Feeds the next record (in `BucketRecord` order) and returns its pair when it joins a bucket.
    @inline(__always)
    public mutating func add(_ record: BucketRecord) -> DuplicatePair? {
        if inBucket && record.key == bucketKey {
            // The same document twice in a bucket (a re-sent record) pairs with nothing.
            guard record.document != previous else { return nil }
            previous = record.document
            if !bucketCounted {
                buckets += 1
                bucketCounted = true
            }
            pairs += 1
            return DuplicatePair(keeper: bucketFirst, duplicate: record.document)
        }
        inBucket = true
        bucketCounted = false
        bucketKey = record.key
        bucketFirst = record.document
        previous = record.document
        return nil
    }
}
