// The training data stream: blended, shuffled, packed B x (T+1) batches in one global order.
//
// Global order. Position g = epoch * L + p (L = samples per epoch). The blend schedule assigns p to a
// dataset d and its j-th draw of the epoch; draw J = epoch * drawsPerEpoch[d] + j of dataset d is packed
// sample (J mod n_d) of the dataset's own epoch J / n_d, whose shard order, document order and window
// shuffle are seeded by (seed, d, that epoch). Nothing depends on the number of ranks or threads.
//
// Ranks. Each step the R ranks consume R*B consecutive global positions; rank r takes the r-th block of B.
// The state (epoch, position) advances by R*B on every rank alike, so a checkpoint taken on any rank
// resumes the same global order with any other number of ranks.
import Dispatch

public final class TokenStream {
    public let configuration: StreamConfiguration
    /// L: positions of the blended order per epoch.
    public let samplesPerEpoch: Int64
    /// Packed samples per dataset epoch (n_d).
    public var samplesPerDataset: [Int64] { orders.map(\.samples) }
    /// Where the next step starts (identical on every rank).
    public private(set) var state: StreamState

    private let schedule: BlendSchedule
    private var cursor: BlendSchedule.Cursor
    private var cursorEpoch: Int64 = -1
    private let orders: [DatasetOrder]
    private let pool: OpenShardPool
    private let tokensPerSample: Int

    private var plan = BatchPlan(datasets: 0)
    private let dtypes: [TokenDType]

    public init(_ configuration: StreamConfiguration, resumingFrom state: StreamState = StreamState()) throws(StreamError) {
        try configuration.validate()
        self.configuration = configuration
        tokensPerSample = configuration.sequenceLength + 1
        var orders: [DatasetOrder] = []
        for (d, source) in configuration.sources.enumerated() {
            orders.append(try DatasetOrder(dataset: d, index: source.index, sequenceLength: configuration.sequenceLength,
                                           seed: configuration.seed, window: configuration.shuffleWindow))
        }
        self.orders = orders
        dtypes = configuration.sources.map(\.index.dtype)
        samplesPerEpoch = configuration.samplesPerEpoch ?? orders.reduce(0) { $0 + $1.samples }
        schedule = BlendSchedule(weights: configuration.sources.map(\.weight), samplesPerEpoch: samplesPerEpoch)
        cursor = BlendSchedule.Cursor(weights: schedule.weights)
        pool = OpenShardPool(sources: configuration.sources, capacity: configuration.maxOpenShards,
                             verifyAhead: configuration.verifyAhead)
        plan = BatchPlan(datasets: configuration.sources.count)
        guard state.epoch >= 0, state.position >= 0, state.position < samplesPerEpoch else {
            throw .invalidConfiguration(field: "state", reason: "epoch \(state.epoch) position \(state.position) is outside an epoch of \(samplesPerEpoch) samples (was it saved by a stream over other datasets or another sequence length?)")
        }
        let fingerprint = configuration.orderFingerprint
        if let saved = state.order, saved != fingerprint {
            throw .invalidConfiguration(field: "state.order", reason: "the checkpoint's stream state was saved for another data order (fingerprint \(saved), this configuration \(fingerprint)): datasets, shards, weights, seed, sequence length, shuffle window or epoch length differ")
        }
        orderFingerprint = fingerprint
        self.state = StreamState(epoch: state.epoch, position: state.position, order: fingerprint)
    }

    private let orderFingerprint: String

    /// Memory-mapped shards at the moment (bounded by `maxOpenShards`).
    public var openShards: Int { pool.openCount }

    /// This rank's next batch; advances the state by one global step (worldSize x batchSize samples).
    public func nextBatch() throws(StreamError) -> Batch {
        var batch = Batch(batchSize: configuration.batchSize, sequenceLength: configuration.sequenceLength)
        try fill(&batch)
        return batch
    }

    /// Like `nextBatch()`, reusing `batch`'s storage (no allocation per step).
    public func fill(_ batch: inout Batch) throws(StreamError) {
        precondition(batch.batchSize == configuration.batchSize && batch.sequenceLength == configuration.sequenceLength,
                     "batch shape differs from the stream configuration")
        try read(globalPositions: myFirstPosition, count: configuration.batchSize, into: &batch.tokens, ids: &batch.samples)
        batch.stateAfter = advanceOneStep()
    }

    /// Like `fill(_: inout Batch)` with 16-bit token ids: the rows are copied from the shards as they are
    /// (no widening), which is what a loader that converts on the accelerator wants. Every dataset must
    /// store uint16 ids (vocabulary <= 65,536).
    public func fill(_ batch: inout CompactBatch) throws(StreamError) {
        precondition(batch.batchSize == configuration.batchSize && batch.sequenceLength == configuration.sequenceLength,
                     "batch shape differs from the stream configuration")
        try read(globalPositions: myFirstPosition, count: configuration.batchSize, into: &batch.tokens, ids: &batch.samples)
        batch.stateAfter = advanceOneStep()
    }

    /// Global position of this rank's first sample in the current step.
    private var myFirstPosition: Int64 {
        state.epoch * samplesPerEpoch + state.position + Int64(configuration.rank * configuration.batchSize)
    }

    /// Moves the state past the step all ranks just read and returns it.
    private func advanceOneStep() -> StreamState {
        let next = state.epoch * samplesPerEpoch + state.position + Int64(configuration.worldSize * configuration.batchSize)
        state = StreamState(epoch: next / samplesPerEpoch, position: next % samplesPerEpoch, order: orderFingerprint)
        return state
    }

    /// Random access: the `count` samples at global positions `first ..< first + count`, written as rows of
    /// T + 1 tokens into `tokens` (resized if needed). Does not change `state`.
    public func read(globalPositions first: Int64, count: Int, into tokens: inout [Int32], ids: inout [SampleID]) throws(StreamError) {
        var plan = try planRows(first: first, count: count, ids: &ids)
        defer { finish(&plan) }
        let needed = count * tokensPerSample
        if tokens.count != needed { tokens = Array(repeating: 0, count: needed) }
        let tokensPerSample = self.tokensPerSample
        let dtypes = self.dtypes
        tokens.withUnsafeMutableBufferPointer { out in
            let destination = out.baseAddress!
            copyRows(count) { row in
                var target = destination + row * tokensPerSample
                let dtype = dtypes[plan.rowDatasets[row]]
                for r in plan.rowRunStart[row]..<plan.rowRunStart[row + 1] {
                    let run = plan.runs[r]
                    switch dtype {
                    case .uint16:
                        widen(run.base.assumingMemoryBound(to: UInt16.self), into: target, count: run.byteCount / 2)
                        target += run.byteCount / 2
                    case .int32:
                        target.update(from: run.base.assumingMemoryBound(to: Int32.self), count: run.byteCount / 4)
                        target += run.byteCount / 4
                    }
                }
            }
        }
    }

    /// Random access with 16-bit token ids (see `fill(_: inout CompactBatch)`).
    public func read(globalPositions first: Int64, count: Int, into tokens: inout [UInt16], ids: inout [SampleID]) throws(StreamError) {
        if let wide = configuration.sources.first(where: { $0.index.dtype != .uint16 }) {
            throw .invalidConfiguration(field: "batch", reason: "dataset \(wide.index.name) stores \(wide.index.dtype) token ids; 16-bit batches need uint16 datasets (vocabulary <= 65,536) — read it into a Batch of Int32 instead")
        }
        var plan = try planRows(first: first, count: count, ids: &ids)
        defer { finish(&plan) }
        let needed = count * tokensPerSample
        if tokens.count != needed { tokens = Array(repeating: 0, count: needed) }
        let rowBytes = tokensPerSample * 2
        tokens.withUnsafeMutableBufferPointer { out in
            let destination = UnsafeMutableRawPointer(out.baseAddress!)
            copyRows(count) { row in
                var target = destination + row * rowBytes
                for r in plan.rowRunStart[row]..<plan.rowRunStart[row + 1] {
                    let run = plan.runs[r]
                    target.copyMemory(from: run.base, byteCount: run.byteCount)
                    target += run.byteCount
                }
            }
        }
    }

    /// Plans the token runs of `count` samples from global position `first` (their shards opened, verified
    /// and pinned until `finish`). The plan's storage is reused from batch to batch.
    private func planRows(first: Int64, count: Int, ids: inout [SampleID]) throws(StreamError) -> BatchPlan {
        guard first >= 0, count >= 0 else {
            throw .invalidConfiguration(field: "globalPositions", reason: "first \(first) and count \(count) must not be negative")
        }
        ids.removeAll(keepingCapacity: true)
        var plan = BatchPlan(datasets: 0)
        swap(&plan, &self.plan)
        plan.startBatch(rows: count)
        do {
            for g in first..<(first + Int64(count)) {
                let id = sampleID(at: g)
                ids.append(id)
                plan.startRow(dataset: id.dataset)
                try addRuns(of: id, to: &plan)
            }
        } catch {
            finish(&plan)
            throw error
        }
        plan.rowRunStart.append(plan.runs.count)
        return plan
    }

    /// Unpins the batch's shards and keeps the plan's storage (and shard contexts) for the next batch.
    private func finish(_ plan: inout BatchPlan) {
        plan.pinned.removeAll(keepingCapacity: true)
        swap(&plan, &self.plan)
    }

    /// Which dataset sample global position `g` is.
    public func sampleID(at g: Int64) -> SampleID {
        let epoch = g / samplesPerEpoch
        let p = g % samplesPerEpoch
        if orders.count == 1 {
            let draw = epoch * samplesPerEpoch + p
            let n = orders[0].samples
            return SampleID(globalPosition: g, dataset: 0, datasetEpoch: draw / n, index: draw % n)
        }
        if epoch != cursorEpoch || cursor.position > p {
            cursor = BlendSchedule.Cursor(weights: schedule.weights)
            cursorEpoch = epoch
        }
        while cursor.position < p { _ = cursor.advance() }
        let (d, j) = cursor.advance()
        let draw = epoch * schedule.drawsPerEpoch[d] + j
        let n = orders[d].samples
        return SampleID(globalPosition: g, dataset: d, datasetEpoch: draw / n, index: draw % n)
    }

    /// Appends the token runs of one sample to the plan (opening and verifying shards as needed). Consecutive
    /// samples of a dataset mostly fall in the same shard, so the last shard used per dataset is remembered
    /// (`BatchPlan.ShardContext`) and the shard order, pool and document order are only consulted when a
    /// sample leaves it. The hot path reads plain values and pointers in place (no reference counting).
    private func addRuns(of id: SampleID, to plan: inout BatchPlan) throws(StreamError) {
        let d = id.dataset
        let width = dtypes[d].byteWidth
        var q = id.index
        if configuration.shuffleWindow > 1 {
            if !plan.windows[d].holds(epoch: id.datasetEpoch, draw: id.index, window: Int64(configuration.shuffleWindow)) {
                plan.windows[d] = WindowContext(orders[d].window(epoch: id.datasetEpoch, draw: id.index))
            }
            q = plan.windows[d].physicalSample(draw: id.index)
        }
        let startToken = q * Int64(configuration.sequenceLength)
        if !plan.contexts[d].holds(epoch: id.datasetEpoch, token: startToken) {
            let shards = orders[d].shardOrder(epoch: id.datasetEpoch)
            try enterShard(id, position: lastIndex(notAbove: startToken, in: shards.tokenPrefix), shards: shards, plan: &plan)
        }
        var local = startToken - plan.contexts[d].firstToken
        var remaining = tokensPerSample
        while true {
            if plan.contexts[d].pinnedInBatch != plan.batchNumber { plan.pin(dataset: d) }
            let count = plan.contexts[d].documentCount
            let prefix = plan.contexts[d].tokenPrefix!
            let offsets = plan.contexts[d].byteOffset!
            var m = DatasetOrder.DocumentOrder.position(ofToken: local, prefix: prefix, buckets: plan.contexts[d].bucketStart!, count: count)
            var offset = Int(local - prefix[m])
            if let base = plan.contexts[d].bin {
                while remaining > 0 && m < count {
                    let take = min(Int(prefix[m + 1] - prefix[m]) - offset, remaining)
                    if take > 0 {
                        let run = BatchPlan.Run(base: base + offsets[m] + offset * width, byteCount: take * width)
                        // Ask for the run's cache lines now: by the time the batch is copied they are on their way.
                        Prefetch.read(run.base, byteCount: run.byteCount)
                        plan.runs.append(run)
                        remaining -= take
                    }
                    m += 1
                    offset = 0
                }
            }
            if remaining == 0 { return }
            // The sample continues in the next shard of the order.
            try enterShard(id, position: plan.contexts[d].position + 1, shards: orders[d].shardOrder(epoch: id.datasetEpoch), plan: &plan)
            local = 0
        }
    }

    /// Opens (through the pool) the shard at `position` of the dataset epoch's shard order, announces the
    /// next one to the verify-ahead thread, and makes it the dataset's current shard in the plan.
    private func enterShard(_ id: SampleID, position: Int, shards: DatasetOrder.ShardOrder, plan: inout BatchPlan) throws(StreamError) {
        let shard = shards.order[position]
        let reader = try pool.reader(dataset: id.dataset, shard: Int(shard))
        if position + 1 < shards.order.count {
            pool.prepare(dataset: id.dataset, shard: Int(shards.order[position + 1]))
        }
        plan.contexts[id.dataset] = BatchPlan.ShardContext(
            epoch: id.datasetEpoch, position: position,
            firstToken: shards.tokenPrefix[position], endToken: shards.tokenPrefix[position + 1], reader: reader,
            documents: orders[id.dataset].documentOrder(epoch: id.datasetEpoch, shard: shard, reader: reader))
    }

    /// Runs `copyRow` for rows 0..<rows, split over the reader threads (rows are disjoint).
    private func copyRows(_ rows: Int, _ copyRow: (Int) -> Void) {
        let threads = min(configuration.readerThreads, rows)
        if threads <= 1 {
            for row in 0..<rows { copyRow(row) }
            return
        }
        let per = (rows + threads - 1) / threads
        withoutActuallyEscaping(copyRow) { copyRow in
            let box = RowCopyBox(copyRow)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for row in (t * per)..<min(rows, (t + 1) * per) { box.value(row) }
            }
        }
    }
}

/// Token ids are little-endian on disk; all supported hosts (x86-64, arm64) are little-endian.
/// 16 ids per step through SIMD registers (about 1.6x the scalar loop on shuffled data).
@inline(__always)
private func widen(_ source: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Int32>, count: Int) {
    let from = UnsafeRawPointer(source)
    let to = UnsafeMutableRawPointer(destination)
    var i = 0
    while i + 16 <= count {
        let ids = from.loadUnaligned(fromByteOffset: i * 2, as: SIMD16<UInt16>.self)
        to.storeBytes(of: SIMD16<Int32>(truncatingIfNeeded: ids), toByteOffset: i * 4, as: SIMD16<Int32>.self)
        i += 16
    }
    while i < count {
        destination[i] = Int32(source[i])
        i += 1
    }
}

/// What one batch copies: runs of bytes in mapped shards, by row, and the shards pinned meanwhile.
private struct BatchPlan: @unchecked Sendable {
    struct Run { var base: UnsafeRawPointer; var byteCount: Int }

    /// The shard a dataset's samples were last read from. It stays mapped while it is remembered, so the
    /// stream maps at most `maxOpenShards` plus one shard per dataset. The pointers point into `reader`'s
    /// mapping and `documents`' tables, which the context keeps alive.
    struct ShardContext {
        var epoch: Int64 = -1
        var position = 0
        var firstToken: Int64 = 0
        var endToken: Int64 = 0
        var bin: UnsafeRawPointer?
        var documentCount = 0
        var tokenPrefix: UnsafePointer<Int64>?
        var byteOffset: UnsafePointer<Int>?
        var bucketStart: UnsafePointer<Int32>?
        /// The batch that pinned `reader` last.
        var pinnedInBatch = -1
        var reader: ShardReader?
        var documents: DatasetOrder.DocumentOrder?

        /// No shard yet: holds no token.
        init() {}

        init(epoch: Int64, position: Int, firstToken: Int64, endToken: Int64, reader: ShardReader, documents: DatasetOrder.DocumentOrder) {
            self.epoch = epoch
            self.position = position
            self.firstToken = firstToken
            self.endToken = endToken
            bin = reader.tokenBytes.baseAddress
            documentCount = documents.count
            tokenPrefix = UnsafePointer(documents.tokenPrefix)
            byteOffset = UnsafePointer(documents.byteOffset)
            bucketStart = UnsafePointer(documents.bucketStart)
            self.reader = reader
            self.documents = documents
        }

        @inline(__always)
        func holds(epoch: Int64, token: Int64) -> Bool {
            self.epoch == epoch && firstToken <= token && token < endToken
        }
    }

    var runs: [Run] = []
    var rowRunStart: [Int] = []
    var rowDatasets: [Int] = []
    var pinned: [ShardReader] = []
    var contexts: [ShardContext]
    var windows: [WindowContext]
    var batchNumber = 0

    init(datasets: Int) {
        contexts = Array(repeating: ShardContext(), count: datasets)
        windows = Array(repeating: WindowContext(), count: datasets)
    }

    mutating func startBatch(rows: Int) {
        batchNumber += 1
        runs.removeAll(keepingCapacity: true)
        rowRunStart.removeAll(keepingCapacity: true)
        rowDatasets.removeAll(keepingCapacity: true)
        rowRunStart.reserveCapacity(rows + 1)
        rowDatasets.reserveCapacity(rows)
    }

    mutating func startRow(dataset: Int) {
        rowRunStart.append(runs.count)
        rowDatasets.append(dataset)
    }

    /// Keeps the dataset's current shard mapped until the batch is copied.
    mutating func pin(dataset: Int) {
        if let reader = contexts[dataset].reader { pinned.append(reader) }
        contexts[dataset].pinnedInBatch = batchNumber
    }
}

/// The sample window a dataset's draws were last in, read through a plain pointer (kept alive by `owner`).
private struct WindowContext {
    var epoch: Int64 = -1
    var block: Int64 = -1
    var first: Int64 = 0
    var values: UnsafePointer<Int32>?
    var owner: DatasetOrder.WindowPermutation?

    init() {}

    init(_ permutation: DatasetOrder.WindowPermutation) {
        epoch = permutation.epoch
        block = permutation.block
        first = permutation.first
        values = UnsafePointer(permutation.values)
        owner = permutation
    }

    @inline(__always)
    func holds(epoch: Int64, draw: Int64, window: Int64) -> Bool {
        self.epoch == epoch && block == draw / window
    }

    @inline(__always)
    func physicalSample(draw: Int64) -> Int64 { first + Int64(values![Int(draw - first)]) }
}

/// The copy closure only reads the mapped shards and writes disjoint rows of the output.
private struct RowCopyBox<T>: @unchecked Sendable { let value: T; init(_ value: T) { self.value = value } }
