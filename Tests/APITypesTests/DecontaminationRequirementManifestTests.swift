// `spec.train.requireDecontaminated` (issue 21, docs/dedup.md "Admission check"): a boolean, only with evals to
// check against and training data by name; the manifest JSON Schema (`opsctl schema`) describes it.
import Foundation
import XCTest

@testable import APITypes

final class DecontaminationRequirementManifestTests: XCTestCase {
    private func train(data: String = "[{dataset: web}]", _ extra: String) -> String {
        trainManifest(data: data, extra)
    }

    private func problems(_ text: String) -> [String] { manifestProblems(text) }

    private let evals = "evalEvery: checkpoint\nevals: [{dataset: heldout}, {path: /data/code-eval}]"

    func testTheSettingDecodesIntoTheTrainSettings() throws {
        let jobs = try ManifestParser.parse(text: train("requireDecontaminated: true\n" + evals), fileName: "t.yaml")
        let settings = try XCTUnwrap(jobs[0].spec.settings).decode(TrainSettings.self)
        XCTAssertEqual(settings.requireDecontaminated, true)
        XCTAssertEqual(problems(train("requireDecontaminated: false")), [], "false asks for nothing")
    }

    func testMistakesNameTheirFieldAndSayWhatToDo() {
        XCTAssertEqual(
            problems(train("requireDecontaminated: yes please\n" + evals)),
            [#"t.yaml:11: spec.train.requireDecontaminated: expected true or false, got "yes please""#])
        XCTAssertEqual(
            problems(train("requireDecontaminated: true")),
            [
                "t.yaml:11: spec.train.requireDecontaminated: requireDecontaminated checks the training data against the evals this job declares, and it declares none: add evals: [{dataset: NAME, batches: 8}] with evalEvery: checkpoint, or remove requireDecontaminated"
            ])
        XCTAssertEqual(
            problems(train(data: "[{dataset: web}, {path: /data/raw}]", "requireDecontaminated: true\n" + evals)),
            [
                "t.yaml:8: spec.train.data[1].path: requireDecontaminated checks how each training dataset was made, which the control plane knows only for a dataset by name: give {dataset: NAME} (registered by a tokenize job with decontaminate), or remove requireDecontaminated"
            ])
    }

    func testTheSchemaDescribesIt() throws {
        let schema = try ManifestSchema.document(kind: "train")
        let train = schema["properties"]?["spec"]?["properties"]?["train"]?["properties"]
        XCTAssertEqual(train?["requireDecontaminated"]?["type"], "boolean")
    }
}

extension DecontaminationRequirementManifestTests {
    func testTheExamplePipelineParses() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("manifests/examples")
        let pipeline = try ManifestParser.parse(
            contentsOfFile: examples.appendingPathComponent("train-decontaminated.yaml").path)
        XCTAssertEqual(pipeline.jobs.map(\.name), ["tokenize-heldout", "tokenize-web-clean", "pretrain-clean"])
        let settings = try XCTUnwrap(pipeline.jobs[2].spec.settings).decode(TrainSettings.self)
        XCTAssertEqual(settings.requireDecontaminated, true)
    }
}
