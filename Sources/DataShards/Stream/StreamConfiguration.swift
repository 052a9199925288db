// What a stream reads and how: datasets with weights, sample length, batch size, seed, this reader's rank.
import Checksum
import Foundation

/// One dataset of a blend: its index, where its files are, and its weight.
public struct StreamSource: Sendable {
    public var index: DatasetIndex
    public var locator: any ShardLocator
    public var weight: Double

    public init(index: DatasetIndex, locator: any ShardLocator, weight: Double = 1) {
        self.index = index
        self.locator = locator
        self.weight = weight
    }

    /// A dataset in a local or shared-filesystem directory (reads its `index.json`).
    public static func directory(_ path: String, weight: Double = 1) throws(StreamError) -> StreamSource {
        let locator = LocalShardLocator(directory: path)
        return StreamSource(index: try locator.loadIndex(), locator: locator, weight: weight)
    }

    /// A dataset by its location as manifests write it: `http://…` / `https://…` (fetched into `cache`,
    /// by default with `HTTPShardFetcher`), `file:///dir` or a plain directory path (read in place).
    public static func at(
        _ location: String, weight: Double = 1, cache: ShardCache? = nil,
        fetcher: (any ShardFetcher)? = nil
    ) throws(StreamError) -> StreamSource {
        let lower = location.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard let cache else {
                throw .invalidConfiguration(
                    field: "cache", reason: "dataset \(location) is remote: a local shard cache directory is needed")
            }
            return try remote(baseURL: location, fetcher: fetcher ?? HTTPShardFetcher(), cache: cache, weight: weight)
        }
        if lower.hasPrefix("file://") {
            return try directory(String(location.dropFirst("file://".count)), weight: weight)
        }
        guard !location.contains("://") else {
            throw .invalidConfiguration(
                field: "location", reason: "\(location): expected a directory path, file://, http:// or https://")
        }
        return try directory(location, weight: weight)
    }

    /// A dataset served over HTTP(S) or file:// (reads its `index.json` through the fetcher).
    public static func remote(
        baseURL: String, fetcher: any ShardFetcher, cache: ShardCache,
        weight: Double = 1, retry: FetchRetry = FetchRetry()
    ) throws(StreamError) -> StreamSource {
        let locator = CachedRemoteShardLocator(baseURL: baseURL, fetcher: fetcher, cache: cache, retry: retry)
        return StreamSource(index: try locator.loadIndex(), locator: locator, weight: weight)
    }
}

public struct StreamConfiguration: Sendable {
    public var sources: [StreamSource]
    /// T: each sample has T + 1 tokens (inputs are the first T, targets the last T).
    public var sequenceLength: Int
    /// B: samples per batch of this rank.
    public var batchSize: Int
    public var seed: UInt64
    /// This reader's data-parallel rank and the number of ranks; each step the ranks together consume
    /// `worldSize * batchSize` consecutive samples of the one global order, rank r the r-th block.
    public var rank: Int
    public var worldSize: Int
    /// Threads that copy tokens into a batch; the output does not depend on it.
    public var readerThreads: Int
    /// Samples are shuffled within windows of this many consecutive packed samples of a dataset
    /// (on top of the shard-order and within-shard document shuffles); 1 disables it.
    public var shuffleWindow: Int
    /// Length of an epoch of the blended order; default: the total number of samples of all datasets.
    public var samplesPerEpoch: Int64?
    /// Shards kept memory-mapped at once (bounds memory independently of the dataset size).
    public var maxOpenShards: Int
    /// Work ahead on background threads while the current data is read: fetch and verify the next shard of
    /// the order, and build each dataset's next sample window. Batches are the same either way.
    public var verifyAhead: Bool
    /// For remote datasets: fetch the next shards of the known order ahead, and let the shard cache evict by
    /// next use (ShardPrefetcher.swift). nil: neither (the cache evicts least recently used files).
    public var prefetch: ShardPrefetch?

    public init(
        sources: [StreamSource], sequenceLength: Int, batchSize: Int, seed: UInt64,
        rank: Int = 0, worldSize: Int = 1, readerThreads: Int = 1, shuffleWindow: Int = 4096,
        samplesPerEpoch: Int64? = nil, maxOpenShards: Int = 8, verifyAhead: Bool = true,
        prefetch: ShardPrefetch? = ShardPrefetch()
    ) {
        self.sources = sources
        self.sequenceLength = sequenceLength
        self.batchSize = batchSize
        self.seed = seed
        self.rank = rank
        self.worldSize = worldSize
        self.readerThreads = readerThreads
        self.shuffleWindow = shuffleWindow
        self.samplesPerEpoch = samplesPerEpoch
        self.maxOpenShards = maxOpenShards
        self.verifyAhead = verifyAhead
        self.prefetch = prefetch
    }

    /// Fingerprint of everything the global order depends on (see `StreamState.order`).
    public var orderFingerprint: String {
        var text =
            "v1|T=\(sequenceLength)|seed=\(seed)|window=\(shuffleWindow)|L=\(samplesPerEpoch.map(String.init) ?? "auto")"
        for source in sources {
            text += "|\(source.index.name):\(source.weight)"
            for shard in source.index.shards { text += ",\(shard.name)=\(shard.binSHA256)" }
        }
        return String(SHA256.hex(of: Array(text.utf8)).prefix(16))
    }

    func validate() throws(StreamError) {
        guard !sources.isEmpty else {
            throw .invalidConfiguration(field: "sources", reason: "at least one dataset is needed")
        }
        guard sequenceLength >= 1 else {
            throw .invalidConfiguration(field: "sequenceLength", reason: "must be >= 1, got \(sequenceLength)")
        }
        guard batchSize >= 1 else {
            throw .invalidConfiguration(field: "batchSize", reason: "must be >= 1, got \(batchSize)")
        }
        guard worldSize >= 1 else {
            throw .invalidConfiguration(field: "worldSize", reason: "must be >= 1, got \(worldSize)")
        }
        guard rank >= 0 && rank < worldSize else {
            throw .invalidConfiguration(field: "rank", reason: "must be in 0..<\(worldSize), got \(rank)")
        }
        guard readerThreads >= 1 else { throw .invalidConfiguration(field: "readerThreads", reason: "must be >= 1") }
        guard shuffleWindow >= 1 else { throw .invalidConfiguration(field: "shuffleWindow", reason: "must be >= 1") }
        guard maxOpenShards >= 2 else { throw .invalidConfiguration(field: "maxOpenShards", reason: "must be >= 2") }
        try prefetch?.validate()
        if let samplesPerEpoch, samplesPerEpoch < 1 {
            throw .invalidConfiguration(field: "samplesPerEpoch", reason: "must be >= 1, got \(samplesPerEpoch)")
        }
        for (i, source) in sources.enumerated() where !(source.weight > 0 && source.weight.isFinite) {
            throw .invalidConfiguration(
                field: "sources[\(i)].weight",
                reason: "must be a positive number, got \(source.weight) (dataset \(source.index.name))")
        }
        let first = sources[0].index
        for source in sources.dropFirst() {
            if source.index.tokenizerHash != first.tokenizerHash {
                throw .incompatibleDatasets(
                    reason:
                        "\(source.index.name) was tokenized with \(source.index.tokenizerHash), \(first.name) with \(first.tokenizerHash)"
                )
            }
        }
        let names = sources.map(\.index.name)
        if Set(names).count != names.count {
            throw .invalidConfiguration(field: "sources", reason: "a dataset is listed twice: \(names)")
        }
    }
}

/// Where a stream is in its global order: small, identical on every rank, and independent of the number
/// of ranks — it goes into checkpoints as it is.
public struct StreamState: Codable, Sendable, Equatable, Hashable {
    public var epoch: Int64
    /// Samples of this epoch consumed by all ranks together.
    public var position: Int64
    /// Identifies the global order (datasets and their shards, weights, seed, T, shuffle window, epoch
    /// length — not ranks, threads or batch size); resuming a different order is refused. nil = unchecked.
    public var order: String?

    public init(epoch: Int64 = 0, position: Int64 = 0, order: String? = nil) {
        self.epoch = epoch
        self.position = position
        self.order = order
    }
}

/// Identity of one packed sample, for coverage checks and provenance.
public struct SampleID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Position in the global blended order (epoch * samplesPerEpoch + position).
    public var globalPosition: Int64
    public var dataset: Int
    /// The dataset's own epoch (it differs from the stream epoch when a dataset is over/under-sampled).
    public var datasetEpoch: Int64
    /// Index of the packed sample within that dataset epoch, 0..<samples(dataset).
    public var index: Int64
    public var description: String { "#\(globalPosition)=d\(dataset)e\(datasetEpoch)s\(index)" }
}

/// B samples of T + 1 tokens. Row r's inputs are tokens[r(T+1) ..< r(T+1)+T], its targets the same shifted by one.
/// `Batch` holds Int32 ids (any dataset); `CompactBatch` holds the 16-bit ids of uint16 datasets as stored.
public struct TokenBatch<TokenID: FixedWidthInteger & Sendable>: Sendable {
    public let batchSize: Int
    public let sequenceLength: Int
    /// B rows of T + 1 ids, row-major.
    public internal(set) var tokens: [TokenID]
    public internal(set) var samples: [SampleID]
    /// The stream state after this batch (what a checkpoint taken after this step stores).
    public internal(set) var stateAfter: StreamState

    public init(batchSize: Int, sequenceLength: Int) {
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        tokens = Array(repeating: 0, count: batchSize * (sequenceLength + 1))
        samples = []
        stateAfter = StreamState()
    }

    public func sample(_ row: Int) -> ArraySlice<TokenID> {
        tokens[(row * (sequenceLength + 1))..<((row + 1) * (sequenceLength + 1))]
    }
    public func inputs(_ row: Int) -> ArraySlice<TokenID> { sample(row).dropLast() }
    public func targets(_ row: Int) -> ArraySlice<TokenID> { sample(row).dropFirst() }

    /// B x T row-major inputs and targets.
    public var inputs: [TokenID] { (0..<batchSize).flatMap { inputs($0) } }
    public var targets: [TokenID] { (0..<batchSize).flatMap { targets($0) } }
}

public typealias Batch = TokenBatch<Int32>
/// A batch of 16-bit ids copied from uint16 shards without widening (`TokenStream.fill`).
public typealias CompactBatch = TokenBatch<UInt16>
