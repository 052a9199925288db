import Foundation
import NearDedup
import Primitives
import XCTest

final class NearDedupTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "neardedup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testParameterProblemsNameTheirField() {
        XCTAssertEqual(MinHashParameters().problems(), [])
        XCTAssertEqual(MinHashParameters().permutations, 112)
        let split = MinHashParameters(permutations: 100, bands: 14, rowsPerBand: 8).problems()
        XCTAssertEqual(split.map(\.field), ["bands"])
        XCTAssertEqual(split.first?.message, "expected bands × rowsPerBand = permutations, got 14 × 8 ≠ 100")
        let zero = MinHashParameters(shingleWords: 0, permutations: 0, bands: 0, rowsPerBand: 3).problems()
        XCTAssertEqual(zero.map(\.field), ["shingleWords", "permutations", "bands"])
        XCTAssertThrowsError(try MinHasher(MinHashParameters(permutations: 8, bands: 3, rowsPerBand: 3))) {
            XCTAssertEqual(($0 as? ParameterProblem)?.field, "bands")
        }
        XCTAssertEqual(MinHashParameters().threshold, 0.719, accuracy: 0.001)
    }

    func testShinglesIgnoreCaseAndPunctuationButNotWordOrder() {
        XCTAssertEqual(shingleSet("The cat, sat!  on THE mat.", n: 2), shingleSet("the cat sat on the mat", n: 2))
        XCTAssertNotEqual(shingleSet("cat sat", n: 2), shingleSet("sat cat", n: 2))
        XCTAssertEqual(shingleSet("Ünïcode wörds", n: 1), shingleSet("ÜNÏCODE WÖRDS", n: 1))
        XCTAssertEqual(shingleSet("one two", n: 5).count, 1, "a document shorter than a shingle is one shingle")
        XCTAssertEqual(shingleSet(" ,.; ", n: 5).count, 0)
    }

    func testMinHashEstimateTracksExactJaccard() throws {
        let hasher = try MinHasher(MinHashParameters(permutations: 256, bands: 32, rowsPerBand: 8))
        var corpus = SyntheticCorpus(seed: 7)
        var scratch = MinHasher.Scratch()
        var a: [UInt32] = []
        var b: [UInt32] = []
        for rate in [0.0, 0.02, 0.05, 0.1, 0.3, 1.0] {
            let base = corpus.words(300)
            let copy = corpus.edited(base, rate: rate)
            let (x, y) = (base.joined(separator: " "), copy.joined(separator: " "))
            XCTAssertTrue(hasher.signature(of: x, scratch: &scratch, into: &a))
            XCTAssertTrue(hasher.signature(of: y, scratch: &scratch, into: &b))
            let exact = exactJaccard(shingleSet(x, n: 5), shingleSet(y, n: 5))
            // 256 permutations: standard error sqrt(J(1-J)/256) <= 0.031; 0.1 is over three of them.
            XCTAssertEqual(MinHasher.estimatedJaccard(a, b), exact, accuracy: 0.1, "edit rate \(rate)")
        }
        XCTAssertFalse(hasher.signature(of: "  ...  ", scratch: &scratch, into: &a), "no words, no signature")
    }

    /// 400 unrelated documents and 120 copies of 60 of them at edit rates 0, 0.5 % and 1 % (Jaccard of 5-word
    /// shingles >= 0.9, found with probability > 0.9999 each at the default 14 × 8): every copy is dropped with
    /// its original as keeper, and no two unrelated documents are merged.
    func testPlantedNearDuplicatesAreFoundAndUnrelatedDocumentsAreNotMerged() throws {
        var corpus = SyntheticCorpus(seed: 11)
        var texts: [String] = []
        var bases: [[String]] = []
        for _ in 0..<400 {
            let words = corpus.words(150 + corpus.random.next(below: 200))
            bases.append(words)
            texts.append(words.joined(separator: " "))
        }
        var expectedKeeper: [UInt64: UInt64] = [:]
        for i in 0..<60 {
            for rate in [[0.0, 0.005, 0.01][i % 3], 0.01] {
                expectedKeeper[UInt64(texts.count)] = UInt64(i * 5)
                texts.append(corpus.edited(bases[i * 5], rate: rate).joined(separator: " "))
            }
        }
        let search = try NearDuplicateSearch(
            parameters: MinHashParameters(), reducers: 3, memoryLimitBytes: 1 << 20, spillDirectory: directory,
            threads: 2)
        // Two batches, the second first: the keeper is the lowest id, not the first seen.
        let half = texts.count / 2
        try search.add(Array(texts[half...]), ids: (half..<texts.count).map { UInt64($0) })
        try search.add(Array(texts[..<half]), ids: (0..<half).map { UInt64($0) })
        let result = try search.finish()
        var clusters = result.clusters
        let reducers = result.reducers
        let dropped = clusters.dropped()
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: dropped.map { ($0.document, $0.keeper) }), expectedKeeper)
        XCTAssertEqual(reducers.count, 3)
        XCTAssertTrue(reducers.allSatisfy { $0.records > 0 }, "bucket keys spread over every reducer: \(reducers)")
        XCTAssertEqual(reducers.reduce(0) { $0 + $1.records }, texts.count * 14)
    }

    /// A corpus whose bucket records (16 bytes each, 14 per document) are over 30 times the reducer's limit: the reducer
    /// spills sorted runs, merges them in more than one pass, never accounts more than its limit, and finds
    /// exactly what an unbounded reducer finds.
    func testReducerMemoryStaysWithinItsLimitOnACorpusLargerThanTheLimit() throws {
        var corpus = SyntheticCorpus(seed: 5)
        var texts: [String] = []
        for i in 0..<3000 {
            texts.append(
                i >= 2700
                    ? corpus.edited(texts[i - 2700].split(separator: " ").map(String.init), rate: 0.01)
                        .joined(separator: " ") : corpus.words(200).joined(separator: " "))
        }
        let ids = (0..<texts.count).map { UInt64($0) }
        let limit = ExternalSorter.minimumMemoryLimitBytes
        func run(_ memoryLimitBytes: Int, _ name: String) throws -> ([UInt64: UInt64], ReducerStats) {
            let search = try NearDuplicateSearch(
                parameters: MinHashParameters(), reducers: 1, memoryLimitBytes: memoryLimitBytes,
                spillDirectory: directory + "/" + name, threads: 1)
            try search.add(texts, ids: ids)
            let result = try search.finish()
            var clusters = result.clusters
            return (
                Dictionary(uniqueKeysWithValues: clusters.dropped().map { ($0.document, $0.keeper) }),
                result.reducers[0]
            )
        }
        let (bounded, stats) = try run(limit, "bounded")
        let (unbounded, reference) = try run(1 << 30, "unbounded")
        XCTAssertGreaterThan(stats.records * BucketRecord.encodedBytes, 30 * limit)
        XCTAssertLessThanOrEqual(stats.peakAccountedBytes, limit)
        XCTAssertGreaterThan(stats.spilledRuns, 20)
        XCTAssertGreaterThanOrEqual(stats.mergePasses, 2, "more runs than one merge can read within the limit")
        XCTAssertEqual(reference.spilledRuns, 0)
        // Unbounded, the buffer grows by doubling as records come: at most twice what they need (times two: the
        // sort's scratch), not the limit.
        XCTAssertLessThanOrEqual(reference.peakAccountedBytes, 2 * 2 * reference.records * 16 + 8192)
        XCTAssertEqual(bounded, unbounded)
        XCTAssertEqual(bounded.count, 300)
        XCTAssertTrue(bounded.allSatisfy { $0.key == $0.value + 2700 })
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: directory + "/bounded")
            .filter { $0.hasSuffix(".records") || $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "runs are removed once merged")
    }

    func testExternalSortOrdersEverythingThroughSeveralPasses() throws {
        var random = SplitMix64(seed: 3)
        let records = (0..<20_000).map { _ in BucketRecord(key: random.next() % 5000, document: random.next() % 97) }
        let sorter = try ExternalSorter(memoryLimitBytes: ExternalSorter.minimumMemoryLimitBytes, directory: directory)
        for record in records { try sorter.append(record) }
        var out: [BucketRecord] = []
        try sorter.drain { out.append($0) }
        XCTAssertEqual(out, records.sorted())
        XCTAssertGreaterThan(sorter.mergePasses, 1)
        XCTAssertLessThanOrEqual(sorter.peakAccountedBytes, ExternalSorter.minimumMemoryLimitBytes)
        XCTAssertThrowsError(try ExternalSorter(memoryLimitBytes: 1000, directory: directory)) {
            XCTAssertEqual("\($0)", "memoryLimitBytes: expected at least 16384 bytes, got 1000")
        }
    }

    func testClustersKeepTheLowestIdWhateverTheOrder() {
        var clusters = DuplicateClusters()
        for (a, b) in [(9, 4), (4, 7), (12, 11), (7, 2), (11, 30)] as [(UInt64, UInt64)] { clusters.union(a, b) }
        let dropped = clusters.dropped()
        XCTAssertEqual(dropped.map(\.document), [4, 7, 9, 12, 30])
        XCTAssertEqual(dropped.map(\.keeper), [2, 2, 2, 11, 11])
        XCTAssertNil(clusters.keeper(of: 2))
        XCTAssertNil(clusters.keeper(of: 1000))
        XCTAssertEqual(clusters.keeper(of: 30), 11)
    }

    func testReducerPairsEachBucketWithItsFirstDocument() {
        var reducer = BucketReducer()
        let records = [(1, 5), (1, 8), (1, 8), (1, 9), (2, 3), (3, 1), (3, 4)].map {
            BucketRecord(key: UInt64($0.0), document: UInt64($0.1))
        }
        let pairs = records.compactMap { reducer.add($0) }
        XCTAssertEqual(pairs.map(\.keeper), [5, 5, 1])
        XCTAssertEqual(pairs.map(\.duplicate), [8, 9, 4])
        XCTAssertEqual(reducer.buckets, 2)
    }

    /// Training documents that carry a 13-word run of an eval document are contaminated by that eval set; ones that
    /// share only 12 consecutive words, or the same words in another order, are not.
    func testDecontaminationFlagsExactlyThePlantedOverlaps() {
        var corpus = SyntheticCorpus(seed: 19)
        var index = ContaminationIndex()
        let sets = [index.addEvalSet("mmlu"), index.addEvalSet("gsm8k")]
        var evals: [[[String]]] = [[], []]
        var scratch = NGramScratch()
        for set in sets {
            for _ in 0..<20 {
                let words = corpus.words(40)
                evals[set].append(words)
                index.add(evalText: words.joined(separator: " "), set: set, scratch: &scratch)
            }
        }
        var expected: [Int: UInt64] = [:]
        var training: [String] = []
        for i in 0..<300 {
            var words = corpus.words(100)
            if i % 10 == 0 {
                // 13 consecutive words of an eval document, punctuated and upper-cased differently.
                let set = (i / 10) % 2
                let eval = evals[set][i % 20]
                let run = eval[(i % 27)..<(i % 27 + 13)].map { $0.uppercased() + "," }
                words.insert(contentsOf: run, at: 50)
                expected[i] = 1 << UInt64(set)
            } else if i % 10 == 5 {
                // 12 words (fenced by words of no eval document): not enough; 13 in reverse order: no run.
                words.insert(contentsOf: ["fence"] + evals[0][i % 20][3..<15] + ["fence"], at: 20)
                words.insert(contentsOf: ["fence"] + evals[1][i % 20][0..<13].reversed() + ["fence"], at: 70)
            }
            training.append(words.joined(separator: " "))
        }
        var found: [Int: UInt64] = [:]
        for (i, text) in training.enumerated() {
            let mask = index.contamination(of: text, scratch: &scratch)
            if mask != 0 { found[i] = mask }
        }
        XCTAssertEqual(found, expected)
        XCTAssertEqual(index.names(in: 3), ["mmlu", "gsm8k"])
        XCTAssertEqual(index.ngrams, 2 * 20 * 28)
    }

    func testDamagedRecordFileIsRefusedWithWhatToDo() throws {
        let path = directory + "/bad.records"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: 1, count: 17)))
        XCTAssertThrowsError(try RecordFileReader(path: path)) {
            XCTAssertEqual(
                "\($0)",
                "\(path) is damaged: 17 bytes is not a multiple of 16; delete it and re-run the task that writes it")
        }
        let writer = try RecordFileWriter(path: directory + "/good.records", bufferBytes: 32)
        for i in 0..<5 { try writer.append(UInt64(i), UInt64(i * 2)) }
        try writer.finish()
        let reader = try RecordFileReader(path: directory + "/good.records", bufferRecords: 2)
        var read: [UInt64] = []
        while let (a, b) = try reader.next() { read += [a, b] }
        XCTAssertEqual(read, [0, 0, 1, 2, 2, 4, 3, 6, 4, 8])
    }
}
