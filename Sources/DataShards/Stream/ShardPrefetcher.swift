// Fetches a remote stream's next shards before it opens them, and tells the shard cache the stream's future
// so that it evicts by next use. The future is `ShardFuturePlan.uses` from the stream's current step: a list
// of shard uses (horizon: `horizonShards` of them), walked forward as the stream advances and recomputed on a
// background queue when half of it is behind. A cold remote epoch otherwise stalls on every shard open (one
// round trip per chunk, then verification); with the next `shardsAhead` shards on their way while the current
// one is read, the stream waits only when the network is slower than reading.
import Dispatch
import Primitives

/// How far a remote stream looks and fetches ahead (`StreamConfiguration.prefetch`; nil: neither, and its
/// cache evicts least recently used files).
public struct ShardPrefetch: Sendable, Equatable {
    /// Shards (their .idx and .bin files) fetched ahead of the stream; 0 fetches nothing ahead but still tells
    /// the cache the future (eviction by next use).
    public var shardsAhead: Int
    /// Bytes of the shards ahead at most, and never more than half of a cache's capacity (the files being
    /// read and the ones ahead must fit together).
    public var maxBytes: Int64
    /// Shard uses of the known future the cache ranks its files by.
    public var horizonShards: Int

    public init(shardsAhead: Int = 4, maxBytes: Int64 = 4 << 30, horizonShards: Int = 4096) {
        self.shardsAhead = shardsAhead
        self.maxBytes = maxBytes
        self.horizonShards = horizonShards
    }

    func validate() throws(StreamError) {
        guard (0...1024).contains(shardsAhead) else {
            throw .invalidConfiguration(
                field: "prefetch.shardsAhead", reason: "must be in 0...1024, got \(shardsAhead)")
        }
        guard maxBytes >= 0 else {
            throw .invalidConfiguration(field: "prefetch.maxBytes", reason: "must not be negative, got \(maxBytes)")
        }
        guard (1...1_000_000).contains(horizonShards) else {
            throw .invalidConfiguration(
                field: "prefetch.horizonShards", reason: "must be in 1...1000000, got \(horizonShards)")
        }
    }
}

/// Files fetched ahead of the stream so far (cache hits not counted).
public struct PrefetchStatistics: Sendable, Equatable {
    public var files = 0
    public var bytes: Int64 = 0
    public init() {}
}

final class ShardPrefetcher: ShardCacheFuture {
    private struct RemoteFile: Sendable {
        let name: String
        let key: String
        let bytes: Int64
    }
    private struct State {
        var uses: [ShardUse] = []
        /// The first use at or after `now` (the stream's step): uses before it are behind.
        var next = 0
        var now: Int64 = 0
        var planning = false
        var fetching = false
        var stopped = false
        var statistics = PrefetchStatistics()
    }

    private let plan: ShardFuturePlan
    private let policy: ShardPrefetch
    private let locators: [CachedRemoteShardLocator?]
    /// Per dataset, per shard: its .idx and .bin (none for a dataset read in place).
    private let files: [[[RemoteFile]]]
    private let caches: [ShardCache]
    private let queue = DispatchQueue(label: "datashards.shard-prefetch")
    private let state = Locked(State())

    /// nil when no source is remote (nothing to fetch or evict).
    init?(plan: ShardFuturePlan, sources: [StreamSource], policy: ShardPrefetch, stepStart: Int64) {
        let locators = sources.map { $0.locator as? CachedRemoteShardLocator }
        guard locators.contains(where: { $0 != nil }) else { return nil }
        self.plan = plan
        self.policy = policy
        self.locators = locators
        files = zip(sources, locators).map { source, locator in
            source.index.shards.map { shard in
                guard let locator else { return [] }
                return [shard.idxFile, shard.binFile].map {
                    RemoteFile(
                        name: $0, key: locator.key(for: $0),
                        bytes: $0 == shard.idxFile ? shard.idxBytes : shard.binBytes)
                }
            }
        }
        var caches: [ShardCache] = []
        for locator in locators.compactMap({ $0 }) where !caches.contains(where: { $0 === locator.cache }) {
            caches.append(locator.cache)
        }
        self.caches = caches
        let uses = plan.uses(fromStep: stepStart, limit: policy.horizonShards, maxPositions: walkLimit)
        state.withLock {
            $0.uses = uses
            $0.now = stepStart
            $0.fetching = policy.shardsAhead > 0
        }
        for cache in caches { cache.tell(self) }
        if policy.shardsAhead > 0 { queue.async { self.prefetchPasses() } }
    }

    /// Global positions one horizon walks at most: two epochs (a blend walks its schedule position by position).
    private var walkLimit: Int64 { max(2 * plan.samplesPerEpoch, plan.stepLength) }

    var statistics: PrefetchStatistics { state.withLock { $0.statistics } }

    /// The stream is at the step starting at global position `stepStart` (called once per batch: a lock and
    /// a comparison unless a shard boundary was passed).
    func advance(toStep stepStart: Int64) {
        let (replan, fetch) = state.withLock { s -> (Bool, Bool) in
            guard !s.stopped else { return (false, false) }
            s.now = stepStart
            let before = s.next
            while s.next < s.uses.count && s.uses[s.next].position < stepStart { s.next += 1 }
            let replan = !s.planning && s.next * 2 >= s.uses.count
            if replan { s.planning = true }
            let fetch = policy.shardsAhead > 0 && s.next != before && !s.fetching
            if fetch { s.fetching = true }
            return (replan, fetch)
        }
        if replan { queue.async { self.replan(from: stepStart) } }
        if fetch { queue.async { self.prefetchPasses() } }
    }

    /// Ends fetching and the cache's use of this future (the stream is gone).
    func stop() {
        state.withLock { $0.stopped = true }
        for cache in caches { cache.forget(self) }
    }

    func nextUses() -> [String: Int] {
        state.withLock { s in
            var result: [String: Int] = [:]
            for i in s.next..<s.uses.count {
                let use = s.uses[i]
                for file in files[use.dataset][use.shard] where result[file.key] == nil {
                    result[file.key] = i - s.next
                }
            }
            return result
        }
    }

    private func replan(from stepStart: Int64) {
        let uses = plan.uses(fromStep: stepStart, limit: policy.horizonShards, maxPositions: walkLimit)
        state.withLock { s in
            s.uses = uses
            s.next = 0
            while s.next < s.uses.count && s.uses[s.next].position < s.now { s.next += 1 }
            s.planning = false
        }
    }

    /// Fetches the next shards; again while the stream moved on meanwhile.
    private func prefetchPasses() {
        while true {
            let (start, ahead) = state.withLock { s in (s.next, aheadOf(s)) }
            fetch(ahead)
            let again = state.withLock { s -> Bool in
                if s.next == start || s.stopped {
                    s.fetching = false
                    return false
                }
                return true
            }
            if !again { return }
        }
    }

    /// The next `shardsAhead` distinct remote shards from the stream's position, with their next use.
    private func aheadOf(_ s: State) -> [(dataset: Int, shard: Int, nextUse: Int)] {
        var ahead: [(dataset: Int, shard: Int, nextUse: Int)] = []
        var i = s.next
        while i < s.uses.count && ahead.count < policy.shardsAhead {
            let use = s.uses[i]
            if locators[use.dataset] != nil
                && !ahead.contains(where: { $0.dataset == use.dataset && $0.shard == use.shard })
            {
                ahead.append((use.dataset, use.shard, i - s.next))
            }
            i += 1
        }
        return ahead
    }

    /// Fetches the files of `ahead` within the byte budget, all at once (a remote store's round trips
    /// overlap: one file at a time left a loopback server with 50 ms responses fetch-bound). A failure is
    /// dropped: the stream meets it itself, with its retries and typed error, when it opens that shard.
    private func fetch(_ ahead: [(dataset: Int, shard: Int, nextUse: Int)]) {
        var budgets: [ObjectIdentifier: Int64] = [:]
        var work: [(locator: CachedRemoteShardLocator, file: RemoteFile, nextUse: Int)] = []
        budget: for (d, shard, nextUse) in ahead {
            guard let locator = locators[d] else { continue }
            let id = ObjectIdentifier(locator.cache)
            var budget = budgets[id] ?? min(policy.maxBytes, locator.cache.capacityBytes / 2)
            for file in files[d][shard] {
                guard file.bytes <= budget else { break budget }
                budget -= file.bytes
                work.append((locator, file, nextUse))
            }
            budgets[id] = budget
        }
        let group = DispatchGroup()
        for (locator, file, nextUse) in work {
            DispatchQueue.global().async(group: group) {
                guard !self.state.withLock({ $0.stopped }),
                    let outcome = try? locator.prefetch(file: file.name, expectedBytes: file.bytes, nextUse: nextUse),
                    outcome == .fetched
                else { return }
                self.state.withLock {
                    $0.statistics.files += 1
                    $0.statistics.bytes += file.bytes
                }
            }
        }
        group.wait()
    }
}
