// The stream's future in shards. The global order is a pure function of (seed, datasets, blend, T, shuffle
// window), and a rank reads its block of B positions of every step, so from any step on a rank knows which
// sample windows it will build and therefore which shards it will open, in order. A remote reader uses this
// to fetch the next shards before it needs them and to evict the cached file whose next use is furthest
// away (ShardPrefetcher.swift); nothing here does I/O.
//
// A window (dataset d, dataset epoch e, block b) holds the packed samples b*W ..< b*W + size of that epoch,
// i.e. tokens b*W*T ... (b*W + size)*T (the last sample's last target is the next sample's first token).
// `WindowBuilder.build` walks exactly those tokens, opening the shards of the epoch's shard order that hold
// them, first to last; a window is built when the rank first reads one of its draws.

/// One shard a rank opens: shard `shard` (index into its dataset's `shards`) of dataset `dataset`, first
/// needed at the rank's global position `position` (the first read draw of the window that opens it).
struct ShardUse: Equatable, Sendable, CustomStringConvertible {
    var dataset: Int
    var shard: Int
    var position: Int64
    var description: String { "d\(dataset)s\(shard)@\(position)" }
}

/// Which shards one rank opens from a step on, in the order `WindowBuilder` opens them.
struct ShardFuturePlan: Sendable {
    struct Dataset: Sendable {
        let rule: ShardOrderRule
        /// Packed samples per dataset epoch (n_d) and per window (W).
        let samples: Int64
        let windowLength: Int64
    }
    let datasets: [Dataset]
    /// The blend's normalized weights and draws per stream epoch (`BlendSchedule`).
    let weights: [Double]
    let drawsPerEpoch: [Int64]
    let samplesPerEpoch: Int64
    let sequenceLength: Int
    let rank: Int
    let worldSize: Int
    let batchSize: Int

    init(orders: [DatasetOrder], schedule: BlendSchedule, configuration: StreamConfiguration) {
        datasets = orders.map { Dataset(rule: $0.shardRule, samples: $0.samples, windowLength: $0.windowLength) }
        weights = schedule.weights
        drawsPerEpoch = schedule.drawsPerEpoch
        samplesPerEpoch = schedule.samplesPerEpoch
        sequenceLength = configuration.sequenceLength
        rank = configuration.rank
        worldSize = configuration.worldSize
        batchSize = configuration.batchSize
    }

    /// Global positions one step of all ranks covers.
    var stepLength: Int64 { Int64(worldSize * batchSize) }

    /// The shards this rank opens from the step that starts at global position `stepStart` on: at most `limit`
    /// uses, walking at most `maxPositions` global positions (a blend walks its schedule position by position).
    func uses(fromStep stepStart: Int64, limit: Int, maxPositions: Int64) -> [ShardUse] {
        var walk = Walk(plan: self)
        var step = stepStart
        while walk.uses.count < limit && step - stepStart < maxPositions {
            let first = step + Int64(rank * batchSize)
            walk.read(first..<(first + Int64(batchSize)))
            step += stepLength
        }
        return Array(walk.uses.prefix(limit))
    }

    /// The state of one walk: the last window each dataset entered, the blend's cursor, shard orders in use.
    private struct Walk {
        let plan: ShardFuturePlan
        var uses: [ShardUse] = []
        var current: [(epoch: Int64, block: Int64)?]
        var cursor: BlendSchedule.Cursor
        var cursorEpoch: Int64 = -1
        var shardOrders: [Int: (epoch: Int64, order: DatasetOrder.ShardOrder)] = [:]

        init(plan: ShardFuturePlan) {
            self.plan = plan
            current = Array(repeating: nil, count: plan.datasets.count)
            cursor = BlendSchedule.Cursor(weights: plan.weights)
        }

        /// Visits the positions this rank reads in one step: every one for a blend, window starts for one dataset.
        mutating func read(_ positions: Range<Int64>) {
            var g = positions.lowerBound
            while g < positions.upperBound {
                let (d, draw) = drawOf(g)
                let nextWindow = enter(dataset: d, draw: draw, at: g)
                // One dataset: its draws are the positions, so the next window starts at draw `nextWindow`.
                g = plan.datasets.count == 1 ? max(g + 1, nextWindow) : g + 1
            }
        }

        /// Dataset and its draw number counted from the start of the stream (draw J of dataset d).
        private mutating func drawOf(_ g: Int64) -> (Int, Int64) {
            if plan.datasets.count == 1 { return (0, g) }
            let epoch = g / plan.samplesPerEpoch
            let p = g % plan.samplesPerEpoch
            if epoch != cursorEpoch || cursor.position > p {
                cursor = BlendSchedule.Cursor(weights: plan.weights)
                cursorEpoch = epoch
            }
            while cursor.position < p { _ = cursor.advance() }
            let (d, j) = cursor.advance()
            return (d, epoch * plan.drawsPerEpoch[d] + j)
        }

        /// Records the shards of draw `draw`'s window when the walk enters it; returns the draw its window ends at.
        private mutating func enter(dataset d: Int, draw: Int64, at g: Int64) -> Int64 {
            let dataset = plan.datasets[d]
            let epoch = draw / dataset.samples
            let block = (draw % dataset.samples) / dataset.windowLength
            let first = block * dataset.windowLength
            let size = min(dataset.windowLength, dataset.samples - first)
            let end = epoch * dataset.samples + first + size
            if let now = current[d], now.epoch == epoch, now.block == block { return end }
            current[d] = (epoch, block)
            let order = shardOrder(d, epoch)
            let t = Int64(plan.sequenceLength)
            let low = lastIndex(notAbove: first * t, in: order.tokenPrefix)
            let high = lastIndex(notAbove: (first + Int64(size)) * t, in: order.tokenPrefix)
            for position in low...high {
                uses.append(ShardUse(dataset: d, shard: Int(order.order[position]), position: g))
            }
            return end
        }

        private mutating func shardOrder(_ d: Int, _ epoch: Int64) -> DatasetOrder.ShardOrder {
            if let known = shardOrders[d], known.epoch == epoch { return known.order }
            let order = plan.datasets[d].rule.order(epoch: epoch)
            shardOrders[d] = (epoch, order)
            return order
        }
    }
}
