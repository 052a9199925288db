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

    struct ShardOrder { var order: [Int32]; var tokenPrefix: [Int64] }
    struct DocumentOrder { var order: [Int32]; var tokenPrefix: [Int64] }

    private var shardOrders: [(epoch: Int64, value: ShardOrder)] = []
    private var documentOrders: [(epoch: Int64, shard: Int32, value: DocumentOrder)] = []
    private var windows: [(epoch: Int64, window: Int64, value: [Int32])] = []

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
        var prefix = [Int64](repeating: 0, count: order.count + 1)
        for (m, doc) in order.enumerated() { prefix[m + 1] = prefix[m] + Int64(reader.sequenceLength(Int(doc))) }
        let value = DocumentOrder(order: order, tokenPrefix: prefix)
        documentOrders.append((epoch, shard, value))
        if documentOrders.count > 4 { documentOrders.removeFirst() }
        return value
    }

    /// The packed sample read at draw `k` of a dataset epoch (the window shuffle applied).
    func physicalSample(epoch: Int64, draw k: Int64) -> Int64 {
        guard window > 1 else { return k }
        let w = Int64(window)
        let block = k / w
        let base = block * w
        if let hit = windows.first(where: { $0.epoch == epoch && $0.window == block }) {
            return base + Int64(hit.value[Int(k - base)])
        }
        let size = Int(min(w, samples - base))
        let permutation = SeededShuffle.permutation(count: size, key: SeededShuffle.key(seed, .sampleWindow, dataset, Int(epoch), Int(block)))
        windows.append((epoch, block, permutation))
        if windows.count > 2 { windows.removeFirst() }
        return base + Int64(permutation[Int(k - base)])
    }
}

/// Largest i with prefix[i] <= value (prefix ascending, prefix[0] <= value).
@inline(__always)
func lastIndex(notAbove value: Int64, in prefix: [Int64]) -> Int {
    var low = 0
    var high = prefix.count - 1
    while low < high {
        let mid = (low + high + 1) / 2
        if prefix[mid] <= value { low = mid } else { high = mid - 1 }
    }
    return low
}
