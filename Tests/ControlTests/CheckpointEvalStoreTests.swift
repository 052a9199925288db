// Evals on every checkpoint, in the store (issue 20; docs/training.md): registering a checkpoint of a train job
// with `evalEvery: checkpoint` creates its eval job in the same transaction, once per checkpoint however often
// the registration is repeated (a retried report batch, a retried attempt registering its final checkpoint
// again); the eval job is backfill, placed only by the scheduler, one task per eval dataset on the checkpoint's
// stored location. Jobs without `evalEvery`, artifacts that are no checkpoint, and checkpoints without a step
// get none.

import APITypes
import ClusterModel
import Foundation
import Postgres
import XCTest

@testable import Control

final class CheckpointEvalStoreTests: StoreTestCase {
    private let sha = String(repeating: "ab", count: 32)

    private func trainJob(_ name: String, evalEvery: Bool) throws -> (JobID, TaskID) {
        var settings = TrainSettings(
            model: TrainModelSettings(vocabularySize: 256, contextLength: 32, layers: 1, heads: 2, width: 32),
            data: [TrainDataSource(path: "/data/train")], batchSize: 4, sequenceLength: 16, steps: 12, seed: 7)
        if evalEvery {
            settings.evalEvery = .checkpoint
            settings.evals = [
                CheckpointEvalSource(path: "/data/heldout", batches: 2),
                CheckpointEvalSource(dataset: "code", batches: 3, location: "/data/code"),
            ]
        }
        let spec = String(decoding: try WireCoding.encode(settings), as: UTF8.self)
        let id = try jobs.submit(
            NewJob(
                name: name, type: TrainJobKinds.trainName, queue: "research", priority: 5,
                resources: Resources(cpuMillis: 2000, memoryBytes: 1 << 30), tasks: [NewTask(spec: spec)])
        ).id
        return (id, try jobs.tasks(of: id)[0].id)
    }

    private func checkpoint(_ job: JobID, _ task: TaskID, step: Int?, kind: String = "checkpoint") -> NewArtifact {
        let metadata: String
        if let step {
            metadata = #"{"step": \#(step), "streamState": {"epoch": 0, "position": \#(step * 4)}}"#
        } else {
            metadata = "{}"
        }
        return NewArtifact(
            job: job, task: task, name: "\(kind)-step-\(step ?? 0)", kind: kind, location: "/ckpt/\(step ?? 0)",
            sha256: sha, bytes: 10, metadata: metadata)
    }

    private func evalJobs() throws -> Int { try sqlInt("SELECT count(*) FROM jobs WHERE type = 'eval'") }

    func testEachCheckpointGetsOneBackfillEvalJobHoweverOftenItIsRegistered() throws {
        let (job, task) = try trainJob("pre", evalEvery: true)
        let artifacts = ArtifactCatalog(pool: pool)
        let first = try artifacts.register(checkpoint(job, task, step: 4))
        try artifacts.register(checkpoint(job, task, step: 4))
        try artifacts.register(checkpoint(job, task, step: 4))
        XCTAssertEqual(try evalJobs(), 1, "one eval job for one checkpoint registered three times")
        try artifacts.register(checkpoint(job, task, step: 8))
        XCTAssertEqual(try evalJobs(), 2)

        let evals = try CheckpointEvalStore(pool: pool).list(trainJob: job)
        XCTAssertEqual(evals.map(\.step), [4, 8])
        XCTAssertEqual(evals.map(\.checkpointName), ["checkpoint-step-4", "checkpoint-step-8"])
        XCTAssertEqual(evals[0].checkpoint, first.id)
        XCTAssertEqual(evals.map(\.tokensConsumed), [4 * 4 * 16, 8 * 4 * 16], "steps x batch x sequence")
        XCTAssertEqual(evals.map(\.evalState), [.pending, .pending])
        XCTAssertEqual(evals[0].evalJobName, "pre.eval-step-4.artifact-\(first.id.rawValue)")
        XCTAssertTrue(evals[0].streamState?.contains(#""position": 16"#) ?? false, "\(evals[0])")
        XCTAssertEqual(evals[0].results, [:], "nothing measured yet")

        let evalJob = try XCTUnwrap(try jobs.job(evals[0].evalJob))
        XCTAssertEqual(evalJob.type, "eval")
        XCTAssertEqual(evalJob.priority, BackfillPriority.value)
        XCTAssertEqual(evalJob.queue, "research", "the train job's queue")
        XCTAssertEqual(evalJob.resources, Resources(cpuMillis: 2000, memoryBytes: 1 << 30))
        let tasks = try jobs.tasks(of: evalJob.id)
        XCTAssertEqual(tasks.map(\.state), [.queued, .queued], "one task per eval dataset")
        let specs = try tasks.map { try WireCoding.decode(EvalSettings.self, from: Data($0.spec.utf8)) }
        XCTAssertEqual(specs.map(\.checkpoint.location), ["/ckpt/4", "/ckpt/4"])
        XCTAssertEqual(specs.map(\.checkpoint.sha256), [sha, sha])
        XCTAssertEqual(specs.map { $0.data.map(\.displayName) }, [["/data/heldout"], ["code"]])
        XCTAssertEqual(specs.map { $0.data[0].resolvedLocation }, ["/data/heldout", "/data/code"])
        XCTAssertEqual(specs.map(\.maxTokens), [2 * 4 * 16, 3 * 4 * 16], "batches x batchSize x sequenceLength")
        XCTAssertEqual(specs.map(\.seed), [7, 7])
        XCTAssertEqual(
            try sqlInt(
                "SELECT count(*) FROM tasks WHERE job_id = $1 AND reads_remote AND priority = $2",
                [.int(evalJob.id.rawValue), .int(Int64(BackfillPriority.value))]), 2,
            "off the claim's fast path, at backfill priority")
        // The stored manifest reads back as a job manifest.
        XCTAssertNoThrow(try WireCoding.decode(AnyJSON.self, from: Data(evalJob.spec.utf8)))
    }

    func testNoEvalWithoutEvalEveryForOtherArtifactsOrWithoutAStep() throws {
        let (plain, plainTask) = try trainJob("plain", evalEvery: false)
        try ArtifactCatalog(pool: pool).register(checkpoint(plain, plainTask, step: 4))
        let (job, task) = try trainJob("pre", evalEvery: true)
        try ArtifactCatalog(pool: pool).register(checkpoint(job, task, step: 4, kind: "tokenizer"))
        try ArtifactCatalog(pool: pool).register(checkpoint(job, task, step: nil))
        XCTAssertEqual(try evalJobs(), 0)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM checkpoint_evals"), 0)
    }

    func testAnEvalAttemptsLossIsCopiedIntoTheTrainJobAtTheCheckpointsStep() throws {
        let (job, task) = try trainJob("pre", evalEvery: true)
        try ArtifactCatalog(pool: pool).register(checkpoint(job, task, step: 8))
        let eval = try XCTUnwrap(try CheckpointEvalStore(pool: pool).list(trainJob: job).first)
        let worker = try worker()
        // The scheduler places backfill; here the test places the eval's first task on the worker itself.
        try pool.withConnection {
            try $0.execute(
                "UPDATE tasks SET placed_worker_id = $2 WHERE job_id = $1 AND task_index = 0",
                [.int(eval.evalJob.rawValue), .int(worker.rawValue)])
        }
        // The train task (priority 5) is claimed beside it; the eval's second task is left to the scheduler.
        let claimed = try leases.claimNext(for: worker, limit: 4)
        XCTAssertEqual(claimed.count, 2, "\(claimed)")
        let lease = try XCTUnwrap(claimed.first { $0.job == eval.evalJob })
        let points = [
            MetricPoint(name: "loss//data/heldout", step: 0, value: 2.5),
            MetricPoint(name: "perplexity//data/heldout", step: 0, value: 12.2),
            MetricPoint(name: "tokens", step: 0, value: 128),
        ]
        XCTAssertEqual(try MetricStore(pool: pool).append(attempt: lease.attempt, points: points), 3)
        XCTAssertEqual(try MetricStore(pool: pool).append(attempt: lease.attempt, points: points), 0, "a repeat")
        let copied = try MetricStore(pool: pool).list(job: job)
        XCTAssertEqual(copied.map(\.name), ["eval_loss//data/heldout", "eval_perplexity//data/heldout"])
        XCTAssertEqual(copied.map(\.step), [8, 8], "at the checkpoint's step")
        XCTAssertEqual(copied.map(\.value), [2.5, 12.2])
        XCTAssertEqual(
            try CheckpointEvalStore(pool: pool).list(trainJob: job).first?.results,
            ["eval_loss//data/heldout": 2.5, "eval_perplexity//data/heldout": 12.2])
    }
}
