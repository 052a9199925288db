// The token runs of every packed sample of one sample window, prepared in one sequential pass.
//
// A window holds W consecutive packed samples of a dataset epoch (sample k starts at token k*T of the epoch's
// shard and document order) and is drawn in a shuffled order. Finding a drawn sample's documents one by one
// meant a lookup in the shard's document table at a random place per sample — most of the stream's planning
// time. Walking the window's samples in token order instead visits the documents in order once, and every
// draw afterwards is a table read: the draw's runs (pointer and length in a mapped shard), stored in draw order.
// The object keeps the shards its runs point into mapped (`readers`).

/// Immutable once built (it may be built on the window-ahead queue and read on the reader thread).
final class WindowRuns: @unchecked Sendable {
    struct Run {
        var base: UnsafeRawPointer
        var byteCount: Int
    }

    let epoch: Int64
    let block: Int64
    /// The window's first packed sample (its draw `first + i` reads sample `first + permutation[i]`).
    let first: Int64
    let size: Int
    /// Draw i's runs are runs[drawRunStart[i] ..< drawRunStart[i + 1]]: stored in draw order, so consecutive
    /// draws read the tables front to back (a lookup through the permutation missed the cache twice per draw
    /// once the copied samples had pushed the tables out).
    let drawRunStart: UnsafeMutablePointer<Int32>
    let runs: UnsafeMutablePointer<Run>
    let runCount: Int
    let readers: [ShardReader]

    /// `runStart`/`runs` in sample (token) order as the window was walked; `permutation[i]` is draw i's sample.
    init(
        epoch: Int64, block: Int64, first: Int64, permutation: [Int32], runStart: [Int32], runs sampleRuns: [Run],
        readers: [ShardReader]
    ) {
        self.epoch = epoch
        self.block = block
        self.first = first
        size = permutation.count
        runCount = sampleRuns.count
        drawRunStart = .allocate(capacity: size + 1)
        runs = .allocate(capacity: max(runCount, 1))
        var next = 0
        for (i, sample) in permutation.enumerated() {
            drawRunStart[i] = Int32(next)
            for r in Int(runStart[Int(sample)])..<Int(runStart[Int(sample) + 1]) {
                (runs + next).initialize(to: sampleRuns[r])
                next += 1
            }
        }
        drawRunStart[size] = Int32(next)
        precondition(next == runCount, "the window's permutation must visit every sample once")
        self.readers = readers
    }

    deinit {
        drawRunStart.deallocate()
        runs.deallocate()
    }

    /// Bytes held besides the mapped shards (for the memory notes: ~20 bytes per sample of the window).
    var tableBytes: Int { (size + 1) * 4 + runCount * MemoryLayout<Run>.stride }
}

/// Walks a dataset epoch's token order (shards in order, documents in order within each) from a token on.
struct TokenOrderCursor {
    /// Opens the shard at a position of the shard order (verified) and gives its reader and document order.
    typealias OpenShard = (_ position: Int) throws(StreamError) -> (ShardReader, DatasetOrder.DocumentOrder)

    private let shards: DatasetOrder.ShardOrder
    private let width: Int
    private let open: OpenShard
    private var position: Int
    private var reader: ShardReader
    private var documents: DatasetOrder.DocumentOrder
    private var m: Int
    private var offset: Int
    /// Every shard entered so far, in order.
    private(set) var readers: [ShardReader] = []

    init(shards: DatasetOrder.ShardOrder, atToken token: Int64, width: Int, open: @escaping OpenShard)
        throws(StreamError)
    {
        self.shards = shards
        self.width = width
        self.open = open
        position = lastIndex(notAbove: token, in: shards.tokenPrefix)
        (reader, documents) = try open(position)
        readers.append(reader)
        let local = token - shards.tokenPrefix[position]
        m = lastIndex(notAbove: local, in: documents.tokenPrefix, count: documents.count + 1)
        offset = Int(local - documents.tokenPrefix[m])
    }

    /// Where the next token is (the cursor moved past finished documents and shards first).
    mutating func nextToken() throws(StreamError) -> UnsafeRawPointer {
        try moveToAToken()
        return reader.tokenBytes.baseAddress! + documents.byteOffset[m] + offset * width
    }

    /// Moves `count` tokens on, handing each piece (start in a mapped shard, token count) to `emit`.
    mutating func advance(by count: Int, _ emit: (UnsafeRawPointer, Int) -> Void) throws(StreamError) {
        var remaining = count
        while remaining > 0 {
            try moveToAToken()
            let take = min(Int(documents.tokenPrefix[m + 1] - documents.tokenPrefix[m]) - offset, remaining)
            emit(reader.tokenBytes.baseAddress! + documents.byteOffset[m] + offset * width, take)
            remaining -= take
            offset += take
        }
    }

    /// Skips finished (and empty) documents and finished shards, so that the cursor stands on a token.
    private mutating func moveToAToken() throws(StreamError) {
        while true {
            if m >= documents.count {
                // End of this shard: on to the next one in the order.
                position += 1
                guard position < shards.order.count else {
                    preconditionFailure(
                        "a packed sample ran past the dataset epoch's last token (samples are cut so that it cannot)")
                }
                (reader, documents) = try open(position)
                readers.append(reader)
                m = 0
                offset = 0
                continue
            }
            if offset < Int(documents.tokenPrefix[m + 1] - documents.tokenPrefix[m]) { return }
            m += 1
            offset = 0
        }
    }
}
