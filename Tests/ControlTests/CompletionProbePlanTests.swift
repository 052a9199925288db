// Issue 15: a completion asks whether its job has another unfinished task (the probe in
// `TaskSQL.completeUnlessFinishing` and `TaskSQL.complete`). Without an order, PostgreSQL planned that probe as a
// sequential scan of `tasks` stopping at the first unfinished row: a job's tasks finish roughly in id order, so
// each completion read past every task already succeeded, ~1 more row per task done (6.25 M rows read by 5,556
// completions of one 40,000-task job in `ControlBench --batch 1`). Ordered by state it walks `tasks_job_state`,
// where every unfinished state sorts before `succeeded`.

import ClusterModel
import Foundation
import Postgres
import XCTest

@testable import Control

final class CompletionProbePlanTests: StoreTestCase {
    func testTheUnfinishedTaskProbeReadsAnIndexNotTheTable() throws {
        let w = try worker(cpus: 1_000_000) // room for every task at once
        _ = try jobs.submit(NewJob(name: "long", type: "noop", tasks: (0..<3000).map { _ in NewTask(spec: "{}") }))
        for _ in 0..<4 {
            let claimed = try leases.claimNext(for: w, limit: 500, leaseDurationSeconds: 60)
            XCTAssertEqual(claimed.count, 500)
            _ = try leases.complete(claimed.map { AttemptCompletion(attempt: $0.attempt, result: "{}") }, by: w)
        }
        let running = try XCTUnwrap(try leases.claimNext(for: w, limit: 1, leaseDurationSeconds: 60).first)
        for (name, statement) in [
            ("completeUnlessFinishing", TaskSQL.completeUnlessFinishing), ("complete", TaskSQL.complete),
        ] {
            let plan = try genericPlan(
                statement, parameterTypes: ["bigint[]", "text[]", "bigint", "text"],
                arguments: [
                    "ARRAY[\(running.attempt.rawValue)]::bigint[]", "ARRAY['{}']", "\(w.rawValue)", "'succeeded'",
                ])
            XCTAssertFalse(plan.contains("Seq Scan on tasks"), "\(name) reads tasks sequentially:\n\(plan)")
            XCTAssertTrue(plan.contains("tasks_job_state"), "\(name)'s probe does not use tasks_job_state:\n\(plan)")
        }
    }
}
