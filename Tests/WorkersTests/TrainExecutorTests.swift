import APITypes
import ClusterModel
import DataShards
import Engine
import Foundation
import XCTest

@testable import Workers

/// `type: train` / `type: eval` executors in-process on real shards and a real file artifact store.
final class TrainExecutorTests: XCTestCase {
    private var root: URL!
    private var train: URL!
    private var heldOut: URL!

    override func setUpWithError() throws {
        root = temporaryDirectory("train")
        train = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data/train"), name: "train", documents: 120, seed: 1)
        heldOut = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data/heldout"), name: "heldout", documents: 20, seed: 99, shards: 1)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private func settings(
        steps: Int, batch: Int = 8, checkpointEvery: Int? = nil, lr: Double = 3e-3,
        initFrom: CheckpointReference? = nil
    ) -> TrainSettings {
        TrainSettings(
            model: TrainFixtures.tinyModel(), data: [TrainDataSource(path: train.path, weight: 1)], batchSize: batch,
            sequenceLength: 32, steps: steps, optimizer: TrainOptimizerSettings(learningRate: lr, warmupSteps: 5),
            seed: 7, checkpointEvery: checkpointEvery, logEvery: 5,
            eval: TrainEvalSettings(data: [TrainDataSource(path: heldOut.path)], every: 10, batches: 4),
            initFrom: initFrom, threads: 1)
    }

    private func run(
        _ task: TaskAssignment, reports: ReportQueue = ReportQueue(),
        during: ((ExecutionContext) async -> Void)? = nil
    ) async throws -> TaskResult {
        let context = TrainFixtures.context(task, root: root, reports: reports)
        let running = Task { try await TrainExecutor().run(task, context: context) }
        if let during { await during(context) }
        return try await running.value
    }

    func testSingleWorkerLearnsCheckpointsAndReportsMetrics() async throws {
        let reports = ReportQueue()
        let result = try await run(
            try TrainFixtures.assignment(job: "pre", jobID: 1, settings: settings(steps: 40, checkpointEvery: 10)),
            reports: reports)
        let initial = try XCTUnwrap(result.result["initialValLoss"]?.doubleValue)
        let final = try XCTUnwrap(result.result["valLoss"]?.doubleValue)
        XCTAssertGreaterThan(initial, 5.0, "an untrained byte model is near ln 256")
        XCTAssertLessThan(final, initial - 1.5, "validation loss falls")
        XCTAssertEqual(result.result["steps"], 40)
        var artifacts: [ArtifactRecord] = []
        var metrics: [MetricReport] = []
        while let batch = reports.takeBatch(workerID: WorkerID(1)) {
            artifacts += batch.artifacts.map(\.artifact)
            metrics += batch.metrics
            if batch.isEmpty { break }
        }
        XCTAssertEqual(
            artifacts.map(\.name),
            ["checkpoint-step-10", "checkpoint-step-20", "checkpoint-step-30", "checkpoint-step-40"])
        for artifact in artifacts {
            XCTAssertEqual(artifact.kind, "checkpoint")
            XCTAssertEqual(
                try SHA256Hex.of(artifact.location), artifact.sha256, "the registered checksum is the file's")
        }
        let names = Set(metrics.map(\.name))
        XCTAssertTrue(names.isSuperset(of: ["loss", "lr", "grad_norm", "tokens_per_second", "val_loss"]), "\(names)")
        let checkpoint = try Checkpoint(path: artifacts.last!.location)
        XCTAssertEqual(checkpoint.step, 40)
        XCTAssertTrue(checkpoint.hasOptimizerState)
        XCTAssertNotNil(try JSONDecoder().decode(StreamState.self, from: Data(checkpoint.dataState.utf8)).order)
    }

    func testRetriedAttemptResumesFromItsCheckpointWithTheSameDataOrder() async throws {
        let spec = settings(steps: 60, checkpointEvery: 10)
        let uninterrupted = try await run(try TrainFixtures.assignment(job: "whole", jobID: 2, settings: spec))

        let first = try TrainFixtures.assignment(job: "split", jobID: 3, settings: spec, attempt: 1)
        let directory = root.appendingPathComponent("artifacts/training/split-3")
        do {
            _ = try await run(first) { context in
                // The worker "dies" once a checkpoint past step 20 exists.
                while true {
                    let steps = (try? TrainingDirectory(url: directory).checkpoints().map(\.step)) ?? []
                    if (steps.max() ?? 0) >= 20 {
                        context.signalStop(.stale)
                        return
                    }
                    try? await Task.sleep(nanoseconds: 1_000_000)
                }
            }
            XCTFail("the first attempt should have been stopped")
        } catch let stopped as ExecutionStopped {
            XCTAssertEqual(stopped, .stale)
        }
        let second = try await run(try TrainFixtures.assignment(job: "split", jobID: 3, settings: spec, attempt: 2))
        let resumedAt = try XCTUnwrap(second.result["resumedFromStep"]?.intValue)
        XCTAssertGreaterThanOrEqual(resumedAt, 20)
        XCTAssertLessThan(resumedAt, 60)
        // Same data order and bit-exact state (one thread): the same final losses as the uninterrupted run.
        XCTAssertEqual(second.result["finalLoss"], uninterrupted.result["finalLoss"])
        XCTAssertEqual(second.result["valLoss"], uninterrupted.result["valLoss"])
    }

    func testFineTuningStartsAtThePretrainedLoss() async throws {
        let pre = try await run(try TrainFixtures.assignment(job: "pre", jobID: 4, settings: settings(steps: 40)))
        let pretrainedLoss = try XCTUnwrap(pre.result["valLoss"]?.doubleValue)
        let checkpoint = try XCTUnwrap(pre.result["checkpoint"]?.stringValue)
        let tune = try await run(
            try TrainFixtures.assignment(
                job: "tune", jobID: 5,
                settings: settings(steps: 10, lr: 1e-3, initFrom: CheckpointReference(path: checkpoint))))
        let scratch = try await run(
            try TrainFixtures.assignment(job: "scratch", jobID: 6, settings: settings(steps: 10, lr: 1e-3)))
        let tuneStart = try XCTUnwrap(tune.result["initialValLoss"]?.doubleValue)
        let scratchStart = try XCTUnwrap(scratch.result["initialValLoss"]?.doubleValue)
        print(
            "fine-tuning starts at val loss \(tuneStart) (pre-trained \(pretrainedLoss)); from scratch \(scratchStart)")
        XCTAssertEqual(tuneStart, pretrainedLoss, accuracy: 1e-6, "fine-tuning starts from the pre-trained weights")
        XCTAssertLessThan(tuneStart, scratchStart - 1.5)
        XCTAssertLessThanOrEqual(try XCTUnwrap(tune.result["valLoss"]?.doubleValue), pretrainedLoss + 0.05)

        // A checkpoint of another shape is refused with a clear, non-retryable error.
        var other = settings(steps: 5, initFrom: CheckpointReference(path: checkpoint))
        other.model.width = 64
        do {
            _ = try await run(try TrainFixtures.assignment(job: "bad", jobID: 7, settings: other))
            XCTFail("a mismatched checkpoint must be refused")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(failure.message.contains("spec.train.initFrom"), failure.message)
        }
    }

    func testEvalReportsLossPerplexityAndSamples() async throws {
        let pre = try await run(try TrainFixtures.assignment(job: "pre", jobID: 8, settings: settings(steps: 40)))
        let checkpoint = try XCTUnwrap(pre.result["checkpoint"]?.stringValue)
        let eval = EvalSettings(
            checkpoint: CheckpointReference(path: checkpoint), data: [TrainDataSource(path: heldOut.path)],
            sequenceLength: 32, maxTokens: 2048, prompts: ["the cat "], maxNewTokens: 20, temperature: 0)
        let task = try TrainFixtures.assignment(job: "eval", jobID: 9, settings: settings(steps: 1), type: "eval")
        var evalTask = task
        evalTask.spec = try AnyJSON(encoding: eval)
        let result = try await EvalExecutor().run(evalTask, context: TrainFixtures.context(evalTask, root: root))
        let dataset = try XCTUnwrap(result.result["datasets"]?[0])
        let loss = try XCTUnwrap(dataset["loss"]?.doubleValue)
        XCTAssertLessThan(loss, 3.5)
        XCTAssertEqual(try XCTUnwrap(dataset["perplexity"]?.doubleValue), exp(loss), accuracy: 1e-9)
        let completion = try XCTUnwrap(result.result["samples"]?[0]?["completion"]?.stringValue)
        XCTAssertEqual(completion.utf8.count, 20)
        print("eval: loss \(loss); sample \"the cat \(completion)\"")
    }
}

enum SHA256Hex {
    static func of(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
            .first.map(String.init) ?? ""
    }
}
