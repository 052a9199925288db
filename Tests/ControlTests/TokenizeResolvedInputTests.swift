import APITypes
import Foundation
import TestSupport
import XCTest

@testable import Control

/// The tokenize planner with inputs as `opsctl apply` resolves them (blobs), URLs, and a dataset by name.
final class TokenizeResolvedInputTests: XCTestCase {
    private func manifest(_ settings: AnyJSON) throws -> JobManifest {
        let document: AnyJSON = [
            "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": "tok"],
            "spec": ["type": "tokenize", "tokenize": settings],
        ]
        return try ManifestParser.parse(text: document.jsonText, fileName: "t.json")[0]
    }

    private func blob(_ name: String, _ sha: Character, bytes: Int64) -> AnyJSON {
        let hex = String(repeating: sha, count: 64)
        return [
            "name": .string(name), "location": .string("cp://blobs/" + hex), "sha256": .string(hex),
            "bytes": .int(bytes),
        ]
    }

    func testResolvedInputsAndURLsArePlannedAsSourcesOfADatasetByName() throws {
        let job = try manifest([
            "inputs": [
                blob("/laptop/a.txt", "a", bytes: 10), blob("/laptop/b.jsonl", "b", bytes: 20),
                "https://example.invalid/c.txt",
            ],
            "output": ["dataset": "docs"],
            "tokenizer": ["location": .string("cp://blobs/" + String(repeating: "c", count: 64))],
            "filesPerTask": 2,
        ])
        let specs = try TokenizePlanner().taskSpecs(for: job).map { try $0.decode(as: TokenizeTaskSpec.self) }
        XCTAssertEqual(specs.count, 2)
        XCTAssertEqual(specs[0].files, ["/laptop/a.txt", "/laptop/b.jsonl"])
        XCTAssertEqual(
            specs[0].sources?.map(\.location),
            ["cp://blobs/" + String(repeating: "a", count: 64), "cp://blobs/" + String(repeating: "b", count: 64)])
        XCTAssertEqual(
            specs[1].sources,
            [
                ResolvedInput(
                    name: "https://example.invalid/c.txt", location: "https://example.invalid/c.txt", sha256: nil,
                    bytes: nil)
            ])
        XCTAssertEqual(specs[0].datasetDirectory, "cp://datasets/docs")
        XCTAssertEqual(specs[0].uploadShards, true)
        XCTAssertEqual(specs[0].tokenizerPath, "cp://blobs/" + String(repeating: "c", count: 64))
    }

    func testResolvedInputWithoutAKnownFormatFailsNamingTheItem() throws {
        let job = try manifest([
            "inputs": [blob("/laptop/a.txt", "a", bytes: 1), blob("/laptop/notes.md", "d", bytes: 1)],
            "output": ["dataset": "docs"], "tokenizer": ["dataset": "other"],
        ])
        XCTAssertThrowsError(try TokenizePlanner().taskSpecs(for: job)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("spec.tokenize.inputs[1]"), text)
            XCTAssertTrue(text.contains("/laptop/notes.md: cannot tell the format from the name"), text)
        }
    }

    func testDatasetByNameTrainsAndDedupsThroughTheControlPlane() throws {
        let job = try manifest([
            "inputs": [blob("/laptop/a.txt", "a", bytes: 10), blob("/laptop/b.txt", "b", bytes: 10)],
            "output": ["dataset": "docs"], "dedup": true, "filesPerTask": 1,
            "tokenizer": ["train": ["vocabularySize": 300]],
        ])
        let jobs = try TokenizePlanner().expand(job)
        XCTAssertEqual(jobs.map(\.name), ["tok-tokenizer", "tok-dedup", "tok"])
        // The trained tokenizer has no directory to go to: stored as the train job's artifact.
        let train = try TrainTokenizerPlanner().taskSpecs(for: jobs[0]).map {
            try $0.decode(as: TrainTokenizerTaskSpec.self)
        }
        XCTAssertEqual(train.map(\.storeOutput), [true])
        XCTAssertEqual(train.map(\.output), [""])
        // The tokenize tasks name the helper jobs, resolved when a task is handed out; the scan tasks do not.
        let tokenize = try TokenizePlanner().taskSpecs(for: jobs[2]).map { try $0.decode(as: TokenizeTaskSpec.self) }
        XCTAssertEqual(tokenize.count, 2)
        XCTAssertEqual(tokenize.map(\.tokenizerJob), ["tok-tokenizer", "tok-tokenizer"])
        XCTAssertEqual(tokenize.map(\.dedupJob), ["tok-dedup", "tok-dedup"])
        XCTAssertEqual(tokenize.map(\.tokenizerPath), ["", ""])
        XCTAssertEqual(tokenize.map(\.dedupJobID), [nil, nil])
        let scan = try TokenizePlanner().taskSpecs(for: jobs[1]).map { try $0.decode(as: TokenizeTaskSpec.self) }
        XCTAssertEqual(scan.map(\.dedupJob), [nil, nil])
        XCTAssertEqual(scan.map(\.uploadShards), [true, true], "the scan publishes its hashes instead of writing them")
    }
}
