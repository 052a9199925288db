// The stream's known future and what the shard cache does with it: the predicted shard uses are the shards
// the stream really opens (seeds, ranks, a blend, across epochs, after a resume); eviction drops the file
// used furthest in the future; over three epochs with a cache of half the dataset, eviction by next use
// fetches fewer bytes than least-recently-used; prefetch fetches ahead and changes no token; a full disk
// evicts and retries once, then fails with a message that says what to do.
import Foundation
import Primitives
import XCTest

@testable import DataShards

final class StreamPrefetchTests: XCTestCase {
    /// A real local dataset whose file opens are recorded in order.
    final class RecordingLocator: ShardLocator, @unchecked Sendable {
        let inner: LocalShardLocator
        let opened = Locked<[String]>([])
        init(directory: String) { inner = LocalShardLocator(directory: directory) }
        var location: String { inner.location }
        func localPath(for file: String, expectedBytes: Int64) throws(StreamError) -> String {
            opened.withLock { $0.append(file) }
            return try inner.localPath(for: file, expectedBytes: expectedBytes)
        }
        func release(localPath: String) {}
        func loadIndex() throws(StreamError) -> DatasetIndex { try inner.loadIndex() }
    }

    /// `FileURLFetcher` that counts the bytes it reads.
    final class CountingFetcher: ShardFetcher, @unchecked Sendable {
        let inner = FileURLFetcher()
        let fetchedBytes = Locked<Int64>(0)
        func contentLength(of url: String) throws(FetchError) -> Int64 { try inner.contentLength(of: url) }
        func fetch(_ url: String, byteRange: Range<Int64>) throws(FetchError) -> [UInt8] {
            let bytes = try inner.fetch(url, byteRange: byteRange)
            fetchedBytes.withLock { $0 += Int64(bytes.count) }
            return bytes
        }
    }

    func testPredictedShardUsesAreTheShardsTheStreamOpens() throws {
        let dir = TemporaryDirectory()
        let a = try makeDataset(
            in: dir.sub("a"), name: "a", shards: 7, documentsPerShard: 3...12, documentLength: 5...60, seed: 3)
        let b = try makeDataset(
            in: dir.sub("b"), name: "b", shards: 4, documentsPerShard: 3...12, documentLength: 5...60, seed: 4)
        struct Case {
            var blend: Bool
            var seed: UInt64
            var rank: Int
            var worldSize: Int
            var batchSize: Int
            var window: Int
            var resumeSteps: Int
        }
        let cases = [
            Case(blend: false, seed: 1, rank: 0, worldSize: 1, batchSize: 4, window: 8, resumeSteps: 0),
            Case(blend: false, seed: 9, rank: 1, worldSize: 2, batchSize: 3, window: 16, resumeSteps: 0),
            Case(blend: false, seed: 5, rank: 2, worldSize: 3, batchSize: 4, window: 5, resumeSteps: 7),
            Case(blend: true, seed: 2, rank: 0, worldSize: 1, batchSize: 4, window: 8, resumeSteps: 0),
            Case(blend: true, seed: 7, rank: 1, worldSize: 2, batchSize: 5, window: 6, resumeSteps: 11),
        ]
        for c in cases {
            let locators = [RecordingLocator(directory: a.directory), RecordingLocator(directory: b.directory)]
            let sources = try (c.blend ? [0, 1] : [0]).map { d in
                StreamSource(index: try locators[d].loadIndex(), locator: locators[d], weight: d == 0 ? 2 : 1)
            }
            let configuration = StreamConfiguration(
                sources: sources, sequenceLength: 8, batchSize: c.batchSize, seed: c.seed, rank: c.rank,
                worldSize: c.worldSize, shuffleWindow: c.window, maxOpenShards: 2, verifyAhead: false, prefetch: nil)
            let probe = try TokenStream(configuration)
            let stepLength = Int64(c.worldSize * c.batchSize)
            let start = Int64(c.resumeSteps) * stepLength
            let resumed = StreamState(
                epoch: start / probe.samplesPerEpoch, position: start % probe.samplesPerEpoch)
            let stream = try TokenStream(configuration, resumingFrom: resumed)
            // Past two epoch boundaries.
            let steps = Int((2 * stream.samplesPerEpoch + stream.samplesPerEpoch / 2) / stepLength)
            for _ in 0..<steps { _ = try stream.nextBatch() }

            let predicted = stream.futurePlan.uses(
                fromStep: start, limit: .max, maxPositions: Int64(steps) * stepLength)
            // The pool keeps the 2 most recently used shards mapped; only the others are opened again.
            var mapped: [ShardUse] = []
            var expected: [String] = []
            for use in predicted {
                if let at = mapped.firstIndex(where: { $0.dataset == use.dataset && $0.shard == use.shard }) {
                    mapped.remove(at: at)
                } else {
                    let shard = sources[use.dataset].index.shards[use.shard]
                    expected += ["\(use.dataset):\(shard.idxFile)", "\(use.dataset):\(shard.binFile)"]
                }
                mapped.append(use)
                if mapped.count > 2 { mapped.removeFirst() }
            }
            var opened: [String] = []
            for d in sources.indices { opened += locators[d].opened.current.map { "\(d):\($0)" } }
            // Datasets interleave in the real opens; compare each dataset's sequence, then the merged order.
            for d in sources.indices {
                XCTAssertEqual(
                    opened.filter { $0.hasPrefix("\(d):") }, expected.filter { $0.hasPrefix("\(d):") }, "\(c) d\(d)")
            }
            XCTAssertGreaterThan(Set(predicted.map { $0.shard }).count, 3, "\(c): the walk covers several shards")
            XCTAssertTrue(predicted.contains { $0.position >= 2 * stream.samplesPerEpoch }, "\(c): into epoch 2")
        }
    }

    func testBlendedOpensFollowThePredictedOrderAcrossDatasets() throws {
        let dir = TemporaryDirectory()
        let a = try makeDataset(
            in: dir.sub("a"), name: "a", shards: 5, documentsPerShard: 3...12, documentLength: 5...60, seed: 13)
        let b = try makeDataset(
            in: dir.sub("b"), name: "b", shards: 5, documentsPerShard: 3...12, documentLength: 5...60, seed: 14)
        let opened = Locked<[String]>([])
        final class Shared: ShardLocator, @unchecked Sendable {
            let inner: LocalShardLocator
            let log: Locked<[String]>
            init(_ directory: String, _ log: Locked<[String]>) {
                inner = LocalShardLocator(directory: directory)
                self.log = log
            }
            var location: String { inner.location }
            func localPath(for file: String, expectedBytes: Int64) throws(StreamError) -> String {
                log.withLock { $0.append(file) }
                return try inner.localPath(for: file, expectedBytes: expectedBytes)
            }
            func release(localPath: String) {}
            func loadIndex() throws(StreamError) -> DatasetIndex { try inner.loadIndex() }
        }
        let sources = try [a, b].enumerated().map { d, ds in
            let locator = Shared(ds.directory, opened)
            return StreamSource(index: try locator.loadIndex(), locator: locator, weight: d == 0 ? 3 : 1)
        }
        let stream = try TokenStream(
            StreamConfiguration(
                sources: sources, sequenceLength: 8, batchSize: 4, seed: 21, shuffleWindow: 4, maxOpenShards: 64,
                verifyAhead: false, prefetch: nil))
        let steps = Int(2 * stream.samplesPerEpoch / 4)
        for _ in 0..<steps { _ = try stream.nextBatch() }
        // With every shard kept mapped, the opens are the first use of each shard, in the predicted order.
        var seen = Set<String>()
        var expected: [String] = []
        for use in stream.futurePlan.uses(fromStep: 0, limit: .max, maxPositions: Int64(steps * 4)) {
            let shard = sources[use.dataset].index.shards[use.shard]
            if seen.insert(shard.idxFile).inserted { expected += [shard.idxFile, shard.binFile] }
        }
        XCTAssertEqual(opened.current, expected)
        XCTAssertEqual(expected.count, 20)
    }

    /// A fixed future, as a stream would tell it.
    final class FixedFuture: ShardCacheFuture, @unchecked Sendable {
        let uses: [String: Int]
        init(_ uses: [String: Int]) { self.uses = uses }
        func nextUses() -> [String: Int] { uses }
    }

    func testEvictionDropsTheFileUsedFurthestInTheFuture() throws {
        let dir = TemporaryDirectory()
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 300)
        var fetches: [String] = []
        func get(_ key: String) throws {
            _ = try cache.path(forKey: key, bytes: 100) { (fd, path) throws(FetchError) in
                fetches.append(key)
                try? PosixFile.writeAll(fd, bytes: Array(repeating: 1, count: 100), path: path)
            }
        }
        try get("k/a")
        try get("k/b")
        try get("k/c")
        let future = FixedFuture(["k/a": 7, "k/b": 1, "k/c": 3, "k/d": 0])
        cache.tell(future)
        try get("k/d") // least recently used is a, but it is needed furthest away: a goes
        XCTAssertEqual(Set(cache.cachedFileNames), Set(["k/b", "k/c", "k/d"].map(cache.fileName(forKey:))))
        try get("k/e") // every cached file has a next use: c (3) is the furthest
        XCTAssertEqual(Set(cache.cachedFileNames), Set(["k/b", "k/d", "k/e"].map(cache.fileName(forKey:))))
        try get("k/f") // e has no next use: it goes before any file with one
        XCTAssertEqual(Set(cache.cachedFileNames), Set(["k/b", "k/d", "k/f"].map(cache.fileName(forKey:))))
        cache.forget(future)
        try get("k/g") // no future told: least recently used (b)
        XCTAssertEqual(Set(cache.cachedFileNames), Set(["k/d", "k/f", "k/g"].map(cache.fileName(forKey:))))
        XCTAssertEqual(fetches, ["k/a", "k/b", "k/c", "k/d", "k/e", "k/f", "k/g"])

        // The order itself: unused (least recently used first), then furthest next use first.
        let entries = ["p", "q", "r", "s", "t"].map { ShardCache.Entry(name: $0, bytes: 1, lastUse: 0) }
        XCTAssertEqual(
            ShardCache.evictionOrder(entries, nextUse: ["p": 2, "r": 9, "s": 2]).map(\.name), ["q", "t", "r", "p", "s"])
    }

    func testPrefetchNeverEvictsAFileNeededSooner() throws {
        let dir = TemporaryDirectory()
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 200)
        func fill(_ fd: Int32, _ path: String) throws(FetchError) {
            try? PosixFile.writeAll(fd, bytes: Array(repeating: 2, count: 100), path: path)
        }
        _ = try cache.path(forKey: "k/a", bytes: 100, fill: fill)
        _ = try cache.path(forKey: "k/b", bytes: 100, fill: fill)
        cache.tell(FixedFuture(["k/a": 1, "k/b": 2, "k/c": 3, "k/d": 0]))
        XCTAssertEqual(try cache.prefetch(forKey: "k/c", bytes: 100, nextUse: 3, fill: fill), .noRoom)
        XCTAssertEqual(try cache.prefetch(forKey: "k/d", bytes: 100, nextUse: 0, fill: fill), .fetched) // b goes
        XCTAssertEqual(try cache.prefetch(forKey: "k/d", bytes: 100, nextUse: 0, fill: fill), .cached)
        XCTAssertEqual(Set(cache.cachedFileNames), Set(["k/a", "k/d"].map(cache.fileName(forKey:))))
    }

    /// Three epochs through a cache holding half the dataset: least-recently-used keeps the files the next
    /// epoch needs last; eviction by next use keeps the ones it needs first.
    func testEvictionByNextUseFetchesLessThanLeastRecentlyUsedOverThreeEpochs() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("remote"), name: "nu", shards: 16, documentsPerShard: 8...16, documentLength: 20...80, seed: 61)
        let datasetBytes = ds.index.shards.reduce(Int64(0)) { $0 + $1.binBytes + $1.idxBytes }
        func run(_ prefetch: ShardPrefetch?, _ label: String) throws -> (bytes: Int64, tokens: [Int32]) {
            let fetcher = CountingFetcher()
            let cache = try ShardCache(directory: dir.sub("cache-" + label), capacityBytes: datasetBytes / 2)
            let source = try StreamSource.remote(baseURL: "file://" + ds.directory, fetcher: fetcher, cache: cache)
            let indexBytes = fetcher.fetchedBytes.current
            let stream = try TokenStream(
                StreamConfiguration(
                    sources: [source], sequenceLength: 16, batchSize: 4, seed: 8, shuffleWindow: 16, maxOpenShards: 2,
                    verifyAhead: false, prefetch: prefetch))
            var tokens: [Int32] = []
            for _ in 0..<Int(3 * stream.samplesPerEpoch / 4) { tokens += try stream.nextBatch().tokens }
            XCTAssertLessThanOrEqual(cache.usedBytes, cache.capacityBytes)
            return (fetcher.fetchedBytes.current - indexBytes, tokens)
        }
        let lru = try run(nil, "lru")
        let nextUse = try run(ShardPrefetch(shardsAhead: 0), "next-use")
        XCTAssertEqual(nextUse.tokens, lru.tokens)
        print(
            "3 epochs, cache = dataset/2: LRU fetched \(lru.bytes) bytes (\(Double(lru.bytes) / Double(datasetBytes)) datasets), next use \(nextUse.bytes) (\(Double(nextUse.bytes) / Double(datasetBytes)))"
        )
        XCTAssertLessThan(nextUse.bytes, lru.bytes)
        // Belady's bound for this order: the first epoch fetches everything, each later one about half.
        XCTAssertLessThan(Double(nextUse.bytes), 2.6 * Double(datasetBytes))
    }

    func testPrefetchFetchesAheadAndChangesNoToken() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("remote"), name: "pf", shards: 10, documentsPerShard: 8...16, documentLength: 20...80, seed: 62)
        let datasetBytes = ds.index.shards.reduce(Int64(0)) { $0 + $1.binBytes + $1.idxBytes }
        func run(_ prefetch: ShardPrefetch?, _ label: String) throws -> (tokens: [Int32], stream: TokenStream) {
            let cache = try ShardCache(directory: dir.sub("cache-" + label), capacityBytes: 2 * datasetBytes)
            let source = try StreamSource.remote(
                baseURL: "file://" + ds.directory, fetcher: CountingFetcher(), cache: cache)
            let stream = try TokenStream(
                StreamConfiguration(
                    sources: [source], sequenceLength: 16, batchSize: 4, seed: 8, shuffleWindow: 16,
                    prefetch: prefetch))
            if prefetch != nil {
                // Before the stream reads anything, the first 3 shards of its order arrive on their own.
                let deadline = Date().addingTimeInterval(30)
                while stream.prefetchStatistics.files < 6 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
                XCTAssertEqual(stream.prefetchStatistics.files, 6)
                let first = stream.futurePlan.uses(fromStep: 0, limit: 64, maxPositions: 1 << 20)
                var shards: [Int] = []
                for use in first where !shards.contains(use.shard) && shards.count < 3 { shards.append(use.shard) }
                for shard in shards {
                    XCTAssertTrue(
                        cache.cachedFileNames.contains(
                            cache.fileName(forKey: "file://" + ds.directory + "/" + ds.index.shards[shard].binFile)))
                }
            }
            var tokens: [Int32] = []
            for _ in 0..<Int(2 * stream.samplesPerEpoch / 4) { tokens += try stream.nextBatch().tokens }
            return (tokens, stream)
        }
        let without = try run(nil, "off")
        let with = try run(ShardPrefetch(shardsAhead: 3), "on")
        XCTAssertEqual(with.tokens, without.tokens)
        XCTAssertEqual(without.stream.prefetchStatistics, PrefetchStatistics())
        XCTAssertGreaterThanOrEqual(with.stream.prefetchStatistics.files, 6)
    }

    func testBadPrefetchSettingsAreRefusedByName() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("d"), name: "bad", shards: 1, documentsPerShard: 3...3, documentLength: 20...20, seed: 1)
        let source = try StreamSource.directory(ds.directory)
        XCTAssertThrowsError(
            try TokenStream(
                StreamConfiguration(
                    sources: [source], sequenceLength: 4, batchSize: 1, seed: 1,
                    prefetch: ShardPrefetch(horizonShards: 0)))
        ) { error in
            XCTAssertEqual(
                error as? StreamError,
                .invalidConfiguration(field: "prefetch.horizonShards", reason: "must be in 1...1000000, got 0"))
        }
    }

    /// A real full disk: a 100 KiB tmpfs (mounting needs root; skipped otherwise).
    func testAFullDiskEvictsAndRetriesOnceThenFailsClearly() throws {
        let dir = TemporaryDirectory()
        let mountPoint = dir.sub("tmpfs")
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=100k", "tmpfs", mountPoint]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here (needs root)") }
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [mountPoint]
            try? umount.run()
            umount.waitUntilExit()
        }
        let served = dir.sub("served")
        for (name, bytes) in [("a", 36 << 10), ("b", 36 << 10), ("c", 36 << 10), ("huge", 120 << 10)] {
            try Data(repeating: 7, count: bytes).write(to: URL(fileURLWithPath: served + "/" + name))
        }
        // The cache believes it has 1 MiB; the disk under it holds 100 KiB (25 pages).
        let cache = try ShardCache(directory: mountPoint + "/cache", capacityBytes: 1 << 20)
        let locator = CachedRemoteShardLocator(baseURL: "file://" + served, fetcher: FileURLFetcher(), cache: cache)
        for name in ["a", "b"] {
            locator.release(localPath: try locator.localPath(for: name, expectedBytes: 36 << 10))
        }
        // c does not fit beside a and b: the write fails with ENOSPC, a (least recently used) goes, c is written.
        locator.release(localPath: try locator.localPath(for: "c", expectedBytes: 36 << 10))
        XCTAssertEqual(
            Set(cache.cachedFileNames), Set(["b", "c"].map { cache.fileName(forKey: locator.key(for: $0)) }))
        XCTAssertThrowsError(try locator.localPath(for: "huge", expectedBytes: 120 << 10)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("is full"), text)
            XCTAssertTrue(text.contains("--shard-cache-size"), text)
        }
        XCTAssertEqual(filesIn(cache.directory).filter { $0.hasPrefix(".fetch-") }, [], "no partial file stays")
    }
}
