import APITypes
import Foundation
import XCTest

@testable import Workers

/// The `train` / `eval` manifest validators: the examples parse, and specs that cannot work are refused
/// with messages naming the field (before anything reaches the control plane).
final class TrainSpecValidationTests: XCTestCase {
    private static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests/examples")

    func testExamplesParseAndDecodeIntoTheExecutorsSettings() throws {
        let single = try ManifestParser.parse(contentsOfFile: Self.examples.appendingPathComponent("train.yaml").path)
        XCTAssertEqual(single.jobs.map(\.spec.type), ["train", "eval", "train"])
        let settings = try XCTUnwrap(single.jobs[0].spec.settings).decode(TrainSettings.self)
        XCTAssertEqual(settings.data.map(\.dataset), ["web", "code"])
        XCTAssertEqual(settings.totalSteps(replicas: 1), 20_000_000 / (16 * 128 * 2))
        XCTAssertEqual(
            try XCTUnwrap(single.jobs[1].spec.settings).decode(EvalSettings.self).checkpoint.job, "pretrain-small")
        let gang = try ManifestParser.parse(
            contentsOfFile: Self.examples.appendingPathComponent("train-diloco.yaml").path)
        XCTAssertEqual(gang.jobs[0].spec.replicas, 2)
        XCTAssertEqual(try XCTUnwrap(gang.jobs[0].spec.settings).decode(TrainSettings.self).diloco?.innerSteps, 4)
    }

    private func problems(_ train: String, type: String = "train") -> [String] {
        let text = """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: t}
            spec:
              type: \(type)
              \(type): \(train)
            """
        do {
            _ = try ManifestParser.parse(text: text, fileName: "t.yaml")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    func testSpecsThatCannotWorkAreRefusedNamingTheField() {
        let model = "{vocabularySize: 256, contextLength: 32, layers: 1, heads: 3, width: 32}"
        let found = problems(
            "{model: \(model), data: [{dataset: a, path: /b}], batchSize: 0, sequenceLength: 64, steps: 5, tokens: 9}")
        XCTAssertTrue(
            found.contains { $0.contains("spec.train.model.width: expected a multiple of heads (3), got 32") },
            "\(found)")
        XCTAssertTrue(found.contains { $0.contains("spec.train.data[0]: expected exactly one of dataset") }, "\(found)")
        XCTAssertTrue(found.contains { $0.contains("spec.train.batchSize: expected an integer") }, "\(found)")
        XCTAssertTrue(
            found.contains {
                $0.contains("spec.train.sequenceLength: expected at most model.contextLength (32), got 64")
            }, "\(found)")
        XCTAssertTrue(found.contains { $0.contains("spec.train.tokens: give either steps or tokens") }, "\(found)")
        let budget = problems(
            "{model: {vocabularySize: 256, contextLength: 32, layers: 1, heads: 2, width: 32}, data: [{path: /d}], batchSize: 2}"
        )
        XCTAssertTrue(budget.contains { $0.contains("steps or tokens") }, "\(budget)")
        let eval = problems("{checkpoint: {job: a, path: /x}}", type: "eval")
        XCTAssertTrue(eval.contains { $0.contains("spec.eval.checkpoint: expected exactly one of job") }, "\(eval)")
        XCTAssertTrue(eval.contains { $0.contains("nothing to do") }, "\(eval)")
        let diloco = problems(
            "{model: {vocabularySize: 256, contextLength: 32, layers: 1, heads: 2, width: 32}, data: [{path: /d}], batchSize: 2, steps: 4, diloco: {transfer: fp8}}"
        )
        XCTAssertTrue(
            diloco.contains {
                $0.contains("spec.train.diloco.transfer: expected one of \"sign\", \"int4\", \"bf16\", \"fp32\"")
            }, "\(diloco)")
    }

    /// `initFrom: {huggingFace: DIR}` (docs/export.md): an absolute directory, alone; eval's checkpoint has no such key.
    func testHuggingFaceInitFromIsOneAbsoluteDirectoryAndOnlyForTrain() throws {
        let base =
            "{model: {vocabularySize: 256, contextLength: 32, layers: 1, heads: 2, width: 32}, data: [{path: /d}], batchSize: 2, steps: 4"
        XCTAssertEqual(problems(base + ", initFrom: {huggingFace: /models/gpt2-out}}"), [])
        let relative = problems(base + ", initFrom: {huggingFace: gpt2-out}}")
        XCTAssertTrue(
            relative.contains { $0.contains("spec.train.initFrom.huggingFace: expected an absolute path") },
            "\(relative)")
        let both = problems(base + ", initFrom: {huggingFace: /m, job: pre}}")
        XCTAssertTrue(
            both.contains {
                $0.contains("spec.train.initFrom: expected exactly one of job") && $0.contains("huggingFace")
            },
            "\(both)")
        let eval = problems("{checkpoint: {huggingFace: /m}, prompts: [a]}", type: "eval")
        XCTAssertTrue(eval.contains { $0.contains("spec.eval.checkpoint") && $0.contains("huggingFace") }, "\(eval)")
        let text = """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: t}
            spec:
              type: train
              train: \(base + ", initFrom: {huggingFace: /models/gpt2-out}}")
            """
        let job = try XCTUnwrap(try ManifestParser.parse(text: text, fileName: "t.yaml").first)
        let settings = try XCTUnwrap(job.spec.settings).decode(TrainSettings.self)
        XCTAssertEqual(settings.initFrom, CheckpointReference(huggingFace: "/models/gpt2-out"))
    }
}
