import APITypes
import Foundation
import TestSupport
import XCTest

@testable import Control

/// The `nearDedup` and `decontaminate` options of a tokenize job: the validator's field messages and the planner's
/// two helper jobs and their task specs.
final class NearDedupPlannerTests: XCTestCase {
    private var root: TemporaryDirectory!

    override func setUpWithError() throws { root = try TemporaryDirectory.make(prefix: "neardedup-planner-") }
    override func tearDown() { root?.remove() }

    private func touch(_ relative: String) {
        let path = root.path + "/" + relative
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("a b c\n".utf8)))
    }

    private func manifestText(_ options: String, location: Bool = true) -> String {
        """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: tok}
        spec:
          type: tokenize
          tokenize:
            inputs: ["\(root.path)/in/*.txt"]
            output: {dataset: ds\(location ? ", location: \(root.path)/out" : "")}
            tokenizer: {path: \(root.path)/tokenizer.json}
            filesPerTask: 2
        \(options.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """
    }

    private func problems(_ options: String, location: Bool = true) -> [String] {
        do {
            _ = try ManifestParser.parse(text: manifestText(options, location: location), fileName: "t.yaml")
            return []
        } catch {
            return error.problems.map { "\($0.path): \($0.message)" }
        }
    }

    func testValidatorNamesTheFieldAndWhatWasExpected() {
        XCTAssertEqual(problems("nearDedup: {}\ndecontaminate: {evals: [/e/*.jsonl]}"), [])
        XCTAssertEqual(
            problems("nearDedup: {bands: 10, rowsPerBand: 8, permutations: 112}"),
            ["spec.tokenize.nearDedup.bands: expected bands × rowsPerBand = permutations, got 10 × 8 ≠ 112"])
        XCTAssertEqual(problems("nearDedup: {bands: 20}"), [], "permutations is bands × rowsPerBand when not given")
        let bad = problems(
            "nearDedup: {shingleWords: 0, reducers: 0, memoryLimitBytes: 1KiB, bogus: 1}\ndecontaminate: {evals: [], ngramWords: 0}"
        )
        XCTAssertTrue(
            bad.contains { $0.hasPrefix("spec.tokenize.nearDedup.shingleWords: expected an integer") }, "\(bad)")
        XCTAssertTrue(bad.contains { $0.hasPrefix("spec.tokenize.nearDedup.reducers: expected an integer") }, "\(bad)")
        XCTAssertTrue(
            bad.contains { $0.hasPrefix("spec.tokenize.nearDedup.memoryLimitBytes: expected a size in bytes") },
            "\(bad)")
        XCTAssertTrue(bad.contains { $0.hasPrefix("spec.tokenize.nearDedup.bogus") }, "\(bad)")
        XCTAssertTrue(
            bad.contains {
                $0
                    == "spec.tokenize.decontaminate.evals: expected a non-empty list of absolute paths or globs of eval files"
            }, "\(bad)")
        XCTAssertTrue(
            bad.contains { $0.hasPrefix("spec.tokenize.decontaminate.ngramWords: expected an integer") }, "\(bad)")
        XCTAssertEqual(
            problems("nearDedup: {}", location: false),
            [
                "spec.tokenize.nearDedup: needs output.location (a directory every worker sees, where the passes meet); datasets by name are not supported with it yet"
            ])
    }

    func testNearDedupPutsMinhashThenLSHJobsInFrontWithTheirTasks() throws {
        for i in 0..<5 { touch("in/f\(i).txt") }
        touch("tokenizer.json")
        touch("evals/b.jsonl")
        touch("evals/a.jsonl")
        let m = try ManifestParser.parse(
            text: manifestText(
                "nearDedup: {bands: 16, rowsPerBand: 4, reducers: 3, memoryLimitBytes: 1MiB}\ndecontaminate: {evals: [\"\(root.path)/evals/*.jsonl\"]}"
            ), fileName: "t.yaml")[0]
        let jobs = try TokenizePlanner().expand(m)
        XCTAssertEqual(jobs.map(\.name), ["tok-minhash", "tok-lsh", "tok"])
        XCTAssertEqual(jobs.map(\.spec.type), ["tokenize-minhash", "tokenize-lsh", "tokenize"])
        XCTAssertEqual(jobs.map(\.spec.after), [[], ["tok-minhash"], ["tok-lsh"]])
        XCTAssertEqual(try TokenizePlanner().expand(m), jobs, "deterministic")
        // Each generated job is a valid manifest of its kind.
        let reparsed = try ManifestParser.validate(jobs.map(\.manifestValue), fileName: "gen").jobs
        let minhash = try TokenizePlanner().taskSpecs(for: reparsed[0]).map { try $0.decode(as: TokenizeTaskSpec.self) }
        XCTAssertEqual(minhash.count, 3, "one task per chunk of two files")
        XCTAssertEqual(minhash[0].nearDedup?.parameters.permutations, 64)
        XCTAssertEqual(minhash[0].nearDedup?.reducers, 3)
        XCTAssertEqual(minhash[0].nearDedup?.memoryLimitBytes, 1 << 20)
        let lsh = try TokenizePlanner().taskSpecs(for: reparsed[1]).map { try $0.decode(as: LSHReduceTaskSpec.self) }
        XCTAssertEqual(lsh.map(\.reducer), [0, 1, 2])
        XCTAssertTrue(lsh.allSatisfy { $0.chunkCount == 3 && $0.datasetDirectory == root.path + "/out/ds" })
        let tokenize = try TokenizePlanner().taskSpecs(for: reparsed[2]).map {
            try $0.decode(as: TokenizeTaskSpec.self)
        }
        XCTAssertEqual(tokenize.map(\.nearDedup), minhash.map(\.nearDedup))
        XCTAssertEqual(
            tokenize[0].decontamination,
            DecontaminationTaskSettings(
                evalFiles: [root.path + "/evals/a.jsonl", root.path + "/evals/b.jsonl"], ngramWords: 13))

        let missing = try ManifestParser.parse(
            text: manifestText("decontaminate: {evals: [\"\(root.path)/none/*.jsonl\"]}"), fileName: "t.yaml")[0]
        XCTAssertThrowsError(try TokenizePlanner().taskSpecs(for: missing)) {
            XCTAssertEqual(
                "\($0)",
                "\(StoreError.invalid(field: "spec.tokenize.decontaminate.evals[0]", message: "\"\(root.path)/none/*.jsonl\" matches no files on the control plane's filesystem (eval files must be where every worker sees them)"))"
            )
        }
    }
}
