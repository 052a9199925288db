import APITypes
import ClusterModel
import Foundation
import Postgres
import Scheduler
import XCTest

@testable import Control

/// Issue 20 against a real PostgreSQL: a train attempt's `tokens` metric and checkpoint artifacts reach the
/// scheduling snapshot as tokens since the last checkpoint; a preemption records what it lost (attempt, event,
/// the task view `describe job` prints, the `/metrics` counter); the tokens a queue consumed today reach the
/// snapshot and stop its new train work once over `tokensPerDay`, with the scheduler's reason stored.
final class TrainingTokenStoreTests: StoreTestCase {
    private func report(_ batch: ReportBatch) throws {
        let outcome = try ReportBatchApplier(pool: pool).apply(batch)
        XCTAssertFalse(outcome.everyAttemptStale, "\(outcome.response)")
    }

    private func tokens(_ lease: TaskLease, step: Int64, _ value: Double) -> MetricReport {
        MetricReport(
            taskID: lease.task, attemptID: lease.attempt, name: "tokens", step: step, value: value, time: Date())
    }

    private func checkpoint(_ lease: TaskLease, step: Int64, tokens: Int64) -> ArtifactReport {
        ArtifactReport(
            taskID: lease.task, attemptID: lease.attempt,
            artifact: ArtifactRecord(
                name: "checkpoint-step-\(step)", location: "/tmp/ckpt-\(step)",
                sha256: String(repeating: "a", count: 64),
                bytes: 10, kind: "checkpoint", metadata: ["step": .int(step), "tokens": .int(tokens)]))
    }

    private func snapshot() throws -> ClusterSnapshot {
        try pool.withConnection { try SchedulingStore.snapshot($0, previousReservations: []) }
    }

    func testTokensSinceCheckpointReachTheSnapshotAndAPreemptionRecordsWhatItLost() throws {
        let w = try worker()
        let job = try jobs.submit(
            NewJob(name: "train-a", type: "train", queue: "lab", resources: Resources(cpuMillis: 1000)))
        let first = try XCTUnwrap(leases.claimNext(for: w).first)

        // 1,000 tokens, a checkpoint at 600 (its metadata), then 1,500: 900 since the checkpoint.
        try report(
            ReportBatch(
                workerID: w, metrics: [tokens(first, step: 10, 1_000)],
                artifacts: [checkpoint(first, step: 6, tokens: 600)]))
        try report(ReportBatch(workerID: w, metrics: [tokens(first, step: 15, 1_500)]))
        let running = try XCTUnwrap(try snapshot().allocations.first { $0.task == first.task })
        XCTAssertEqual(running.tokensSinceCheckpoint, 900)
        XCTAssertNotNil(running.lastCheckpointAt, "the checkpoint's registration time")

        // The worker hands the task back after a preempt signal: 900 tokens are recomputed.
        try report(
            ReportBatch(
                workerID: w,
                failures: [
                    FailureReport(
                        taskID: first.task, attemptID: first.attempt, message: "preempted for job x", retryable: true,
                        reason: .preempted)
                ]))
        let attempts = try jobs.attempts(of: first.task)
        XCTAssertEqual(attempts.map(\.state), [.preempted])
        XCTAssertEqual(attempts.first?.tokensLost, 900)
        let view = TaskView(try XCTUnwrap(try jobs.task(first.task)), jobName: "train-a", attempts: attempts)
        XCTAssertEqual(view.attempts.first?.tokensLost, 900, "the API's task view carries it to describe job")
        let reasons = try events.list(job: job.id).map(\.reason)
        XCTAssertTrue(
            reasons.contains { $0.contains("900 tokens since the last checkpoint will be recomputed") }, "\(reasons)")

        // The next attempt resumes from the checkpoint (600): its first report of 700 consumed 100 more.
        let second = try XCTUnwrap(leases.claimNext(for: w).first)
        XCTAssertEqual(second.task, first.task)
        try report(ReportBatch(workerID: w, metrics: [tokens(second, step: 7, 700)]))
        XCTAssertEqual(try snapshot().allocations.first { $0.task == second.task }?.tokensSinceCheckpoint, 100)
        XCTAssertEqual(try snapshot().tokensConsumedToday, ["lab": 1_600], "1,500 + 100: recomputed tokens count")

        let families = try pool.withConnection { try ClusterGauges.tokenFamilies($0) }
        let lost = try XCTUnwrap(families.first { $0.name == "llmops_preemption_tokens_lost" })
        guard case .counter(let series) = lost.points else { return XCTFail("a counter: \(lost.points)") }
        XCTAssertEqual(series, [MetricSeries(labels: ["lab"], value: 900)])
    }

    func testAQueueOverItsTokensPerDayAdmitsNoNewTrainWorkAndSaysWhy() throws {
        let w = try worker()
        _ = try jobs.submit(NewJob(name: "train-a", type: "train", queue: "lab", resources: Resources(cpuMillis: 1000)))
        let lease = try XCTUnwrap(leases.claimNext(for: w).first)
        try report(ReportBatch(workerID: w, metrics: [tokens(lease, step: 20, 2_000)]))

        // The queue gets a quota of 1,500 tokens a day, already used up; then a second train job and a sleep job.
        try QueueStore(pool: pool).upsert([QueueSpec(name: "lab", tokensPerDay: 1_500)])
        XCTAssertEqual(try QueueStore(pool: pool).queue(named: "lab")?.configuration.tokensPerDay, 1_500)
        let train = try jobs.submit(
            NewJob(name: "train-b", type: "train", queue: "lab", resources: Resources(cpuMillis: 1000)))
        let sleep = try jobs.submit(
            NewJob(name: "sleep-b", type: "sleep", queue: "lab", resources: Resources(cpuMillis: 1000)))

        let snap = try snapshot()
        XCTAssertEqual(snap.tokensConsumedToday["lab"], 2_000)
        XCTAssertEqual(snap.pendingJobs.first { $0.id == train.id }?.trainsTokens, true)
        XCTAssertEqual(snap.pendingJobs.first { $0.id == sleep.id }?.trainsTokens, false)
        let decisions = Scheduler().schedule(snap)
        XCTAssertEqual(decisions.placements.map(\.job), [sleep.id], "other kinds of work are not limited")
        let expected =
            "queue lab has used its quota of 1500 training tokens per day (2000 consumed today); new train work waits for the next day"
        XCTAssertEqual(decisions.pendingReason(for: train.id)?.text, expected)
        _ = try pool.withConnection { try SchedulingStore.commit(decisions, $0) }
        XCTAssertEqual(try jobs.job(train.id)?.pendingReason, expected)
    }
}
