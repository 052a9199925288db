// Issue 15: a claim's capacity sum and a completion's own rows must read this worker's or this batch's task rows,
// however many tasks run elsewhere. The control plane takes the statistics of `tasks` after a large submission,
// when often no task runs; the planner then counts every index that is partial on `state = 'running'` as empty,
// and before migration 33 the cached plans read every running task of the cluster through `tasks_active_attempt`
// and filtered them (with 20,000 tasks running elsewhere, `StoreBench --batch 64` fell from ~15,000 to ~9,000
// tasks/s; docs/leases.md, "A claim's cost and the cluster's other running tasks").

import ClusterModel
import Foundation
import Postgres
import XCTest

@testable import Control

final class RunningTaskPlanTests: StoreTestCase {
    /// Statistics taken when nothing ran, then 300 tasks running on another worker and 4 on this one: the generic
    /// plans (what a prepared statement caches) of the claim, both completions and the attempt endings.
    private func plansWithStaleStatistics() throws -> (worker: WorkerID, attempt: AttemptID, plans: [String: String]) {
        let elsewhere = try worker("elsewhere", cpus: 1000)
        let w = try worker("w1", cpus: 100)
        _ = try jobs.submit(NewJob(name: "others", type: "noop", tasks: (0..<300).map { _ in NewTask(spec: "{}") }))
        _ = try jobs.submit(NewJob(name: "mine", type: "noop", tasks: (0..<8).map { _ in NewTask(spec: "{}") }))
        try pool.withConnection { _ = try $0.execute("ANALYZE tasks") }
        XCTAssertEqual(try leases.claimNext(for: elsewhere, limit: 300, leaseDurationSeconds: 600).count, 300)
        let mine = try leases.claimNext(for: w, limit: 4, leaseDurationSeconds: 600)
        XCTAssertEqual(mine.count, 4)
        let attempt = try XCTUnwrap(mine.first).attempt
        let completion = ["bigint[]", "text[]", "bigint", "text"]
        let completionArguments = [
            "ARRAY[\(attempt.rawValue)]::bigint[]", "ARRAY['{}']", "\(w.rawValue)", "'succeeded'",
        ]
        let claim = ["bigint", "float8", "text", "text"]
        let claimArguments = ["\(w.rawValue)", "60", "'running'", "'job_changed'"]
        var plans: [String: String] = [:]
        for (name, statement, types, arguments) in [
            ("completeUnlessFinishing", TaskSQL.completeUnlessFinishing, completion, completionArguments),
            ("complete", TaskSQL.complete, completion, completionArguments),
            ("claim of 64", TaskSQL.claim(limit: 64), claim, claimArguments),
            ("claim of 1", TaskSQL.claim(limit: 1), claim, claimArguments),
            (
                "endAttempts", TaskSQL.endAttempts, ["bigint[]", "text[]", "text[]", "float8[]", "text[]"],
                [
                    "ARRAY[\(attempt.rawValue)]::bigint[]", "ARRAY['failed']", "ARRAY['queued']", "ARRAY[0]::float8[]",
                    "ARRAY['x']",
                ]
            ),
        ] {
            plans[name] = try genericPlan(statement, parameterTypes: types, arguments: arguments, analyzeFirst: false)
        }
        return (w, attempt, plans)
    }

    /// Every statement that names live attempts or a worker's running tasks: no index of running tasks is read
    /// whole (a scan of `tasks_running_worker` or `tasks_active_attempt` without an index condition).
    func testNoStatementOfAnAttemptOrAWorkerReadsEveryRunningTask() throws {
        let (w, attempt, plans) = try plansWithStaleStatistics()
        let id = "\(attempt.rawValue)"
        var all = plans
        for (name, statement, types, arguments) in [
            (
                "lockForFailure", AttemptSQL.lockForFailure, ["bigint[]", "bigint"],
                ["ARRAY[\(id)]::bigint[]", "\(w.rawValue)"]
            ),
            ("extendLeases", AttemptSQL.extendLeases, ["bigint", "bigint[]"], ["\(w.rawValue)", "NULL"]),
            ("endLeasesOfWorkers", AttemptSQL.endLeasesOfWorkers, ["bigint[]"], ["ARRAY[\(w.rawValue)]::bigint[]"]),
            ("pendingPreemptions", AttemptSQL.pendingPreemptions, ["bigint"], ["\(w.rawValue)"]),
            ("lockLive", AttemptSQL.lockLive, ["bigint"], [id]),
            ("markPreempted", AttemptSQL.markPreempted, ["bigint", "text"], [id, "'x'"]),
            ("recordTokensConsumed", AttemptSQL.recordTokensConsumed, ["bigint", "bigint"], [id, "5"]),
            ("recordTokensLost", AttemptSQL.recordTokensLost, ["bigint"], [id]),
            (
                "recordProgress", TaskSQL.recordProgress, ["bigint[]", "float8[]", "text[]", "bigint"],
                ["ARRAY[\(id)]::bigint[]", "ARRAY[0.5]::float8[]", "ARRAY['']", "\(w.rawValue)"]
            ),
        ] {
            all[name] = try genericPlan(statement, parameterTypes: types, arguments: arguments, analyzeFirst: false)
        }
        for (name, plan) in all.sorted(by: { $0.key < $1.key }) {
            let lines = plan.components(separatedBy: "\n")
            for (i, line) in lines.enumerated()
            where line.contains("Scan")
                && (line.contains("tasks_running_worker") || line.contains("tasks_active_attempt"))
            {
                let next = i + 1 < lines.count ? lines[i + 1] : ""
                XCTAssertTrue(next.contains("Index Cond"), "\(name) reads every running task:\n\(plan)")
            }
        }
    }

    func testStatementsOfABatchReadItsAttemptsByIdNotEveryRunningTask() throws {
        let plans = try plansWithStaleStatistics().plans
        for name in ["completeUnlessFinishing", "complete", "endAttempts"] {
            let plan = try XCTUnwrap(plans[name])
            XCTAssertTrue(
                plan.contains("Index Cond: (active_attempt_id = ANY ($1))"),
                "\(name) does not look its attempts up by id:\n\(plan)")
            XCTAssertFalse(plan.contains("tasks_running_worker"), "\(name) scans the running tasks by worker:\n\(plan)")
        }
    }

    func testTheClaimsCapacitySumReadsOnlyItsWorkersRows() throws {
        let plans = try plansWithStaleStatistics().plans
        for name in ["claim of 64", "claim of 1"] {
            let plan = try XCTUnwrap(plans[name])
            XCTAssertFalse(plan.contains("tasks_active_attempt"), "\(name) reads every running task:\n\(plan)")
            let lines = plan.components(separatedBy: "\n")
            let scan = try XCTUnwrap(
                lines.firstIndex { $0.contains("Scan") && $0.contains("tasks_running_worker") },
                "\(name) has no worker lookup:\n\(plan)")
            XCTAssertTrue(
                lines[scan + 1].contains("Index Cond: (worker_id = $1)"), "\(name) reads other workers' rows:\n\(plan)")
            // A bitmap scan never marks an index entry dead, so it would visit every task the worker finished
            // since the last vacuum.
            XCTAssertFalse(lines[scan].contains("Bitmap"), "\(name) sums its capacity with a bitmap scan:\n\(plan)")
        }
    }

    /// The index keeps every attempt id on one row (the old one did among running rows only), and a completion by id
    /// still finds its row.
    func testALiveAttemptIdStaysUniqueAndItsCompletionApplies() throws {
        let (w, attempt, _) = try plansWithStaleStatistics()
        XCTAssertThrowsError(
            try pool.withConnection {
                _ = try $0.execute(
                    "UPDATE tasks SET active_attempt_id = $1 WHERE id = (SELECT min(id) FROM tasks WHERE state = 'queued')",
                    [attempt.sql])
            }, "a second row took a live attempt's id")
        let outcome = try leases.complete([AttemptCompletion(attempt: attempt, result: #"{"ok": true}"#)], by: w)
        XCTAssertEqual(outcome[attempt], .applied)
    }
}
