// One LSH bucket entry: a band key (band number mixed into the hash of its rows) and the document in that bucket.
// Sorting records by (key, document) puts each bucket's documents next to each other, lowest id first: a reducer
// then needs one record of state to emit a bucket's pairs, however large the bucket.

public struct BucketRecord: Comparable, Hashable, Sendable {
    public var key: UInt64
    public var document: UInt64

    public init(key: UInt64, document: UInt64) {
        self.key = key
        self.document = document
    }

    @inline(__always)
    public static func < (a: BucketRecord, b: BucketRecord) -> Bool {
        a.key != b.key ? a.key < b.key : a.document < b.document
    }

    /// Bytes per record in files: key then document, little-endian.
    public static let encodedBytes = 16

    /// The reducer of `key` among `reducers`: contiguous ranges of the 64-bit key space (multiply-high), so reducer
    /// r owns keys in [r · 2^64 / R, (r + 1) · 2^64 / R) and every bucket meets in exactly one reducer.
    @inline(__always)
    public static func reducer(ofKey key: UInt64, reducers: Int) -> Int {
        precondition(reducers >= 1)
        return Int(key.multipliedFullWidth(by: UInt64(reducers)).high)
    }
}

/// A document id across a dataset: the input chunk (task) in the high 32 bits, the document's ordinal in that
/// chunk's reading order in the low 32. Ordering ids is dataset order, so "the lowest id" is the first occurrence.
public struct DocumentID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(chunk: Int, ordinal: Int) {
        precondition(chunk >= 0 && chunk <= Int(UInt32.max) && ordinal >= 0 && ordinal <= Int(UInt32.max))
        rawValue = UInt64(chunk) << 32 | UInt64(ordinal)
    }
    public var chunk: Int { Int(rawValue >> 32) }
    public var ordinal: Int { Int(rawValue & 0xFFFF_FFFF) }
    public static func < (a: DocumentID, b: DocumentID) -> Bool { a.rawValue < b.rawValue }
    /// `chunk:ordinal`, as the lineage file writes it.
    public var description: String { "\(chunk):\(ordinal)" }
}

/// A candidate pair from one bucket: `keeper` is the bucket's lowest document, `duplicate` another one in it.
public struct DuplicatePair: Hashable, Sendable {
    public var keeper: UInt64
    public var duplicate: UInt64
    public init(keeper: UInt64, duplicate: UInt64) {
        self.keeper = keeper
        self.duplicate = duplicate
    }
}
