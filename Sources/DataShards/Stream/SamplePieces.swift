// Which documents a packed sample holds (issue 20, batch replay: docs/lineage.md). A sample is T + 1 consecutive
// tokens of its dataset epoch's order (shards in order, documents in order within each), cut across document
// boundaries; this walks that order from the sample's first token and names each piece: the shard, the document
// (its index in the shard's `.idx`, as written), where in the document the piece starts and how many tokens it
// has. It recomputes the orders from their pure rules (seed, dataset, epoch), so it shares no state with the
// window builder and may run beside a stream that is reading.

/// One run of a sample's tokens inside one document.
public struct SamplePiece: Sendable, Equatable, Codable {
    /// Index of the source in the stream's configuration.
    public var dataset: Int
    /// Index into the dataset index's `shards`.
    public var shard: Int
    /// The document's position in the shard as written (its sequence index in the `.idx`).
    public var document: Int
    /// Token offset of the piece within the document.
    public var offset: Int
    public var tokens: Int

    public init(dataset: Int, shard: Int, document: Int, offset: Int, tokens: Int) {
        self.dataset = dataset
        self.shard = shard
        self.document = document
        self.offset = offset
        self.tokens = tokens
    }
}

extension TokenStream {
    /// The pieces of the sample `id` (from `read(globalPositions:)`'s ids or `sampleID(at:)`), in token order;
    /// their token counts add up to T + 1. Opens (and verifies) the shards it walks through.
    public func pieces(of id: SampleID) throws(StreamError) -> [SamplePiece] {
        precondition(id.dataset >= 0 && id.dataset < configuration.sources.count, "sample of an unknown dataset")
        let order = datasetOrder(id.dataset)
        let block = id.index / order.windowLength
        let window = order.windowBounds(block: block)
        let permutation = order.windowPermutation(epoch: id.datasetEpoch, block: block)
        let sample = window.first + Int64(permutation[Int(id.index - window.first)])
        let shards = order.shardRule.order(epoch: id.datasetEpoch)
        var token = sample * Int64(configuration.sequenceLength)
        var remaining = configuration.sequenceLength + 1
        var position = lastIndex(notAbove: token, in: shards.tokenPrefix)
        var pieces: [SamplePiece] = []
        while remaining > 0 {
            // A sample never runs past the epoch's last token (samples are cut so that it cannot).
            precondition(position < shards.order.count, "a packed sample ran past the dataset epoch's last token")
            let shard = Int(shards.order[position])
            let reader = try openForPieces(dataset: id.dataset, shard: shard)
            let documents = SeededShuffle.permutation(
                count: reader.sequenceCount,
                key: SeededShuffle.key(order.seed, .documentOrder, id.dataset, Int(id.datasetEpoch), shard))
            var local = token - shards.tokenPrefix[position]
            for document in documents where remaining > 0 {
                let length = Int64(reader.sequenceLength(Int(document)))
                if local >= length {
                    local -= length
                    continue
                }
                let take = Int(min(length - local, Int64(remaining)))
                pieces.append(
                    SamplePiece(
                        dataset: id.dataset, shard: shard, document: Int(document), offset: Int(local), tokens: take))
                remaining -= take
                token += Int64(take)
                local = 0
            }
            position += 1
        }
        return pieces
    }

    /// The shard's reader, opened and verified against the dataset index like the stream's own.
    private func openForPieces(dataset: Int, shard: Int) throws(StreamError) -> ShardReader {
        try OpenShardPool.openAndVerify(
            sources: configuration.sources, key: .init(dataset: dataset, shard: shard), knownGood: nil
        ).get().reader
    }
}
