// Properties of the global order: rank- and thread-independence, exactly-once coverage per epoch, exact
// resumption with a changed number of ranks, correct packing of whole documents, seeded shuffles.
import Foundation
import XCTest

@testable import DataShards

final class StreamOrderTests: XCTestCase {
    static let t = 16

    func stream(
        _ sources: [StreamSource], batch: Int = 4, seed: UInt64 = 7, rank: Int = 0, world: Int = 1,
        threads: Int = 1, window: Int = 64, state: StreamState = StreamState(), maxOpen: Int = 8
    ) throws -> TokenStream {
        try TokenStream(
            StreamConfiguration(
                sources: sources, sequenceLength: Self.t, batchSize: batch, seed: seed, rank: rank,
                worldSize: world, readerThreads: threads, shuffleWindow: window, maxOpenShards: maxOpen),
            resumingFrom: state)
    }

    /// Runs `steps` steps with `world` ranks and returns all samples in rank-block order (= global order).
    func run(
        _ sources: [StreamSource], world: Int, steps: Int, batch: Int = 4, state: StreamState = StreamState(),
        threads: Int = 1
    ) throws -> (samples: [(SampleID, ArraySlice<Int32>)], state: StreamState) {
        let ranks = try (0..<world).map {
            try stream(sources, batch: batch, rank: $0, world: world, threads: threads, state: state)
        }
        var out: [(SampleID, ArraySlice<Int32>)] = []
        var last = state
        for _ in 0..<steps {
            var states: Set<StreamState> = []
            for r in ranks {
                let b = try r.nextBatch()
                for row in 0..<batch { out.append((b.samples[row], b.sample(row))) }
                states.insert(b.stateAfter)
            }
            XCTAssertEqual(states.count, 1, "every rank holds the same state")
            last = states.first!
        }
        return (out, last)
    }

    func blendSources(_ dir: TemporaryDirectory) throws -> [StreamSource] {
        let a = try makeDataset(
            in: dir.sub("a"), name: "a", shards: 5, documentsPerShard: 5...30, documentLength: 1...60, seed: 1,
            tokenRange: 0..<500)
        let b = try makeDataset(
            in: dir.sub("b"), name: "b", shards: 3, documentsPerShard: 5...30, documentLength: 1...60, seed: 2,
            tokenRange: 500..<998)
        return [try .directory(a.directory, weight: 0.7), try .directory(b.directory, weight: 0.3)]
    }

    func testSameGlobalOrderFor1_2_3And8Ranks() throws {
        let dir = TemporaryDirectory()
        let sources = try blendSources(dir)
        let reference = try run(sources, world: 1, steps: 48).samples // 192 samples
        for world in [2, 3, 8] {
            let steps = 192 / (4 * world)
            let got = try run(sources, world: world, steps: steps).samples
            XCTAssertEqual(got.count, steps * 4 * world)
            for (i, sample) in got.enumerated() {
                XCTAssertEqual(sample.0, reference[i].0, "world \(world) sample \(i)")
                XCTAssertEqual(Array(sample.1), Array(reference[i].1), "world \(world) sample \(i) tokens")
            }
        }
        // The same global order with reader threads.
        let threaded = try run(sources, world: 1, steps: 48, threads: 3).samples
        XCTAssertTrue(zip(threaded, reference).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        // And through random access.
        let s = try stream(sources)
        var tokens: [Int32] = []
        var ids: [SampleID] = []
        try s.read(globalPositions: 100, count: 20, into: &tokens, ids: &ids)
        XCTAssertEqual(ids, reference[100..<120].map(\.0))
        XCTAssertEqual(tokens, reference[100..<120].flatMap { Array($0.1) })
    }

    func testEveryPackedSampleExactlyOncePerEpochAcrossRanks() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.path, name: "one", shards: 6, documentsPerShard: 3...40, documentLength: 1...80, seed: 5)
        let source = try StreamSource.directory(ds.directory)
        let n = try stream([source]).samplesPerEpoch
        XCTAssertEqual(n, (ds.index.totalTokens - 1) / Int64(Self.t))
        for world in [1, 3, 8] {
            let steps = Int((n + Int64(4 * world) - 1) / Int64(4 * world)) + 2 // run into epoch 1
            let samples = try run([source], world: world, steps: steps).samples.map(\.0)
            let epoch0 = samples.filter { $0.globalPosition < n }
            XCTAssertEqual(epoch0.map(\.globalPosition), Array(0..<n), "positions are consecutive and disjoint")
            XCTAssertTrue(epoch0.allSatisfy { $0.datasetEpoch == 0 })
            XCTAssertEqual(Set(epoch0.map(\.index)).count, Int(n), "no sample twice")
            XCTAssertEqual(Set(epoch0.map(\.index)), Set(0..<n), "every sample once")
            let epoch1 = samples.filter { $0.globalPosition >= n }
            XCTAssertFalse(epoch1.isEmpty)
            XCTAssertTrue(epoch1.allSatisfy { $0.datasetEpoch == 1 })
        }
    }

    /// With `verifyAhead` the next window of each dataset is built on a background queue while the current one
    /// is read; a window is a pure function of its place, so batches must be the same as with everything built
    /// inline — over several epochs of a blend with many small windows, and for random reads that jump back
    /// and forth (the window built ahead is then not the one asked for).
    func testWindowsBuiltAheadGiveTheSameBatchesAsWindowsBuiltInline() throws {
        let dir = TemporaryDirectory()
        let sources = try blendSources(dir)
        func make(ahead: Bool) throws -> TokenStream {
            var c = StreamConfiguration(
                sources: sources, sequenceLength: Self.t, batchSize: 5, seed: 3, shuffleWindow: 8, maxOpenShards: 2)
            c.verifyAhead = ahead
            return try TokenStream(c)
        }
        let inline = try make(ahead: false)
        let ahead = try make(ahead: true)
        let steps = Int(3 * inline.samplesPerEpoch / 5) + 1 // three epochs and a bit
        for step in 0..<steps {
            let a = try inline.nextBatch()
            let b = try ahead.nextBatch()
            XCTAssertEqual(a.samples, b.samples, "step \(step)")
            XCTAssertEqual(a.tokens, b.tokens, "step \(step)")
            XCTAssertEqual(a.stateAfter, b.stateAfter)
        }
        var random = TestRandom(17)
        for _ in 0..<60 {
            let first = Int64(random.next() % UInt64(4 * inline.samplesPerEpoch))
            var ta: [Int32] = []
            var ia: [SampleID] = []
            var tb: [Int32] = []
            var ib: [SampleID] = []
            try inline.read(globalPositions: first, count: 7, into: &ta, ids: &ia)
            try ahead.read(globalPositions: first, count: 7, into: &tb, ids: &ib)
            XCTAssertEqual(ia, ib, "position \(first)")
            XCTAssertEqual(ta, tb, "position \(first)")
        }
        XCTAssertLessThanOrEqual(ahead.openShards, 2)
    }

    /// A batch counts its sample ids on from its first one (no divisions per sample): across an epoch's end
    /// they must still be what `sampleID(at:)` says, and the rows what reading each position alone gives.
    func testABatchAcrossAnEpochBoundaryHoldsTheSamplesOfItsPositions() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.path, name: "wrap", shards: 3, documentsPerShard: 3...20, documentLength: 1...50, seed: 9)
        let s = try stream([try StreamSource.directory(ds.directory)], window: 8)
        let n = s.samplesPerEpoch
        let first = 2 * n - 5 // epoch 1's last five samples and epoch 2's first seven
        var tokens: [Int32] = []
        var ids: [SampleID] = []
        try s.read(globalPositions: first, count: 12, into: &tokens, ids: &ids)
        XCTAssertEqual(ids, (first..<(first + 12)).map { s.sampleID(at: $0) })
        XCTAssertEqual(ids.map(\.datasetEpoch), Array(repeating: 1, count: 5) + Array(repeating: 2, count: 7))
        XCTAssertEqual(ids.map(\.index), Array((n - 5)..<n) + Array(0..<7))
        for (row, g) in (first..<(first + 12)).enumerated() {
            var one: [Int32] = []
            var oneID: [SampleID] = []
            try s.read(globalPositions: g, count: 1, into: &one, ids: &oneID)
            XCTAssertEqual(Array(tokens[(row * (Self.t + 1))..<((row + 1) * (Self.t + 1))]), one, "row \(row)")
        }
    }

    /// Packing: the samples of an epoch, in physical order, spell the shuffled documents, each whole and
    /// each exactly once, every one followed by end-of-text; samples overlap by one token (stride T).
    func testSamplesPackWholeShuffledDocumentsAcrossBoundaries() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.path, name: "pack", shards: 4, documentsPerShard: 5...25, documentLength: 0...40, seed: 11)
        try checkPacking(ds, sequenceLength: Self.t, expectShuffled: true)
    }

    /// Tiny and empty shards: one sample spans several shards, empty shards are skipped.
    func testSamplesSpanManySmallAndEmptyShards() throws {
        let dir = TemporaryDirectory()
        var ds = try makeDataset(
            in: dir.path, name: "tiny", shards: 12, documentsPerShard: 0...3, documentLength: 0...6, seed: 12)
        let empty = try ShardWriter(directory: dir.path, name: "tiny-empty", dtype: .uint16, endOfTextID: ds.eot)
            .finish()
        var index = ds.index
        try index.record(empty)
        try index.write(toDirectory: dir.path)
        ds = SyntheticDataset(directory: dir.path, index: index, documents: ds.documents + [[]])
        XCTAssertTrue(ds.documents.contains { $0.isEmpty }, "the fixture has shards without documents")
        try checkPacking(ds, sequenceLength: 40, expectShuffled: false)
    }

    func checkPacking(_ ds: SyntheticDataset, sequenceLength t: Int, expectShuffled: Bool) throws {
        let s = try TokenStream(
            StreamConfiguration(
                sources: [try .directory(ds.directory)], sequenceLength: t, batchSize: 1,
                seed: 7, shuffleWindow: 1))
        let n = Int(s.samplesPerEpoch)
        var tokens: [Int32] = []
        var ids: [SampleID] = []
        try s.read(globalPositions: 0, count: n, into: &tokens, ids: &ids)
        XCTAssertEqual(ids.map(\.index), Array(0..<Int64(n)), "window 1 = no sample shuffle")
        var streamTokens: [UInt32] = []
        for row in 0..<n {
            let sample = tokens[(row * (t + 1))..<((row + 1) * (t + 1))]
            if row > 0 {
                XCTAssertEqual(sample.first, Int32(streamTokens.last!), "consecutive samples share one token")
                streamTokens.removeLast()
            }
            streamTokens += sample.map { UInt32($0) }
        }
        var documents: [[UInt32]] = []
        var current: [UInt32] = []
        for token in streamTokens {
            if token == ds.eot {
                documents.append(current)
                current = []
            } else {
                current.append(token)
            }
        }
        let all = ds.documents.joined().map { $0 }
        var remaining = Dictionary(all.map { ($0, 1) }, uniquingKeysWith: +)
        for doc in documents {
            guard let left = remaining[doc], left > 0 else {
                return XCTFail("document \(doc) is not in the dataset or appears too often")
            }
            remaining[doc] = left - 1
        }
        if expectShuffled { XCTAssertNotEqual(documents, Array(all.prefix(documents.count)), "documents are shuffled") }
        let tokensLeft = Int(ds.index.totalTokens) - streamTokens.count
        XCTAssertLessThan(tokensLeft, t, "only the tail shorter than one sample is dropped")
        XCTAssertGreaterThanOrEqual(tokensLeft, 0)
    }

    func testExactResumptionAtRandomPointsWithChangedRankCounts() throws {
        let dir = TemporaryDirectory()
        let sources = try blendSources(dir)
        let total = try stream(sources).samplesPerEpoch
        let referenceCount = Int(total) + 400
        let reference = try run(sources, world: 1, steps: referenceCount / 4).samples
        var random = TestRandom(99)
        for trial in 0..<6 {
            let firstWorld = [1, 2, 3, 8][random.int(0...3)]
            let secondWorld = [1, 2, 3, 8][random.int(0...3)]
            let firstSteps = random.int(0...(Int(total) / (4 * firstWorld)))
            let first = try run(sources, world: firstWorld, steps: firstSteps)
            let checkpoint = try JSONEncoder().encode(first.state)
            let restored = try JSONDecoder().decode(StreamState.self, from: checkpoint)
            let secondSteps = min(12, (referenceCount - first.samples.count) / (4 * secondWorld))
            let second = try run(sources, world: secondWorld, steps: secondSteps, state: restored)
            let combined = first.samples + second.samples
            XCTAssertEqual(combined.count, (firstSteps * firstWorld + secondSteps * secondWorld) * 4)
            for (i, sample) in combined.enumerated() {
                XCTAssertEqual(
                    sample.0, reference[i].0,
                    "trial \(trial) (\(firstWorld)->\(secondWorld) ranks at step \(firstSteps)) sample \(i)")
                XCTAssertEqual(sample.1, reference[i].1)
            }
        }
    }

    func testResumingAnotherOrderIsRefused() throws {
        let dir = TemporaryDirectory()
        let sources = try blendSources(dir)
        let s = try stream(sources, seed: 7)
        let state = try s.nextBatch().stateAfter
        XCTAssertNotNil(state.order)
        XCTAssertNoThrow(
            try stream(sources, batch: 2, seed: 7, rank: 1, world: 5, state: state), "ranks and batch size may change")
        XCTAssertThrowsError(try stream(sources, seed: 8, state: state)) { error in
            guard case .invalidConfiguration(let field, _)? = error as? StreamError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "state.order")
        }
        var reweighted = sources
        reweighted[0].weight = 0.5
        XCTAssertThrowsError(try stream(reweighted, seed: 7, state: state))
        XCTAssertThrowsError(
            try stream(Array(sources.prefix(1)), seed: 7, state: StreamState(epoch: 0, position: 1, order: state.order))
        )
    }

    func testSourcesByLocation() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("loc"), name: "loc", shards: 1, documentsPerShard: 5...5, documentLength: 5...9)
        XCTAssertEqual(try StreamSource.at(ds.directory).index, ds.index)
        XCTAssertEqual(try StreamSource.at("file://" + ds.directory).locator.location, ds.directory)
        XCTAssertThrowsError(try StreamSource.at("http://127.0.0.1:9/x")) { error in
            guard case .invalidConfiguration(let field, _)? = error as? StreamError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "cache")
        }
        XCTAssertThrowsError(try StreamSource.at("s3://bucket/x"))
    }

    func testSeedAndEpochChangeTheOrderDeterministically() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.path, name: "seed", shards: 6, documentsPerShard: 5...20, documentLength: 1...50, seed: 4)
        let source = try StreamSource.directory(ds.directory)
        func first(_ seed: UInt64, epoch: Int64 = 0) throws -> [Int32] {
            try stream([source], batch: 8, seed: seed, state: StreamState(epoch: epoch, position: 0)).nextBatch().tokens
        }
        XCTAssertEqual(try first(1), try first(1))
        XCTAssertNotEqual(try first(1), try first(2))
        XCTAssertNotEqual(try first(1, epoch: 0), try first(1, epoch: 1))
    }

    func testBlendProportionsStayWithinOneSampleOfTheWeights() throws {
        let dir = TemporaryDirectory()
        var sources: [StreamSource] = []
        let weights = [0.5, 0.3, 0.2]
        for (i, w) in weights.enumerated() {
            let lo = UInt32(i * 300)
            let ds = try makeDataset(
                in: dir.sub("d\(i)"), name: "d\(i)", shards: 2, documentsPerShard: 5...20, documentLength: 1...50,
                seed: UInt64(20 + i), tokenRange: lo..<(lo + 300))
            sources.append(try .directory(ds.directory, weight: w))
        }
        // Epoch longer than the data so small datasets are oversampled (and repeat in their next epoch).
        let s = try TokenStream(
            StreamConfiguration(
                sources: sources, sequenceLength: Self.t, batchSize: 50, seed: 3,
                samplesPerEpoch: 3_000))
        var counts = [0, 0, 0]
        var drawn: Set<SampleID> = []
        for _ in 0..<80 { // 4000 samples: crosses an epoch boundary
            let batch = try s.nextBatch()
            for row in 0..<batch.batchSize {
                let d = batch.samples[row].dataset
                counts[d] += 1
                var id = batch.samples[row]
                id.globalPosition = 0
                XCTAssertTrue(drawn.insert(id).inserted, "a dataset sample repeats only in the dataset's next epoch")
                let lo = Int32(d * 300)
                XCTAssertTrue(
                    batch.sample(row).allSatisfy { ($0 >= lo && $0 < lo + 300) || $0 == 999 },
                    "row from dataset \(d) holds its tokens")
            }
        }
        // Tolerance: the greedy schedule keeps every prefix of an epoch within one sample of weight * length.
        var ids: [SampleID] = []
        var tokens: [Int32] = []
        try s.read(globalPositions: 0, count: 3_000, into: &tokens, ids: &ids)
        var epochCounts = [0, 0, 0]
        for (i, id) in ids.enumerated() {
            epochCounts[id.dataset] += 1
            for k in 0..<3 { XCTAssertLessThanOrEqual(abs(Double(epochCounts[k]) - weights[k] * Double(i + 1)), 1.0) }
        }
        XCTAssertEqual(epochCounts, [1500, 900, 600])
        for (d, w) in weights.enumerated() {
            XCTAssertEqual(Double(counts[d]) / 4000, w, accuracy: 0.01, "dataset \(d)")
        }
    }

    func testMemoryMappingsStayBoundedAsTheStreamWalksManyShards() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.path, name: "many", shards: 24, documentsPerShard: 2...6, documentLength: 5...30, seed: 8)
        let s = try stream([try .directory(ds.directory)], batch: 16, window: 1, maxOpen: 3)
        var maxOpen = 0
        for _ in 0..<Int(s.samplesPerEpoch / 16) {
            _ = try s.nextBatch()
            maxOpen = max(maxOpen, s.openShards)
        }
        XCTAssertLessThanOrEqual(maxOpen, 3)
    }

    func testInvalidConfigurationAndStateAreNamed() throws {
        let dir = TemporaryDirectory()
        let sources = try blendSources(dir)
        var bad = sources
        bad[1].weight = -1
        XCTAssertThrowsError(try stream(bad)) { error in
            XCTAssertEqual(
                (error as? StreamError).map {
                    if case .invalidConfiguration(let f, _) = $0 { return f } else { return "" }
                }, "sources[1].weight")
        }
        XCTAssertThrowsError(try stream(sources, rank: 3, world: 3))
        let n = try stream(sources).samplesPerEpoch
        XCTAssertThrowsError(try stream(sources, state: StreamState(epoch: 0, position: n)))
        var other = sources
        other[1].index.tokenizerHash = "different"
        XCTAssertThrowsError(try stream(other)) { error in
            guard case .incompatibleDatasets? = error as? StreamError else { return XCTFail("\(error)") }
        }
        let tiny = try makeDataset(
            in: dir.sub("tiny"), name: "tiny", shards: 1, documentsPerShard: 1...1, documentLength: 3...3)
        XCTAssertThrowsError(try stream([try .directory(tiny.directory)])) { error in
            XCTAssertEqual(
                error as? StreamError, .datasetTooSmall(dataset: "tiny", tokens: 4, neededTokens: Int64(Self.t + 1)))
        }
    }
}
