// Issue 15; docs/leases.md, "The attempt that succeeds, and a completion the claim flushes". The one-statement
// completion of a report that claims commits without waiting for its WAL flush, because the claim that follows
// flushes it before the answer leaves. The setting must hold for that statement's own transaction only, and only a
// report that claims may use it.
import APITypes
import ClusterModel
import Foundation
import Postgres
import XCTest

@testable import Control

final class CompletionFlushTests: StoreTestCase {
    func testTheLazyCompletionCommitsWithoutSynchronousCommitAndLeavesTheSessionAsItWas() throws {
        let w = try worker()
        _ = try jobs.submit(NewJob(name: "j", type: "shell", tasks: (0..<2).map { _ in NewTask(spec: "{}") }))
        let claimed = try leases.claimNext(for: w, limit: 2)
        try pool.withConnection { c in
            XCTAssertEqual(try c.queryOne("SHOW synchronous_commit").string("synchronous_commit"), "on")
            let rows = try c.query(
                prepared: TaskSQL.completeUnlessFinishingFlushedByTheNextClaim,
                [
                    .intArray([claimed[0].attempt.rawValue]), .textArray(["{}"]), .int(w.rawValue),
                    .text(TaskState.succeeded.rawValue),
                ])
            XCTAssertEqual(try rows.map { try $0.bool("applied") }, [true])
            XCTAssertEqual(try rows.map { try $0.optionalInt64("attempt_id") }, [claimed[0].attempt.rawValue])
            XCTAssertEqual(try rows.first?.string("synchronous_commit"), "off", "its own transaction's commit")
            XCTAssertEqual(
                try c.queryOne("SHOW synchronous_commit").string("synchronous_commit"), "on",
                "the session's setting is back after the statement")
        }
        XCTAssertEqual(try taskStates(claimed[0].job), [.succeeded, .running])
        // Through the store: the same outcome as a completion flushed before returning.
        let outcomes = try leases.complete(
            [AttemptCompletion(attempt: claimed[1].attempt)], by: w, flush: .byTheNextClaim)
        XCTAssertEqual(outcomes, [claimed[1].attempt: .applied])
        XCTAssertEqual(try jobs.job(claimed[1].job)?.state, .succeeded, "the job's last task, through the transaction")
    }

    func testOnlyAReportThatClaimsLeavesItsFlushToTheClaim() {
        let worker = WorkerID(7)
        let completion = CompletionReport(taskID: TaskID(1), attemptID: AttemptID(2))
        let claim = PollRequest(workerID: worker, maxTasks: 1, waitSeconds: 0, available: .zero)
        let cases: [(ReportBatch, CompletionFlush)] = [
            (ReportBatch(workerID: worker, completions: [completion]), .beforeReturning),
            (ReportBatch(workerID: worker, completions: [completion], next: claim), .byTheNextClaim),
        ]
        for (batch, flush) in cases {
            XCTAssertEqual(ReportBatchApplier.flush(of: batch), flush, "next: \(String(describing: batch.next))")
        }
    }
}
