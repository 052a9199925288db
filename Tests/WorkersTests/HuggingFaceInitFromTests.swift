// Fine-tuning from a Hugging Face GPT-2 directory (`spec.train.initFrom: {huggingFace: DIR}`): a pre-trained
// checkpoint is exported, the export is imported by a train task on real shards, and the run starts at the
// pre-trained model's validation loss rather than at an untrained model's.

import APITypes
import Engine
import Foundation
import XCTest

@testable import Workers

final class HuggingFaceInitFromTests: XCTestCase {
    private var root: URL!
    private var train: URL!
    private var heldOut: URL!

    override func setUpWithError() throws {
        root = temporaryDirectory("hf-init")
        train = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data/train"), name: "train", documents: 120, seed: 1)
        heldOut = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data/heldout"), name: "heldout", documents: 20, seed: 99, shards: 1)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private func settings(steps: Int, lr: Double = 3e-3, initFrom: CheckpointReference? = nil) -> TrainSettings {
        TrainSettings(
            model: TrainFixtures.tinyModel(), data: [TrainDataSource(path: train.path, weight: 1)], batchSize: 8,
            sequenceLength: 32, steps: steps, optimizer: TrainOptimizerSettings(learningRate: lr, warmupSteps: 5),
            seed: 7, logEvery: 5,
            eval: TrainEvalSettings(data: [TrainDataSource(path: heldOut.path)], every: 10, batches: 4),
            initFrom: initFrom, threads: 1)
    }

    private func run(_ job: String, _ jobID: Int64, _ settings: TrainSettings) async throws -> TaskResult {
        let task = try TrainFixtures.assignment(job: job, jobID: jobID, settings: settings)
        return try await TrainExecutor().run(task, context: TrainFixtures.context(task, root: root))
    }

    func testFineTuningFromAnExportStartsAtTheExportedModelsLoss() async throws {
        let pre = try await run("pre", 1, settings(steps: 40))
        let pretrainedLoss = try XCTUnwrap(pre.result["valLoss"]?.doubleValue)
        let checkpoint = try XCTUnwrap(pre.result["checkpoint"]?.stringValue)
        let exported = root.appendingPathComponent("gpt2-export")
        _ = try HuggingFaceExport.export(
            checkpointPath: checkpoint, location: checkpoint, tokenizerPath: nil, to: exported.path, force: false)

        // The imported model computes what the exported one does.
        let original = try Checkpoint(path: checkpoint).loadModel()
        let imported = try HuggingFaceGPT2.loadModel(directory: exported.path)
        let context: [Int32] = Array("the cat sat".utf8).map { Int32($0) }
        XCTAssertEqual(try imported.nextTokenLogits(context: context), try original.nextTokenLogits(context: context))

        let tune = try await run(
            "tune", 2, settings(steps: 10, lr: 1e-3, initFrom: CheckpointReference(huggingFace: exported.path)))
        let scratch = try await run("scratch", 3, settings(steps: 10, lr: 1e-3))
        let tuneStart = try XCTUnwrap(tune.result["initialValLoss"]?.doubleValue)
        let scratchStart = try XCTUnwrap(scratch.result["initialValLoss"]?.doubleValue)
        print(
            "fine-tuning from the export starts at val loss \(tuneStart) (exported \(pretrainedLoss)); scratch \(scratchStart)"
        )
        XCTAssertEqual(tuneStart, pretrainedLoss, accuracy: 1e-6, "fine-tuning starts from the exported weights")
        XCTAssertLessThan(tuneStart, scratchStart - 1.5)
        XCTAssertEqual(tune.result["initializedFrom"]?.stringValue, exported.path)

        // A directory of another shape, or none, is refused with the field named and not retried.
        var other = settings(steps: 5, initFrom: CheckpointReference(huggingFace: exported.path))
        other.model.width = 64
        for (jobID, spec) in [
            (Int64(4), other), (5, settings(steps: 5, initFrom: CheckpointReference(huggingFace: root.path + "/none"))),
        ] {
            do {
                _ = try await run("bad", jobID, spec)
                XCTFail("a directory that does not fit must be refused")
            } catch let failure as TaskFailure {
                XCTAssertFalse(failure.retryable)
                XCTAssertTrue(failure.message.contains("spec.train.initFrom.huggingFace"), failure.message)
            }
        }
    }
}
