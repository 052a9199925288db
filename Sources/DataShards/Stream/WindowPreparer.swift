// Sample windows for the stream: `WindowBuilder` walks a window's documents (opening and verifying its
// shards) into a `WindowRuns`; `WindowPreparer` hands them to the reader and, with `ahead`, builds the next
// window of each dataset on a background queue while the current one is read, so the reader thread mostly
// copies. A window is a pure function of (dataset, dataset epoch, block), so building it early changes when
// the work happens, never what a batch holds. The builder's state — the shard pool and the per-epoch shard
// and document orders — is touched only on that queue (or only on the reader's thread without `ahead`).
import Dispatch
import Foundation

/// Not thread-safe by itself: `WindowPreparer` confines it to one queue (hence unchecked).
final class WindowBuilder: @unchecked Sendable {
    let orders: [DatasetOrder]
    let pool: OpenShardPool
    /// Bytes per token id, per dataset.
    let widths: [Int]
    let sequenceLength: Int

    init(orders: [DatasetOrder], pool: OpenShardPool, widths: [Int], sequenceLength: Int) {
        self.orders = orders
        self.pool = pool
        self.widths = widths
        self.sequenceLength = sequenceLength
    }

    /// The window after `key` in its dataset's order: the next block, or the first of the next epoch.
    func next(after key: WindowPreparer.Key) -> WindowPreparer.Key {
        let order = orders[key.dataset]
        if (key.block + 1) * order.windowLength < order.samples {
            return WindowPreparer.Key(dataset: key.dataset, epoch: key.epoch, block: key.block + 1)
        }
        return WindowPreparer.Key(dataset: key.dataset, epoch: key.epoch + 1, block: 0)
    }

    /// Prepares window `block` of dataset `d`'s epoch: walks its samples in token order and records each
    /// one's runs (T + 1 tokens from token k*T, across document and shard boundaries).
    func build(_ key: WindowPreparer.Key) throws(StreamError) -> WindowRuns {
        let (d, epoch, block) = (key.dataset, key.epoch, key.block)
        let order = orders[d]
        let (first, size) = order.windowBounds(block: block)
        let shards = order.shardOrder(epoch: epoch)
        let pool = self.pool
        let open: TokenOrderCursor.OpenShard = { (position) throws(StreamError) in
            let shard = shards.order[position]
            let reader = try pool.reader(dataset: d, shard: Int(shard))
            if position + 1 < shards.order.count { pool.prepare(dataset: d, shard: Int(shards.order[position + 1])) }
            return (reader, order.documentOrder(epoch: epoch, shard: shard, reader: reader))
        }
        let t = sequenceLength
        var cursor = try TokenOrderCursor(shards: shards, atToken: first * Int64(t), width: widths[d], open: open)
        var runs: [WindowRuns.Run] = []
        runs.reserveCapacity(size * 2)
        var runStart: [Int32] = []
        runStart.reserveCapacity(size + 1)
        let width = widths[d]
        for _ in 0..<size {
            runStart.append(Int32(runs.count))
            // T tokens move the cursor to the next sample's start; the sample also holds that token (its
            // last target), which extends the last run when it follows it in the same document.
            try cursor.advance(by: t) { base, tokens in
                runs.append(WindowRuns.Run(base: base, byteCount: tokens * width))
            }
            let last = try cursor.nextToken()
            if let previous = runs.last, previous.base + previous.byteCount == last,
                runs.count > Int(runStart[runStart.count - 1])
            {
                runs[runs.count - 1].byteCount += width
            } else {
                runs.append(WindowRuns.Run(base: last, byteCount: width))
            }
        }
        runStart.append(Int32(runs.count))
        return WindowRuns(
            epoch: epoch, block: block, first: first, permutation: order.windowPermutation(epoch: epoch, block: block),
            runStart: runStart, runs: runs, readers: cursor.readers)
    }

}

final class WindowPreparer: @unchecked Sendable {
    struct Key: Hashable, Sendable {
        var dataset: Int
        var epoch: Int64
        var block: Int64
    }

    private let builder: WindowBuilder
    /// Where the builder runs when building ahead (serial: the builder's state is confined to it).
    private let queue: DispatchQueue?
    private let changed = NSCondition()
    /// Per dataset: the window being built ahead, and its outcome once built.
    private var ahead: [Int: (key: Key, outcome: Result<WindowRuns, StreamError>?)] = [:]

    init(builder: WindowBuilder, ahead: Bool) {
        self.builder = builder
        queue = ahead ? DispatchQueue(label: "datashards.window-ahead") : nil
    }

    /// Window `key` — the one built ahead if it is that one (waiting for it if still under way), else built
    /// now — and starts building the window after it.
    func window(_ key: Key) throws(StreamError) -> WindowRuns {
        guard let queue else { return try builder.build(key) }
        var outcome = takeAhead(key)
        if outcome == nil {
            let builder = self.builder
            outcome = queue.sync {
                Result<WindowRuns, StreamError> { () throws(StreamError) in try builder.build(key) }
            }
        }
        startAhead(builder.next(after: key))
        return try outcome!.get()
    }

    /// Shards mapped by the pool now.
    var openShards: Int {
        guard let queue else { return builder.pool.openCount }
        let builder = self.builder
        return queue.sync { builder.pool.openCount }
    }

    private func takeAhead(_ key: Key) -> Result<WindowRuns, StreamError>? {
        changed.lock()
        defer { changed.unlock() }
        guard let entry = ahead[key.dataset], entry.key == key else { return nil }
        while ahead[key.dataset]?.key == key && ahead[key.dataset]?.outcome == nil { changed.wait() }
        let outcome = ahead[key.dataset]?.outcome
        ahead[key.dataset] = nil
        return outcome
    }

    private func startAhead(_ key: Key) {
        changed.lock()
        if ahead[key.dataset]?.key == key {
            changed.unlock()
            return
        }
        ahead[key.dataset] = (key, nil) // replaces (drops) one built for another place after a jump
        changed.unlock()
        let builder = self.builder
        queue?.async {
            let outcome = Result<WindowRuns, StreamError> { () throws(StreamError) in try builder.build(key) }
            self.changed.lock()
            if self.ahead[key.dataset]?.key == key { self.ahead[key.dataset]?.outcome = outcome }
            self.changed.broadcast()
            self.changed.unlock()
        }
    }
}
