import APITypes
import DataShards
import Foundation
import NearDedup
import XCTest

@testable import Workers

/// The three passes of near-duplicate removal on real files, without a cluster: signatures per chunk, reducers
/// within their memory limit, then tokenize tasks that drop the copies (lineage) and the contaminated documents.
final class NearDedupExecutorTests: XCTestCase {
    private var scratch: TokenizerScratch!
    private var tokenizerPath: String { scratch.tokenizerPath }
    private var datasetDirectory: String { scratch.datasetDirectory }

    override func setUpWithError() throws { scratch = try TokenizerScratch("neardedup-executor") }

    override func tearDown() { scratch?.remove() }

    private func write(_ name: String, _ lines: [String]) -> String {
        scratch.writeInput(name, Array(lines.joined(separator: "\n").utf8))
    }

    private static func words(_ seed: Int, _ count: Int) -> [String] {
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return "w\((state >> 33) % 50_000)"
        }
    }

    func testCopiesAcrossChunksAreDroppedWithTheirKeeperAndContaminatedDocumentsWithTheirEvalSet() throws {
        // Chunk 0: a, b, c (c carries 13 words of the eval). Chunk 1: a copy of b (2 words edited), d, an exact
        // copy of a, and a copy of the copy of b — all three copies keep b or a, the first occurrences.
        let a = Self.words(1, 200)
        let b = Self.words(2, 300)
        let eval = Self.words(3, 40)
        var c = Self.words(4, 150)
        c.insert(contentsOf: eval[10..<23], at: 70)
        var b1 = b
        b1[5] = "edit1"
        b1[200] = "edit2"
        var b2 = b1
        b2[100] = "edit3"
        let d = Self.words(5, 120)
        let evalFile = write("evals/test.txt", [eval.joined(separator: " ")])
        let chunks = [
            [write("c0.txt", [a, b, c].map { $0.joined(separator: " ") })],
            [write("c1.txt", [b1, d, a, b2].map { $0.joined(separator: " ") })],
        ]
        let near = NearDedupTaskSettings(parameters: MinHashParameters(), reducers: 2, memoryLimitBytes: 16 << 10)
        func spec(_ chunk: Int) -> TokenizeTaskSpec {
            var spec = TokenizeTaskSpec(
                dataset: "ds", datasetDirectory: datasetDirectory, shardIndex: chunk, shardCount: 2,
                files: chunks[chunk], input: TokenizeInputOptions(txtMode: "lines"), tokenizerPath: tokenizerPath,
                endOfText: nil, dedup: false)
            spec.nearDedup = near
            spec.decontamination = DecontaminationTaskSettings(evalFiles: [evalFile], ngramWords: 13)
            return spec
        }
        for chunk in 0..<2 {
            let counts = try TokenizeMinhashExecutor.sign(spec(chunk), context: nil)
            XCTAssertEqual(counts.records, counts.documents * 14)
        }
        // A retried signature task writes the same bytes.
        let first = try Data(
            contentsOf: URL(fileURLWithPath: LSHReduceTaskSpec.bucketFile(datasetDirectory, chunk: 1, reducer: 0)))
        _ = try TokenizeMinhashExecutor.sign(spec(1), context: nil)
        XCTAssertEqual(
            try Data(
                contentsOf: URL(fileURLWithPath: LSHReduceTaskSpec.bucketFile(datasetDirectory, chunk: 1, reducer: 0))),
            first)

        // Before the reducers ran, a tokenize task says which file is missing and what to do.
        XCTAssertThrowsError(try TokenizeExecutor.tokenize(spec(0), context: nil)) {
            XCTAssertTrue("\($0)".contains("pairs-r0.records (the -lsh job's task 0 writes it)"), "\($0)")
        }
        var records = 0
        for reducer in 0..<2 {
            let stats = try TokenizeLSHExecutor.reduce(
                LSHReduceTaskSpec(datasetDirectory: datasetDirectory, reducer: reducer, chunkCount: 2, settings: near),
                spillDirectory: scratch.root.path + "/spill", context: nil)
            XCTAssertLessThanOrEqual(stats.peakAccountedBytes, 16 << 10)
            records += stats.records
        }
        XCTAssertEqual(records, 7 * 14)

        let outcomes = try (0..<2).map { try TokenizeExecutor.tokenize(spec($0), context: nil) }
        XCTAssertEqual(outcomes.map(\.facts.documents), [2, 1], "a, b | d")
        let inputs = outcomes.map { (try? $0.stats.decode(as: [String: AnyJSON].self)) ?? [:] }
        XCTAssertEqual(inputs.map { $0["nearDuplicatesDropped"] }, [.int(0), .int(3)])
        XCTAssertEqual(
            inputs.map { $0["decontamination"] }, [.object(["test.txt": .int(1)]), .object(["test.txt": .int(0)])])
        let lineage = try String(
            contentsOfFile: LSHReduceTaskSpec.lineageFile(datasetDirectory, chunk: 1), encoding: .utf8)
        XCTAssertEqual(
            lineage,
            """
            document\tkeeper\tfile\tline
            1:0\t0:1\t\(chunks[1][0])\t1
            1:2\t0:0\t\(chunks[1][0])\t3
            1:3\t0:1\t\(chunks[1][0])\t4

            """)
    }
}
