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

    /// The shard order of each epoch, as a value other threads may use (the stream's future: ShardFuture.swift).
    let shardRule: ShardOrderRule

    /// Shards of one dataset epoch in order; `tokenPrefix[i]` = tokens before the i-th (one extra entry at the end).
    final class ShardOrder: Sendable {
        let order: [Int32]
        let tokenPrefix: [Int64]
        init(order: [Int32], tokenPrefix: [Int64]) {
            self.order = order
            self.tokenPrefix = tokenPrefix
        }
    }
    /// Documents of one shard in one dataset epoch, in order. Per position m: tokens before it in the shard's
    /// order (`tokenPrefix`, one extra entry) and where it starts in the `.bin` (`byteOffset`), so building a
    /// window's runs reads these tables in order instead of the shard's index at random.
    final class DocumentOrder {
        let count: Int
        let tokenPrefix: UnsafeMutablePointer<Int64>
        let byteOffset: UnsafeMutablePointer<Int>

        init(order: [Int32], reader: ShardReader) {
            count = order.count
            tokenPrefix = .allocate(capacity: count + 1)
            byteOffset = .allocate(capacity: max(count, 1))
            tokenPrefix[0] = 0
            for (m, doc) in order.enumerated() {
                tokenPrefix[m + 1] = tokenPrefix[m] + Int64(reader.sequenceLength(Int(doc)))
                byteOffset[m] = reader.sequenceByteOffset(Int(doc))
            }
        }

        deinit {
            tokenPrefix.deallocate()
            byteOffset.deallocate()
        }
    }

    private var shardOrders: [(epoch: Int64, value: ShardOrder)] = []
    private var documentOrders: [(epoch: Int64, shard: Int32, value: DocumentOrder)] = []

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
        shardRule = ShardOrderRule(
            dataset: dataset, seed: seed, nonEmptyShards: nonEmptyShards, shardTokens: index.shards.map(\.tokens))
    }

    func shardOrder(epoch: Int64) -> ShardOrder {
        if let hit = shardOrders.first(where: { $0.epoch == epoch }) { return hit.value }
        let value = shardRule.order(epoch: epoch)
        shardOrders.append((epoch, value))
        if shardOrders.count > 2 { shardOrders.removeFirst() }
        return value
    }

    func documentOrder(epoch: Int64, shard: Int32, reader: ShardReader) -> DocumentOrder {
        if let hit = documentOrders.first(where: { $0.epoch == epoch && $0.shard == shard }) { return hit.value }
        let order = SeededShuffle.permutation(
            count: reader.sequenceCount,
            key: SeededShuffle.key(seed, .documentOrder, dataset, Int(epoch), Int(shard)))
        let value = DocumentOrder(order: order, reader: reader)
        documentOrders.append((epoch, shard, value))
        if documentOrders.count > 4 { documentOrders.removeFirst() }
        return value
    }

    /// Draws are read in windows of this many packed samples: the shuffle window, or (no shuffle) a block
    /// of the same default size, so the stream always prepares a window's runs in one pass.
    var windowLength: Int64 { Int64(window > 1 ? window : 4096) }

    /// The window holding draw `k` and its first packed sample and size.
    func windowBounds(block: Int64) -> (first: Int64, size: Int) {
        let first = block * windowLength
        return (first, Int(min(windowLength, samples - first)))
    }

    /// Window `block`'s shuffle: its i-th draw reads packed sample `first + permutation[i]` (identity without a
    /// shuffle window).
    func windowPermutation(epoch: Int64, block: Int64) -> [Int32] {
        let size = windowBounds(block: block).size
        guard window > 1 else { return (0..<size).map { Int32($0) } }
        return SeededShuffle.permutation(
            count: size, key: SeededShuffle.key(seed, .sampleWindow, dataset, Int(epoch), Int(block)))
    }
}

/// A dataset's shard order per epoch: a pure function of (seed, dataset, epoch) over its non-empty shards.
struct ShardOrderRule: Sendable {
    let dataset: Int
    let seed: UInt64
    let nonEmptyShards: [Int32]
    /// Tokens of every shard of the index (empty ones included).
    let shardTokens: [Int64]

    func order(epoch: Int64) -> DatasetOrder.ShardOrder {
        let permutation = SeededShuffle.permutation(
            count: nonEmptyShards.count,
            key: SeededShuffle.key(seed, .shardOrder, dataset, Int(epoch)))
        let order = permutation.map { nonEmptyShards[Int($0)] }
        var prefix: [Int64] = [0]
        prefix.reserveCapacity(order.count + 1)
        for s in order { prefix.append(prefix.last! + shardTokens[Int(s)]) }
        return DatasetOrder.ShardOrder(order: order, tokenPrefix: prefix)
    }
}

/// Largest i with prefix[i] <= value (prefix ascending, prefix[0] <= value).
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
