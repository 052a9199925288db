// `spec.train.evalEvery: checkpoint` with `spec.train.evals` (issue 20; docs/training.md, "Evals on every
// checkpoint"): the validator accepts the pair and names the field of every mistake; the manifest JSON Schema
// (`opsctl schema`) describes both fields.
import ClusterModel
import Foundation
import XCTest

@testable import APITypes

final class CheckpointEvalManifestTests: XCTestCase {
    private func train(_ extra: String) -> String {
        trainManifest(data: "[{path: /data/train}]", "checkpointEvery: 4\n" + extra)
    }

    private func problems(_ text: String) -> [String] { manifestProblems(text) }

    func testEvalEveryCheckpointDecodesIntoTheTrainSettings() throws {
        let jobs = try ManifestParser.parse(
            text: train("evalEvery: checkpoint\nevals: [{dataset: web-heldout, batches: 4}, {path: /data/code}]"),
            fileName: "t.yaml")
        let settings = try XCTUnwrap(jobs[0].spec.settings).decode(TrainSettings.self)
        XCTAssertEqual(settings.evalEvery, .checkpoint)
        XCTAssertEqual(
            settings.evals,
            [CheckpointEvalSource(dataset: "web-heldout", batches: 4), CheckpointEvalSource(path: "/data/code")])
        XCTAssertEqual(settings.evals?.map(\.effectiveBatches), [4, CheckpointEvalSource.defaultBatches])
    }

    func testMistakesNameTheirField() {
        XCTAssertEqual(
            problems(train("evalEvery: step\nevals: [{dataset: h}]")),
            [#"t.yaml:12: spec.train.evalEvery: expected one of "checkpoint", got "step""#])
        XCTAssertEqual(
            problems(train("evalEvery: checkpoint")),
            [
                "t.yaml:7: spec.train: evalEvery: checkpoint needs evals, the held-out datasets to evaluate: evals: [{dataset: NAME, batches: 8}]"
            ])
        XCTAssertEqual(
            problems(train("evalEvery: checkpoint\nevals: []")),
            [
                "t.yaml:13: spec.train.evals: evalEvery: checkpoint needs evals, the held-out datasets to evaluate: evals: [{dataset: NAME, batches: 8}]"
            ])
        XCTAssertEqual(
            problems(train("evals: [{dataset: h}]")),
            ["t.yaml:12: spec.train.evals: evals are run at every checkpoint only with evalEvery: checkpoint; add it"])
        let found = problems(
            train("evalEvery: checkpoint\nevals: [{dataset: a, path: /b}, {path: rel}, {dataset: c, batches: 0, x: 1}]")
        )
        XCTAssertTrue(
            found.contains { $0.contains("spec.train.evals[0]: expected exactly one of dataset") }, "\(found)")
        XCTAssertTrue(
            found.contains { $0.contains("spec.train.evals[1].path: expected an absolute path or URL") }, "\(found)")
        XCTAssertTrue(found.contains { $0.contains("spec.train.evals[2].batches: expected an integer") }, "\(found)")
        XCTAssertTrue(found.contains { $0.contains("spec.train.evals[2].x: unknown field") }, "\(found)")
    }

    func testTheSchemaDescribesBothFields() throws {
        let schema = try ManifestSchema.document(kind: "train")
        let train = schema["properties"]?["spec"]?["properties"]?["train"]?["properties"]
        XCTAssertEqual(train?["evalEvery"]?["enum"], ["checkpoint"])
        XCTAssertEqual(train?["evals"]?["type"], "array")
        let item = train?["evals"]?["items"]?["properties"]
        XCTAssertEqual(item?["batches"]?["type"], "integer")
        XCTAssertEqual(item?["batches"]?["maximum"], .int(Int64(CheckpointEvalSource.maxBatches)))
        XCTAssertNotNil(item?["dataset"])
        XCTAssertNotNil(item?["path"])
    }
}

extension CheckpointEvalManifestTests {
    func testTheExampleManifestParses() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("manifests/examples")
        let pipeline = try ManifestParser.parse(
            contentsOfFile: examples.appendingPathComponent("train-evals.yaml").path)
        let settings = try XCTUnwrap(pipeline.jobs[0].spec.settings).decode(TrainSettings.self)
        XCTAssertEqual(settings.evalEvery, .checkpoint)
        XCTAssertEqual(settings.evals?.map(\.dataset), ["web-heldout", "code-heldout"])
        XCTAssertEqual(settings.evals?.map(\.effectiveBatches), [16, 8])
    }
}
