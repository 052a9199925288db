import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Engine
@testable import Workers

/// Issue 22.5 on the worker: a crafted or NaN checkpoint fails the attempt for good (it crashed the worker, or
/// loaded silently), a diverging run stops with a failure that says what to change, and no NaN ever reaches a
/// report batch (one made the batch unencodable: the task ended as "lease expired").
final class NonFiniteAndBadCheckpointTests: XCTestCase {
    private var root: URL!
    private var train: URL!

    override func setUpWithError() throws {
        root = temporaryDirectory("nonfinite")
        train = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data/train"), name: "train", documents: 60, seed: 1)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private func settings(lr: Double = 3e-3, initFrom: CheckpointReference? = nil) -> TrainSettings {
        TrainSettings(
            model: TrainFixtures.tinyModel(), data: [TrainDataSource(path: train.path, weight: 1)], batchSize: 4,
            sequenceLength: 32, steps: 30,
            optimizer: TrainOptimizerSettings(learningRate: lr, warmupSteps: 0, weightDecay: 0, gradientClip: 0),
            seed: 7, logEvery: 1, initFrom: initFrom, threads: 1)
    }

    private var config: GPTConfig {
        let m = TrainFixtures.tinyModel()
        return GPTConfig(
            vocabularySize: m.vocabularySize, contextLength: m.contextLength, layers: m.layers, heads: m.heads,
            width: m.width)
    }

    /// Runs an eval of `checkpoint`; returns the failure it must end with.
    private func evalFailure(_ checkpoint: String) async throws -> TaskFailure {
        var task = try TrainFixtures.assignment(job: "eval", jobID: 21, settings: settings(), type: "eval")
        task.spec = try AnyJSON(
            encoding: EvalSettings(
                checkpoint: CheckpointReference(path: checkpoint),
                data: [TrainDataSource(path: train.path)], sequenceLength: 32, maxTokens: 256))
        do {
            _ = try await EvalExecutor().run(task, context: TrainFixtures.context(task, root: root))
        } catch let failure as TaskFailure {
            return failure
        }
        XCTFail("eval of \(checkpoint) succeeded")
        return TaskFailure("")
    }

    func testCraftedCheckpointFailsTheEvalForGood() async throws {
        // The header of the report: a shape whose element count overflows Int64 (it trapped the worker).
        let header =
            #"{"tok_emb.weight": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 16]}}"#
        var length = UInt64(header.utf8.count).littleEndian
        var bytes = Data(bytes: &length, count: 8)
        bytes.append(Data(header.utf8))
        bytes.append(Data(count: 16))
        let path = root.appendingPathComponent("crafted.safetensors").path
        try bytes.write(to: URL(fileURLWithPath: path))
        let failure = try await evalFailure(path)
        XCTAssertFalse(failure.retryable)
        XCTAssertTrue(failure.message.contains("spec.eval.checkpoint"), failure.message)
        XCTAssertTrue(failure.message.contains(path) && failure.message.contains("tok_emb.weight"), failure.message)
        XCTAssertTrue(failure.message.contains("overflows"), failure.message)
    }

    func testNaNWeightsFailEvalAndInitFromNamingTheTensor() async throws {
        let model = try GPTModel(config: config, seed: 3)
        let slot = model.tensors.first { $0.name == "ln_f.weight" }!
        model.parameters[slot.offset + 1] = .nan
        let path = root.appendingPathComponent("nan.safetensors").path
        try model.save(to: path)

        let eval = try await evalFailure(path)
        XCTAssertFalse(eval.retryable)
        XCTAssertTrue(eval.message.contains("ln_f.weight") && eval.message.contains("non-finite"), eval.message)

        let task = try TrainFixtures.assignment(
            job: "tune", jobID: 22, settings: settings(initFrom: CheckpointReference(path: path)))
        do {
            _ = try await TrainExecutor().run(task, context: TrainFixtures.context(task, root: root))
            XCTFail("initFrom a NaN checkpoint must fail")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(failure.message.contains("ln_f.weight") && failure.message.contains(path), failure.message)
        }
    }

    func testDivergingRunStopsWithAFailureThatSaysWhatToChange() async throws {
        let reports = ReportQueue()
        let task = try TrainFixtures.assignment(job: "hot", jobID: 23, settings: settings(lr: 1e30))
        do {
            _ = try await TrainExecutor().run(task, context: TrainFixtures.context(task, root: root, reports: reports))
            XCTFail("a learning rate of 1e30 must diverge")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(failure.message.contains("loss became"), failure.message)
            XCTAssertTrue(failure.message.contains("spec.train.optimizer.learningRate (1e+30 now)"), failure.message)
            XCTAssertNotNil(failure.message.range(of: #"at step \d+"#, options: .regularExpression), failure.message)
        }
        // Everything reported before the failure encodes: no NaN metric was queued.
        while let batch = reports.takeBatch(workerID: WorkerID(1)) {
            XCTAssertNoThrow(try WireCoding.encode(batch))
            XCTAssertTrue(batch.metrics.allSatisfy { $0.value.isFinite })
        }
    }

    func testNonFiniteMetricsAndResultsNeverReachAReportBatch() async throws {
        let reports = ReportQueue()
        let task = try TrainFixtures.assignment(job: "m", jobID: 24, settings: settings())
        let context = TrainFixtures.context(task, root: root, reports: reports)
        context.metric("loss", step: 3, value: .nan)
        context.metric("grad_norm", step: 3, value: .infinity)
        context.metric("lr", step: 3, value: 1e-3)
        let batch = try XCTUnwrap(reports.takeBatch(workerID: WorkerID(1)))
        XCTAssertEqual(batch.metrics.map(\.name), ["lr"])
        XCTAssertTrue(batch.logs.contains { $0.message.contains("metric loss at step 3 is nan") }, "\(batch.logs)")
        XCTAssertNoThrow(try WireCoding.encode(batch))

        // A result with a NaN in it becomes a non-retryable failure naming where, instead of a lost batch.
        struct NaNResult: JobExecutor {
            func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
                TaskResult(result: ["datasets": [["loss": .double(.nan)]], "steps": .int(3)])
            }
        }
        let outcome = await WorkerDaemon.execute(
            task, executor: NaNResult(), knownKinds: ["train"], workerName: "w",
            context: context, logLifecycle: false)
        guard case .failed(let report) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertFalse(report.retryable)
        XCTAssertTrue(report.message.contains("result.datasets[0].loss"), report.message)
        XCTAssertNoThrow(try WireCoding.encode(ReportBatch(workerID: WorkerID(1), failures: [report])))
    }
}
