import APITypes
import ClusterModel
import DataShards
import Foundation
import XCTest

@testable import Workers

/// Issue 20: a checkpoint's metadata carries the run's tokens at it, the same count as the trainer's cumulative
/// `tokens` metric at that step — the two numbers the control plane subtracts for "tokens since the last
/// checkpoint" (docs/scheduler.md, "Checkpoint-aware preemption").
final class CheckpointTokensTests: XCTestCase {
    func testEachCheckpointCarriesTheTokensTheTokensMetricReportsAtItsStep() async throws {
        let root = temporaryDirectory("checkpoint-tokens")
        defer { try? FileManager.default.removeItem(at: root) }
        let train = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data/train"), name: "train", documents: 60, seed: 1)
        let settings = TrainSettings(
            model: TrainFixtures.tinyModel(), data: [TrainDataSource(path: train.path, weight: 1)], batchSize: 4,
            sequenceLength: 32, steps: 20, optimizer: TrainOptimizerSettings(learningRate: 3e-3, warmupSteps: 5),
            seed: 7, checkpointEvery: 10, logEvery: 5, threads: 1)
        let task = try TrainFixtures.assignment(job: "tokens", jobID: 1, settings: settings)
        let reports = ReportQueue()
        _ = try await TrainExecutor().run(task, context: TrainFixtures.context(task, root: root, reports: reports))
        var artifacts: [ArtifactRecord] = []
        var tokensAtStep: [Int64: Double] = [:]
        while let batch = reports.takeBatch(workerID: WorkerID(1)) {
            artifacts += batch.artifacts.map(\.artifact)
            for point in batch.metrics where point.name == "tokens" { tokensAtStep[point.step] = point.value }
            if batch.isEmpty { break }
        }
        XCTAssertEqual(artifacts.map(\.name), ["checkpoint-step-10", "checkpoint-step-20"])
        for artifact in artifacts {
            let step = try XCTUnwrap(artifact.metadata?["step"]?.intValue)
            let reported = try XCTUnwrap(tokensAtStep[step], "the tokens metric at step \(step)")
            XCTAssertEqual(artifact.metadata?["tokens"], .int(Int64(reported)), artifact.name)
            XCTAssertEqual(reported, Double(step * 4 * 32), "batch 4 × sequence 32 tokens per step")
        }
    }
}
