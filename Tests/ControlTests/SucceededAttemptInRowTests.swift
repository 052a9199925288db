// Migration 32 (issue 15; docs/leases.md, "The attempt that succeeds, and a completion the claim flushes"): a
// completion leaves the attempt that succeeds in its task row instead of writing an `attempts_ended` row.
// Everything that reads attempts must still see it, by task and by attempt id: the task's history, a log line or
// metric sent after the completion, a second report of the same outcome, and a preemption that comes too late.
import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

final class SucceededAttemptInRowTests: StoreTestCase {
    func testASucceededAttemptWritesNoRowOfItsOwnAndReadsAsBefore() throws {
        let w = try worker()
        let job = try jobs.submit(NewJob(name: "j", type: "shell", tasks: (0..<2).map { _ in NewTask(spec: "{}") }))
        let claimed = try leases.claimNext(for: w, limit: 2, leaseDurationSeconds: 30)
        XCTAssertEqual(claimed.count, 2)
        // The first completion finishes no job (one statement, `completeUnlessFinishing`); the second finishes it
        // (`complete`, in a transaction). Both keep the attempt in the task row.
        for lease in claimed { try leases.complete(attempt: lease.attempt, by: w, result: "{}") }
        XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded)
        XCTAssertEqual(try sqlInt("SELECT count(*)::int AS n FROM attempts_ended"), 0, "no row of their own")

        for lease in claimed {
            let attempts = try jobs.attempts(of: lease.task)
            XCTAssertEqual(attempts.count, 1)
            let attempt = try XCTUnwrap(attempts.first)
            XCTAssertEqual(attempt.id, lease.attempt)
            XCTAssertEqual(attempt.state, .succeeded)
            XCTAssertEqual(attempt.worker, w)
            XCTAssertEqual(attempt.workerName, "w1")
            XCTAssertEqual(attempt.number, 1)
            let finished = try XCTUnwrap(attempt.finishedAt)
            XCTAssertGreaterThanOrEqual(finished, attempt.startedAt)
            XCTAssertEqual(try jobs.task(lease.task)?.activeAttempt, nil, "no live attempt on a finished task")
        }
        // Found by attempt id: a log line flushed after the completion is kept, from its worker only.
        let logs = TaskLogStore(pool: pool)
        XCTAssertEqual(try logs.append(attempt: claimed[0].attempt, by: w, lines: [LogLine(seq: 1, line: "bye")]), 1)
        let other = try worker("w2")
        XCTAssertThrowsError(
            try logs.append(attempt: claimed[0].attempt, by: other, lines: [LogLine(seq: 2, line: "x")]))
        // A report repeated after the completion is answered from the task row, and a late preemption is refused
        // as stale, naming the state the attempt ended in.
        let again = try leases.complete([AttemptCompletion(attempt: claimed[1].attempt, result: "{}")], by: w)
        XCTAssertEqual(again[claimed[1].attempt], .alreadyApplied)
        XCTAssertThrowsError(try PlacementStore(pool: pool).preempt(attempt: claimed[1].attempt, reason: "late")) {
            XCTAssertEqual("\($0)", "\(StoreError.staleAttempt(claimed[1].attempt, state: "succeeded"))")
        }
    }

    func testARetriedTaskShowsItsFailedAttemptsRowAndThenTheOneThatSucceeded() throws {
        let w = try worker()
        let job = try jobs.submit(NewJob(name: "retried", type: "shell", tasks: [NewTask(spec: "{}")]))
        let first = try XCTUnwrap(try leases.claimNext(for: w, limit: 1).first)
        try leases.fail(attempt: first.attempt, by: w, error: "flaky")
        try makeRunnableNow(job.id)
        let second = try XCTUnwrap(try leases.claimNext(for: w, limit: 1).first)
        try leases.complete(attempt: second.attempt, by: w)

        let attempts = try jobs.attempts(of: second.task)
        XCTAssertEqual(attempts.map(\.id), [first.attempt, second.attempt])
        XCTAssertEqual(attempts.map(\.state), [.failed, .succeeded])
        XCTAssertEqual(attempts.map(\.number), [1, 2])
        XCTAssertEqual(attempts.map(\.error), ["flaky", nil])
        XCTAssertEqual(try sqlInt("SELECT count(*)::int AS n FROM attempts_ended"), 1, "the failed attempt's row only")
        XCTAssertEqual(
            try sqlInt("SELECT count(*)::int AS n FROM task_attempts WHERE id = $1", [.int(second.attempt.rawValue)]),
            1, "found by id through the view")
    }

    /// Log lines, metrics and late reports look an attempt up by id; a succeeded one is found through the
    /// `tasks_final_attempt` index, not by reading every task.
    func testASucceededAttemptIsFoundByIDThroughAnIndex() throws {
        let w = try worker(cpus: 1_000_000)
        _ = try jobs.submit(NewJob(name: "many", type: "noop", tasks: (0..<2000).map { _ in NewTask(spec: "{}") }))
        let claimed = try leases.claimNext(for: w, limit: 1000, leaseDurationSeconds: 60)
        _ = try leases.complete(claimed.map { AttemptCompletion(attempt: $0.attempt, result: "{}") }, by: w)
        try pool.withConnection { try $0.execute("ANALYZE tasks") }
        for (name, statement) in [("workerAndJob", AttemptSQL.workerAndJob), ("endedState", AttemptSQL.endedState)] {
            let plan = try genericPlan(
                statement, parameterTypes: ["bigint"], arguments: ["\(claimed[500].attempt.rawValue)"])
            XCTAssertFalse(plan.contains("Seq Scan on tasks"), "\(name) reads tasks sequentially:\n\(plan)")
            XCTAssertTrue(plan.contains("tasks_final_attempt"), "\(name) does not use tasks_final_attempt:\n\(plan)")
        }
    }
}
