// The order of one dataset in one of its epochs, computed on demand from (seed, dataset, epoch):
//   shards in a shuffled order -> documents of each shard in a shuffled order -> one token stream,
//   cut into packed samples of T + 1 tokens with stride T (sample k starts at token k*T), and the samples
//   shuffled within windows of W. Only the layouts of the shards in use are held (a bounded window).

final class DatasetOrder {
    let dataset: Int
    let shards: [ShardInfo]
    /// Shard indices (into `shards`) that hold tokens.
    let nonEmptyShards: [Int32]
    let totalTokens: Int64
    let samples: Int64
    let sequenceLength: Int
    let seed: UInt64
    let window: Int

    /// Shards of one dataset epoch in order; `tokenPrefix[i]` = tokens before the i-th (one extra entry at the end).
    final class ShardOrder {
        let order: [Int32]
        let tokenPrefix: [Int64]
        init(order: [Int32], tokenPrefix: [Int64]) { self.order = order; self.tokenPrefix = tokenPrefix }
    }
    /// Documents of one shard in one dataset epoch, in order. Per position m: tokens before it in the shard's
    /// order (`tokenPrefix`, one extra entry) and where it starts in the `.bin` (`byteOffset`), so the hot
    /// path reads these small tables in order instead of the shard's index at random. Owned buffers, so the
    /// stream can keep plain pointers to them while it holds the object.
    final class DocumentOrder {
        let count: Int
        let tokenPrefix: UnsafeMutablePointer<Int64>
        let byteOffset: UnsafeMutablePointer<Int>
        /// `bucketStart[k]`: the position holding token k << bucketShift. Finding a sample's first document
        /// is then one lookup and a short forward scan instead of a binary search over the whole shard
        /// (which was a quarter of the stream's time).
        let bucketStart: UnsafeMutablePointer<Int32>
        static let bucketShift: Int64 = 11

        init(order: [Int32], reader: ShardReader) {
            count = order.count
            tokenPrefix = .allocate(capacity: count + 1)
            byteOffset = .allocate(capacity: max(count, 1))
            tokenPrefix[0] = 0
            for (m, doc) in order.enumerated() {
                tokenPrefix[m + 1] = tokenPrefix[m] + Int64(reader.sequenceLength(Int(doc)))
                byteOffset[m] = reader.sequenceByteOffset(Int(doc))
            }
            let buckets = Int(tokenPrefix[count] >> Self.bucketShift) + 1
            bucketStart = .allocate(capacity: buckets)
            var m = 0
            for k in 0..<buckets {
                let token = Int64(k) << Self.bucketShift
                while m < count && tokenPrefix[m + 1] <= token { m += 1 }
                bucketStart[k] = Int32(m)
            }
        }

        deinit {
            tokenPrefix.deallocate()
            byteOffset.deallocate()
            bucketStart.deallocate()
        }

        /// Largest m with tokenPrefix[m] <= token (token within the shard).
        @inline(__always)
        static func position(ofToken token: Int64, prefix: UnsafePointer<Int64>, buckets: UnsafePointer<Int32>, count: Int) -> Int {
            var m = Int(buckets[Int(token >> bucketShift)])
            while m < count && prefix[m + 1] <= token { m += 1 }
            return m
        }
    }

    private var shardOrders: [(epoch: Int64, value: ShardOrder)] = []
    private var documentOrders: [(epoch: Int64, shard: Int32, value: DocumentOrder)] = []
    private var windows: [WindowPermutation] = []

    init(dataset: Int, index: DatasetIndex, sequenceLength: Int, seed: UInt64, window: Int) throws(StreamError) {
        self.dataset = dataset
        shards = index.shards
        nonEmptyShards = index.shards.indices.filter { index.shards[$0].tokens > 0 }.map(Int32.init)
        totalTokens = index.totalTokens
        self.sequenceLength = sequenceLength
        self.seed = seed
        self.window = window
        let needed = Int64(sequenceLength) + 1
        guard totalTokens >= needed else {
            throw .datasetTooSmall(dataset: index.name, tokens: totalTokens, neededTokens: needed)
        }
        samples = (totalTokens - 1) / Int64(sequenceLength)
    }

    func shardOrder(epoch: Int64) -> ShardOrder {
        if let hit = shardOrders.first(where: { $0.epoch == epoch }) { return hit.value }
        let permutation = SeededShuffle.permutation(count: nonEmptyShards.count,
                                                    key: SeededShuffle.key(seed, .shardOrder, dataset, Int(epoch)))
        let order = permutation.map { nonEmptyShards[Int($0)] }
        var prefix: [Int64] = [0]
        prefix.reserveCapacity(order.count + 1)
        for s in order { prefix.append(prefix.last! + shards[Int(s)].tokens) }
        let value = ShardOrder(order: order, tokenPrefix: prefix)
        shardOrders.append((epoch, value))
        if shardOrders.count > 2 { shardOrders.removeFirst() }
        return value
    }

    func documentOrder(epoch: Int64, shard: Int32, reader: ShardReader) -> DocumentOrder {
        if let hit = documentOrders.first(where: { $0.epoch == epoch && $0.shard == shard }) { return hit.value }
        let order = SeededShuffle.permutation(count: reader.sequenceCount,
                                              key: SeededShuffle.key(seed, .documentOrder, dataset, Int(epoch), Int(shard)))
        let value = DocumentOrder(order: order, reader: reader)
        documentOrders.append((epoch, shard, value))
        if documentOrders.count > 4 { documentOrders.removeFirst() }
        return value
    }

    /// The sample-window shuffle of one window: draw `first + i` reads packed sample `first + values[i]`.
    /// Owned buffer, so the stream can read it through a plain pointer while it holds the object.
    final class WindowPermutation {
        let epoch: Int64
        let block: Int64
        let first: Int64
        let values: UnsafeMutablePointer<Int32>

        init(epoch: Int64, block: Int64, first: Int64, permutation: [Int32]) {
            self.epoch = epoch
            self.block = block
            self.first = first
            values = .allocate(capacity: max(permutation.count, 1))
            for (i, v) in permutation.enumerated() { values[i] = v }
        }

        deinit { values.deallocate() }
    }

    /// The window holding draw `k` of a dataset epoch (window > 1).
    func window(epoch: Int64, draw k: Int64) -> WindowPermutation {
        let w = Int64(window)
        let block = k / w
        if let hit = windows.first(where: { $0.epoch == epoch && $0.block == block }) { return hit }
        let base = block * w
        let size = Int(min(w, samples - base))
        let value = WindowPermutation(epoch: epoch, block: block, first: base, permutation: SeededShuffle.permutation(
            count: size, key: SeededShuffle.key(seed, .sampleWindow, dataset, Int(epoch), Int(block))))
        windows.append(value)
        if windows.count > 2 { windows.removeFirst() }
        return value
    }

    /// The packed sample read at draw `k` of a dataset epoch (the window shuffle applied).
    func physicalSample(epoch: Int64, draw k: Int64) -> Int64 {
        guard window > 1 else { return k }
        let permutation = self.window(epoch: epoch, draw: k)
        return permutation.first + Int64(permutation.values[Int(k - permutation.first)])
    }
}

/// Largest i with prefix[i] <= value (prefix ascending, prefix[0] <= value).
@inline(__always)
func lastIndex(notAbove value: Int64, in prefix: [Int64]) -> Int {
    prefix.withUnsafeBufferPointer { lastIndex(notAbove: value, in: $0.baseAddress!, count: $0.count) }
}

/// Largest i < count with prefix[i] <= value (prefix ascending, prefix[0] <= value).
@inline(__always)
func lastIndex(notAbove value: Int64, in prefix: UnsafePointer<Int64>, count: Int) -> Int {
    var low = 0
    var high = count - 1
    while low < high {
        let mid = (low + high + 1) / 2
        if prefix[mid] <= value { low = mid } else { high = mid - 1 }
    }
    return low
}
