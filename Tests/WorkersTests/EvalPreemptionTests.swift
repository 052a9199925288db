// A preempted eval stops before its next batch (docs/training.md, "Evals on every checkpoint"): per-checkpoint
// evals are backfill that any train task may preempt, and an eval has nothing to checkpoint, so it hands its room
// back at once instead of running on until the grace deadline cancels it (before: it ran to the end).
import APITypes
import Foundation
import XCTest

@testable import Workers

final class EvalPreemptionTests: XCTestCase {
    func testAPreemptedEvalStopsAtOnceAndAnUnpreemptedOneRunsToTheEnd() async throws {
        let root = temporaryDirectory("eval-preemption")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data"), name: "d", documents: 40, seed: 3, shards: 1)
        let settings = TrainSettings(
            model: TrainFixtures.tinyModel(), data: [TrainDataSource(path: data.path, weight: 1)], batchSize: 4,
            sequenceLength: 32, steps: 1, seed: 1, threads: 1)
        let train = try TrainFixtures.assignment(job: "pre", jobID: 1, settings: settings)
        let trained = try await TrainExecutor().run(train, context: TrainFixtures.context(train, root: root))
        let checkpoint = try XCTUnwrap(trained.result["checkpoint"]?.stringValue)
        var task = try TrainFixtures.assignment(job: "pre.eval-step-1.artifact-1", jobID: 2, settings: settings)
        task.jobType = "eval"
        task.spec = try AnyJSON(
            encoding: EvalSettings(
                checkpoint: CheckpointReference(path: checkpoint), data: [TrainDataSource(path: data.path)],
                sequenceLength: 32, batchSize: 4, maxTokens: 4096))

        let preempted = TrainFixtures.context(task, root: root)
        preempted.signalPreemption(
            PreemptionRequest(deadline: Date().addingTimeInterval(3600), reason: "a train task needs the room"))
        do {
            _ = try await EvalExecutor().run(task, context: preempted)
            XCTFail("a preempted eval must stop, not run to the end")
        } catch let stopped as ExecutionStopped {
            XCTAssertEqual(stopped, .preempted(reason: "a train task needs the room"))
        }

        let result = try await EvalExecutor().run(task, context: TrainFixtures.context(task, root: root))
        XCTAssertNotNil(result.result["datasets"]?[0]?["loss"]?.doubleValue, "\(result.result)")
    }
}
