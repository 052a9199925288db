// The whole near-duplicate search in one process: signatures of a batch of documents in parallel, band records
// routed to `reducers` external sorters (the bucket key's range picks the reducer, as across a cluster's tasks),
// each reducer's sorted stream turned into pairs, and the pairs into clusters. The cluster job runs the same pieces
// as separate tasks (signatures per input shard, one task per reducer); this form serves the benchmark and the tests.

import Primitives

public struct ReducerStats: Sendable, Equatable {
    public var records = 0
    public var spilledRuns = 0
    public var mergePasses = 0
    public var peakAccountedBytes = 0
    public var pairs = 0
    public var buckets = 0
    public init() {}
}

extension MinHasher {
    /// The band records of `texts` (document ids `ids`), `bands` per document with words, computed on `threads`
    /// threads. The output order depends only on the input (chunks are contiguous and concatenated in order).
    public func bucketRecords(_ texts: [String], ids: [UInt64], threads: Int) -> [BucketRecord] {
        precondition(texts.count == ids.count)
        let bands = parameters.bands
        var perChunk = [[BucketRecord]](repeating: [], count: max(1, threads))
        let chunkSize = (texts.count + max(1, threads) - 1) / max(1, threads)
        let output = Locked(perChunk)
        parallelChunks(texts.count, threads: max(1, threads), minimumPerThread: max(1, chunkSize)) { range in
            var scratch = Scratch()
            var signature: [UInt32] = []
            var records: [BucketRecord] = []
            records.reserveCapacity(range.count * bands)
            for i in range where self.signature(of: texts[i], scratch: &scratch, into: &signature) {
                for band in 0..<bands {
                    records.append(BucketRecord(key: bandKey(signature, band: band), document: ids[i]))
                }
            }
            let slot = chunkSize == 0 ? 0 : range.lowerBound / chunkSize
            output.withLock { $0[slot] = records }
        }
        perChunk = output.withLock { $0 }
        return perChunk.flatMap { $0 }
    }
}

public final class NearDuplicateSearch {
    public let hasher: MinHasher
    public let threads: Int
    private let sorters: [ExternalSorter]

    /// `memoryLimitBytes` bounds each reducer; `spillDirectory` holds reducer r's runs in `reducer-<r>/`.
    public init(
        parameters: MinHashParameters, reducers: Int, memoryLimitBytes: Int, spillDirectory: String, threads: Int
    ) throws {
        precondition(reducers >= 1 && threads >= 1)
        hasher = try MinHasher(parameters)
        self.threads = threads
        sorters = try (0..<reducers).map {
            try ExternalSorter(memoryLimitBytes: memoryLimitBytes, directory: spillDirectory + "/reducer-\($0)")
        }
    }

    /// Adds a batch of documents (ids ascending across batches is not required; the keeper is the lowest id).
    public func add(_ texts: [String], ids: [UInt64]) throws {
        for record in hasher.bucketRecords(texts, ids: ids, threads: threads) {
            try sorters[BucketRecord.reducer(ofKey: record.key, reducers: sorters.count)].append(record)
        }
    }

    /// Reduces every bucket and returns the clusters (the search is empty afterwards) and each reducer's figures.
    public func finish() throws -> (clusters: DuplicateClusters, reducers: [ReducerStats]) {
        var clusters = DuplicateClusters()
        var stats: [ReducerStats] = []
        for sorter in sorters {
            var reducer = BucketReducer()
            var figures = ReducerStats()
            figures.records = sorter.records
            try sorter.drain { record in
                if let pair = reducer.add(record) { clusters.add(pair) }
            }
            figures.spilledRuns = sorter.spilledRuns
            figures.mergePasses = sorter.mergePasses
            figures.peakAccountedBytes = sorter.peakAccountedBytes
            figures.pairs = reducer.pairs
            figures.buckets = reducer.buckets
            stats.append(figures)
        }
        return (clusters, stats)
    }
}
