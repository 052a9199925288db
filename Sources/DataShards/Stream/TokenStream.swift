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
import Primitives

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
    /// Builds the sample windows (and owns the shard pool and per-epoch orders), the next ones ahead.
    private let windows: WindowPreparer
    private let tokensPerSample: Int

    private let plan: BatchPlan
    private let dtypes: [TokenDType]
    /// Every dataset stores 16-bit ids (what `CompactBatch` needs).
    private let storesUInt16Only: Bool
    /// The shards this rank opens from any step on (the order is known in advance).
    let futurePlan: ShardFuturePlan
    /// Remote sources: fetches the next shards ahead and tells the cache the future.
    private let prefetcher: ShardPrefetcher?

    public init(_ configuration: StreamConfiguration, resumingFrom state: StreamState = StreamState())
        throws(StreamError)
    {
        try configuration.validate()
        self.configuration = configuration
        tokensPerSample = configuration.sequenceLength + 1
        var orders: [DatasetOrder] = []
        for (d, source) in configuration.sources.enumerated() {
            orders.append(
                try DatasetOrder(
                    dataset: d, index: source.index, sequenceLength: configuration.sequenceLength,
                    seed: configuration.seed, window: configuration.shuffleWindow))
        }
        self.orders = orders
        dtypes = configuration.sources.map(\.index.dtype)
        storesUInt16Only = dtypes.allSatisfy { $0 == .uint16 }
        samplesPerEpoch = configuration.samplesPerEpoch ?? orders.reduce(0) { $0 + $1.samples }
        schedule = BlendSchedule(weights: configuration.sources.map(\.weight), samplesPerEpoch: samplesPerEpoch)
        cursor = BlendSchedule.Cursor(weights: schedule.weights)
        let pool = OpenShardPool(
            sources: configuration.sources, capacity: configuration.maxOpenShards,
            verifyAhead: configuration.verifyAhead)
        windows = WindowPreparer(
            builder: WindowBuilder(
                orders: orders, pool: pool, widths: dtypes.map(\.byteWidth),
                sequenceLength: configuration.sequenceLength),
            ahead: configuration.verifyAhead)
        plan = BatchPlan(datasets: configuration.sources.count)
        guard state.epoch >= 0, state.position >= 0, state.position < samplesPerEpoch else {
            throw .invalidConfiguration(
                field: "state",
                reason:
                    "epoch \(state.epoch) position \(state.position) is outside an epoch of \(samplesPerEpoch) samples (was it saved by a stream over other datasets or another sequence length?)"
            )
        }
        let fingerprint = configuration.orderFingerprint
        if let saved = state.order, saved != fingerprint {
            throw .invalidConfiguration(
                field: "state.order",
                reason:
                    "the checkpoint's stream state was saved for another data order (fingerprint \(saved), this configuration \(fingerprint)): datasets, shards, weights, seed, sequence length, shuffle window or epoch length differ"
            )
        }
        orderFingerprint = fingerprint
        self.state = StreamState(epoch: state.epoch, position: state.position, order: fingerprint)
        let future = ShardFuturePlan(orders: orders, schedule: schedule, configuration: configuration)
        futurePlan = future
        let stepStart = state.epoch * samplesPerEpoch + state.position
        prefetcher = configuration.prefetch.flatMap {
            ShardPrefetcher(plan: future, sources: configuration.sources, policy: $0, stepStart: stepStart)
        }
    }

    deinit { prefetcher?.stop() }

    /// Shard files fetched ahead of the stream so far (remote sources with `prefetch`).
    public var prefetchStatistics: PrefetchStatistics { prefetcher?.statistics ?? PrefetchStatistics() }

    private let orderFingerprint: String

    /// Dataset `d`'s order rules (its pure parts are what `pieces(of:)` recomputes).
    func datasetOrder(_ d: Int) -> DatasetOrder { orders[d] }

    /// Memory-mapped shards at the moment (bounded by `maxOpenShards`).
    public var openShards: Int { windows.openShards }

    /// This rank's next batch; advances the state by one global step (worldSize x batchSize samples).
    public func nextBatch() throws(StreamError) -> Batch {
        var batch = Batch(batchSize: configuration.batchSize, sequenceLength: configuration.sequenceLength)
        try fill(&batch)
        return batch
    }

    /// Like `nextBatch()`, reusing `batch`'s storage (no allocation per step).
    public func fill(_ batch: inout Batch) throws(StreamError) {
        precondition(
            batch.batchSize == configuration.batchSize && batch.sequenceLength == configuration.sequenceLength,
            "batch shape differs from the stream configuration")
        prefetcher?.advance(toStep: state.epoch * samplesPerEpoch + state.position)
        try read(
            globalPositions: myFirstPosition, count: configuration.batchSize, into: &batch.tokens, ids: &batch.samples)
        batch.stateAfter = advanceOneStep()
    }

    /// Like `fill(_: inout Batch)` with 16-bit token ids: the rows are copied from the shards as they are
    /// (no widening), which is what a loader that converts on the accelerator wants. Every dataset must
    /// store uint16 ids (vocabulary <= 65,536).
    public func fill(_ batch: inout CompactBatch) throws(StreamError) {
        precondition(
            batch.batchSize == configuration.batchSize && batch.sequenceLength == configuration.sequenceLength,
            "batch shape differs from the stream configuration")
        prefetcher?.advance(toStep: state.epoch * samplesPerEpoch + state.position)
        try read(
            globalPositions: myFirstPosition, count: configuration.batchSize, into: &batch.tokens, ids: &batch.samples)
        batch.stateAfter = advanceOneStep()
    }

    /// Global position of this rank's first sample in the current step.
    private var myFirstPosition: Int64 {
        state.epoch * samplesPerEpoch + state.position + Int64(configuration.rank * configuration.batchSize)
    }

    /// Moves the state past the step all ranks just read and returns it.
    private func advanceOneStep() -> StreamState {
        let next =
            state.epoch * samplesPerEpoch + state.position + Int64(configuration.worldSize * configuration.batchSize)
        state = StreamState(epoch: next / samplesPerEpoch, position: next % samplesPerEpoch, order: orderFingerprint)
        return state
    }

    /// Random access: the `count` samples at global positions `first ..< first + count`, written as rows of
    /// T + 1 tokens into `tokens` (resized if needed). Does not change `state`.
    public func read(globalPositions first: Int64, count: Int, into tokens: inout [Int32], ids: inout [SampleID])
        throws(StreamError)
    {
        let plan = try planRows(first: first, count: count, ids: &ids)
        defer { finish(plan) }
        let needed = count * tokensPerSample
        if tokens.count != needed { tokens = Array(repeating: 0, count: needed) }
        let tokensPerSample = self.tokensPerSample
        let dtypes = self.dtypes
        tokens.withUnsafeMutableBufferPointer { out in
            let destination = out.baseAddress!
            dtypes.withUnsafeBufferPointer { dtypes in
                copyRows(count) { rows in
                    plan.walk(rows) { row, runs, dataset in
                        var target = destination + row * tokensPerSample
                        switch dtypes[dataset] {
                        case .uint16:
                            for run in runs {
                                widen(
                                    run.base.assumingMemoryBound(to: UInt16.self), into: target,
                                    count: run.byteCount / 2)
                                target += run.byteCount / 2
                            }
                        case .int32:
                            for run in runs {
                                target.update(
                                    from: run.base.assumingMemoryBound(to: Int32.self), count: run.byteCount / 4)
                                target += run.byteCount / 4
                            }
                        }
                    }
                }
            }
        }
    }

    /// Random access with 16-bit token ids (see `fill(_: inout CompactBatch)`).
    public func read(globalPositions first: Int64, count: Int, into tokens: inout [UInt16], ids: inout [SampleID])
        throws(StreamError)
    {
        try requireUInt16()
        let plan = try planRows(first: first, count: count, ids: &ids)
        defer { finish(plan) }
        let needed = count * tokensPerSample
        if tokens.count != needed { tokens = Array(repeating: 0, count: needed) }
        tokens.withUnsafeMutableBufferPointer { copyUInt16Rows(plan, count, into: $0.baseAddress!) }
    }

    /// Like `fill(_: inout CompactBatch)` into memory the caller owns, B rows of T + 1 ids, with no batch to
    /// copy out of: what a foreign reader's buffer takes (the C ABI of `LLMOpsStreamC`, docs/python.md).
    /// Returns the state after the step; `ids` gets the rows' samples.
    public func fill(uint16Rows destination: UnsafeMutableBufferPointer<UInt16>, ids: inout [SampleID])
        throws(StreamError) -> StreamState
    {
        let count = configuration.batchSize
        precondition(destination.count >= count * tokensPerSample, "the buffer is smaller than one batch")
        try requireUInt16()
        prefetcher?.advance(toStep: state.epoch * samplesPerEpoch + state.position)
        let plan = try planRows(first: myFirstPosition, count: count, ids: &ids)
        copyUInt16Rows(plan, count, into: destination.baseAddress!)
        finish(plan)
        return advanceOneStep()
    }

    private func requireUInt16() throws(StreamError) {
        if !storesUInt16Only, let wide = configuration.sources.first(where: { $0.index.dtype != .uint16 }) {
            throw .invalidConfiguration(
                field: "batch",
                reason:
                    "dataset \(wide.index.name) stores \(wide.index.dtype) token ids; 16-bit batches need uint16 datasets (vocabulary <= 65,536) — read it into a Batch of Int32 instead"
            )
        }
    }

    /// Copies a planned batch's rows of 16-bit ids as stored.
    private func copyUInt16Rows(_ plan: BatchPlan, _ count: Int, into out: UnsafeMutablePointer<UInt16>) {
        let rowBytes = tokensPerSample * 2
        let destination = UnsafeMutableRawPointer(out)
        copyRows(count) { rows in
            plan.walk(rows) { row, runs, _ in
                var target = destination + row * rowBytes
                for run in runs {
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
            throw .invalidConfiguration(
                field: "globalPositions", reason: "first \(first) and count \(count) must not be negative")
        }
        let plan = self.plan
        // Rows whose cache lines the previous batch already requested (it guessed this batch right).
        let requested = plan.lookahead.first == first ? plan.lookahead.rows : 0
        plan.startBatch()
        if ids.count != count {
            ids = Array(repeating: SampleID(globalPosition: 0, dataset: 0, datasetEpoch: 0, index: 0), count: count)
        }
        guard count > 0 else { return plan }
        do {
            try ids.withUnsafeMutableBufferPointer { (ids) throws(StreamError) in
                var id = sampleID(at: first)
                for row in 0..<count {
                    if row > 0 { id = nextSampleID(after: id) }
                    ids[row] = id
                    try addRow(id, to: plan, prefetch: row >= requested && row < Self.prefetchDistance)
                }
            }
        } catch {
            finish(plan)
            throw error
        }
        planLookahead(from: first + Int64(configuration.worldSize * count), into: plan)
        return plan
    }

    /// Adds the first rows of this rank's next step to the plan, past its last row, when they are draws of
    /// windows already current: they are not copied, but the copy loop's prefetch runs on into them, so the
    /// next batch does not start with a full memory latency (at B = 8 that stall was ~10% of the time).
    /// Changes no state and opens nothing; a wrong guess (random access elsewhere) only costs the hints.
    private func planLookahead(from next: Int64, into plan: BatchPlan) {
        var rows = 0
        peekSampleIDs(from: next, count: Self.warmDistance) { id in
            let window = plan.windows[id.dataset]
            guard window.holds(epoch: id.datasetEpoch, draw: id.index) else { return false }
            plan.append(
                draw: Int(id.index - window.first), runs: window.runs, drawRunStart: window.drawRunStart,
                dataset: id.dataset)
            rows += 1
            return true
        }
        plan.lookahead = (next, rows)
    }

    /// The `count` samples from global position `g` on, until `body` returns false, without moving the
    /// blend cursor (a blend's peek is given up when the cursor is not at or shortly before `g`).
    private func peekSampleIDs(from g: Int64, count: Int, _ body: (SampleID) -> Bool) {
        if orders.count == 1 {
            var id = sampleID(at: g)
            for k in 0..<count {
                if k > 0 { id = nextSampleID(after: id) }
                guard body(id) else { return }
            }
            return
        }
        let epoch = g / samplesPerEpoch
        let p = g % samplesPerEpoch
        guard epoch == cursorEpoch, cursor.position <= p, p - cursor.position <= 4096 else { return }
        var peek = cursor
        while peek.position < p { _ = peek.advance() }
        for k in 0..<count where peek.position < samplesPerEpoch {
            let (d, j) = peek.advance()
            guard body(sampleID(g + Int64(k), dataset: d, drawInEpoch: j, epoch: epoch)) else { return }
        }
    }

    /// Unpins the batch's shards; the plan keeps its storage (and shard contexts) for the next batch.
    private func finish(_ plan: BatchPlan) {
        if !plan.pinned.isEmpty { plan.pinned.removeAll(keepingCapacity: true) }
    }

    /// The sample at the global position after `id`'s: one dataset counts on (no divisions per sample);
    /// a blend asks its schedule.
    @inline(__always)
    private func nextSampleID(after id: SampleID) -> SampleID {
        guard orders.count == 1 else { return sampleID(at: id.globalPosition + 1) }
        // One dataset: its draw is the global position itself (draws per epoch = samples per epoch).
        if id.index + 1 < orders[0].samples {
            return SampleID(
                globalPosition: id.globalPosition + 1, dataset: 0, datasetEpoch: id.datasetEpoch, index: id.index + 1)
        }
        return SampleID(globalPosition: id.globalPosition + 1, dataset: 0, datasetEpoch: id.datasetEpoch + 1, index: 0)
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
        return sampleID(g, dataset: d, drawInEpoch: j, epoch: epoch)
    }

    /// Global position `g` of a blend: draw `j` (of the blend's epoch `epoch`) of dataset `d`.
    private func sampleID(_ g: Int64, dataset d: Int, drawInEpoch j: Int64, epoch: Int64) -> SampleID {
        let draw = epoch * schedule.drawsPerEpoch[d] + j
        let n = orders[d].samples
        return SampleID(globalPosition: g, dataset: d, datasetEpoch: draw / n, index: draw % n)
    }

    /// Adds one sample to the plan: its draw in its dataset's current window. The window's runs are prepared
    /// once (opening and verifying its shards) and stored in draw order, so consecutive draws of one window
    /// (nearly every row of a batch) just lengthen the plan's last segment; the first rows' cache lines are
    /// requested right away, so they are on their way by the time the batch is copied.
    @inline(__always)
    private func addRow(_ id: SampleID, to plan: BatchPlan, prefetch: Bool) throws(StreamError) {
        let d = id.dataset
        let window = plan.windows + d
        if !window.pointee.holds(epoch: id.datasetEpoch, draw: id.index) {
            let next = try windows.window(
                .init(dataset: d, epoch: id.datasetEpoch, block: id.index / orders[d].windowLength))
            plan.replaceWindow(dataset: d, with: next)
        }
        // Fields read one by one: copying the whole context right after storing `usedBy` into it stalled on
        // store-to-load forwarding (a third of the planning time).
        let runs = window.pointee.runs
        let drawRunStart = window.pointee.drawRunStart
        let draw = Int(id.index - window.pointee.first)
        window.pointee.usedBy = plan.batchNumber
        plan.append(draw: draw, runs: runs, drawRunStart: drawRunStart, dataset: d)
        if prefetch { BatchPlan.prefetch(BatchPlan.runs(ofDraw: draw, runs, drawRunStart)) }
    }

    /// Rows whose cache lines are requested ahead of the row being copied: the first ones while the batch is
    /// planned, then row i + distance while row i is copied. Requesting a whole batch at once stalls on the
    /// core's few outstanding-miss slots (measured: random 2 KB copies 14 GB/s that way, 20-22 GB/s at 2-4 ahead).
    static let prefetchDistance = 2
    /// Rows whose runs' first lines are requested (`Prefetch.warm`) further ahead, to start their page walks.
    static let warmDistance = 8

    /// Runs `copyRows` over rows 0..<rows, split into one contiguous part per reader thread (rows are
    /// disjoint). The closure is called once per part, not per row (a call per row cost a retain and release).
    private func copyRows(_ rows: Int, _ copyRows: (Range<Int>) -> Void) {
        parallelChunks(rows, threads: max(1, configuration.readerThreads), copyRows)
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

/// What one batch copies: its rows as segments of consecutive draws of one window (whose runs are stored
/// in draw order), and the windows (with their shards) pinned meanwhile. Planning a row is a comparison and
/// an increment; the copy loop walks the windows' run tables directly.
private final class BatchPlan: @unchecked Sendable {
    typealias Run = WindowRuns.Run

    /// Rows `firstRow ..< firstRow + count` are draws `firstDraw ...` of one window of `dataset`.
    struct Segment {
        var runs: UnsafePointer<Run>
        var drawRunStart: UnsafePointer<Int32>
        var firstDraw: Int
        var count: Int
        var dataset: Int
    }

    let segments = ScratchBuffer<Segment>(capacity: 16)
    /// The position the plan guessed the next batch starts at and how many of its rows it added (requested).
    var lookahead: (first: Int64, rows: Int) = (-1, 0)
    var pinned: [WindowRuns] = []
    /// The window each dataset's draws were last in (one per dataset; through a pointer, as read for every
    /// sample, without the exclusivity checks a class's array property costs).
    let windows: UnsafeMutablePointer<WindowContext>
    private let datasets: Int
    var batchNumber = 0

    init(datasets: Int) {
        self.datasets = datasets
        windows = .allocate(capacity: max(datasets, 1))
        windows.initialize(repeating: WindowContext(), count: datasets)
    }

    deinit {
        windows.deinitialize(count: datasets)
        windows.deallocate()
    }

    func startBatch() {
        batchNumber += 1
        segments.removeAll()
    }

    /// The next row reads `draw` of `window`: the last segment grows when it is the next draw of the same window.
    @inline(__always)
    func append(draw: Int, runs: UnsafePointer<Run>, drawRunStart: UnsafePointer<Int32>, dataset: Int) {
        if segments.count > 0 {
            let last = segments.base + (segments.count - 1)
            if last.pointee.runs == runs && last.pointee.firstDraw + last.pointee.count == draw {
                last.pointee.count += 1
                return
            }
        }
        segments.append(Segment(runs: runs, drawRunStart: drawRunStart, firstDraw: draw, count: 1, dataset: dataset))
    }

    /// The rows from `row` on, one at a time (past the last row: none).
    func rows(from row: Int) -> RowWalk {
        RowWalk(segments: UnsafePointer(segments.base), count: segments.count, startingAt: row)
    }

    /// Calls `body(row, runs, dataset)` for `rows` in order, each row's cache lines requested
    /// `prefetchDistance` rows before its turn and its runs' first lines `warmDistance` rows before.
    @inline(__always)
    func walk(_ rows: Range<Int>, _ body: (Int, UnsafeBufferPointer<Run>, Int) -> Void) {
        var rowRuns = self.rows(from: rows.lowerBound)
        var ahead = self.rows(from: rows.lowerBound + TokenStream.prefetchDistance)
        var farAhead = self.rows(from: rows.lowerBound + TokenStream.warmDistance)
        for row in rows {
            farAhead.warmNext()
            ahead.prefetchNext()
            // The plan holds every row of `rows` (and perhaps lookahead rows after them).
            let (runs, dataset) = rowRuns.next()!
            body(row, runs, dataset)
        }
    }

    /// Draw `draw`'s runs in a window's run table (stored in draw order).
    @inline(__always)
    static func runs(ofDraw draw: Int, _ runs: UnsafePointer<Run>, _ drawRunStart: UnsafePointer<Int32>)
        -> UnsafeBufferPointer<Run>
    {
        let start = Int(drawRunStart[draw])
        return UnsafeBufferPointer(start: runs + start, count: Int(drawRunStart[draw + 1]) - start)
    }

    /// Requests the cache lines of one row's runs.
    @inline(__always)
    static func prefetch(_ runs: UnsafeBufferPointer<Run>) {
        for run in runs { Prefetch.read(run.base, byteCount: run.byteCount) }
    }

    /// Makes `window` the dataset's current one. The one it replaces stays alive (with its shards mapped)
    /// until the batch is copied if rows of this batch were planned from it; the current window is kept by
    /// `windows` itself, so a batch within one window (nearly all of them) holds no extra reference.
    func replaceWindow(dataset: Int, with window: WindowRuns) {
        if windows[dataset].usedBy == batchNumber, let old = windows[dataset].owner { pinned.append(old) }
        windows[dataset] = WindowContext(window)
    }
}

/// Walks a plan's rows in order: each row's runs (a slice of its window's run table) and dataset.
private struct RowWalk {
    private let segments: UnsafePointer<BatchPlan.Segment>
    private let count: Int
    private var segment = 0
    /// The next row's draw in `segments[segment]`, and where that segment's draws end.
    private var draw = 0
    private var end = 0

    init(segments: UnsafePointer<BatchPlan.Segment>, count: Int, startingAt row: Int) {
        self.segments = segments
        self.count = count
        var skip = row
        while segment < count && skip >= segments[segment].count {
            skip -= segments[segment].count
            segment += 1
        }
        if segment < count {
            draw = segments[segment].firstDraw + skip
            end = segments[segment].firstDraw + segments[segment].count
        }
    }

    /// The next row's runs and dataset, and moves past it; nil past the plan's last row.
    @inline(__always)
    mutating func next() -> (runs: UnsafeBufferPointer<BatchPlan.Run>, dataset: Int)? {
        if draw == end {
            guard segment + 1 < count else { return nil }
            segment += 1
            draw = segments[segment].firstDraw
            end = draw + segments[segment].count
        }
        let s = segments[segment]
        draw += 1
        return (BatchPlan.runs(ofDraw: draw - 1, s.runs, s.drawRunStart), s.dataset)
    }

    /// Requests the next row's cache lines and moves past it (nothing past the last row).
    @inline(__always)
    mutating func prefetchNext() {
        if let row = next() { BatchPlan.prefetch(row.runs) }
    }

    /// Starts the address translation of the next row's runs and moves past it (nothing past the last row).
    @inline(__always)
    mutating func warmNext() {
        if let row = next() { for run in row.runs { Prefetch.warm(run.base) } }
    }
}

/// A growing array of plain values kept from batch to batch: appends and reads through a pointer, without
/// the copy-on-write checks an `Array` makes on every append.
private final class ScratchBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 256) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    func append(_ element: Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count += 1
    }

    @inline(__always)
    subscript(i: Int) -> Element { base[i] }

    func removeAll() { count = 0 }

    private func grow() {
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = larger
        capacity *= 2
    }
}

/// A dataset's current window, read through plain pointers (kept alive by `owner`). A remembered window
/// keeps its shards mapped, so the stream maps at most `maxOpenShards` plus the shards of one window per
/// dataset (usually one or two).
private struct WindowContext {
    var epoch: Int64 = -1
    var block: Int64 = -1
    var first: Int64 = 0
    var end: Int64 = 0
    var drawRunStart: UnsafePointer<Int32>
    var runs: UnsafePointer<WindowRuns.Run>
    /// The last batch that planned rows from this window.
    var usedBy = -1
    var owner: WindowRuns?

    /// No window yet: holds no draw (the pointers are never read).
    init() {
        let nowhere = UnsafeRawPointer(bitPattern: MemoryLayout<WindowRuns.Run>.alignment)!
        drawRunStart = nowhere.assumingMemoryBound(to: Int32.self)
        runs = nowhere.assumingMemoryBound(to: WindowRuns.Run.self)
    }

    init(_ window: WindowRuns) {
        epoch = window.epoch
        block = window.block
        first = window.first
        end = window.first + Int64(window.size)
        drawRunStart = UnsafePointer(window.drawRunStart)
        runs = UnsafePointer(window.runs)
        owner = window
    }

    @inline(__always)
    func holds(epoch: Int64, draw: Int64) -> Bool {
        self.epoch == epoch && first <= draw && draw < end
    }
}

/// The copy closure only reads the mapped shards and writes disjoint rows of the output.
