import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

final class StoreConcurrencyTests: StoreTestCase {
    /// 8 workers on 8 threads claim and complete 8,000 tasks in batches; every task must be leased
    /// exactly once and completed exactly once, checked in the database.
    func testConcurrentClaimsNeverHandOutATaskTwice() throws {
        let taskCount = 8000
        let job = try jobs.submit(
            NewJob(name: "many", type: "t", tasks: (0..<taskCount).map { NewTask(spec: #"{"i": \#($0)}"#) }))
        let workerIDs = try (0..<8).map { try worker("w\($0)") }
        let seen = Locked<[TaskID]>([])
        let failures = Locked<[String]>([])
        let store = leases
        // Real threads (concurrentPerform would run only as many as there are cores).
        let group = DispatchGroup()
        for i in workerIDs.indices {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    while true {
                        let batch = try store.claimNext(for: workerIDs[i], limit: 25, leaseDurationSeconds: 300)
                        if batch.isEmpty { break }
                        seen.mutate { $0.append(contentsOf: batch.map(\.task)) }
                        let outcomes = try store.complete(
                            batch.map { AttemptCompletion(attempt: $0.attempt) }, by: workerIDs[i])
                        if outcomes.values.contains(where: { $0 != .applied }) {
                            failures.mutate { $0.append("\(outcomes)") }
                        }
                    }
                } catch {
                    failures.mutate { $0.append("\(error)") }
                }
            }.start()
        }
        group.wait()
        XCTAssertEqual(failures.value, [])
        XCTAssertEqual(seen.value.count, taskCount)
        XCTAssertEqual(Set(seen.value).count, taskCount, "no task handed out twice")
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM task_attempts"), taskCount)
        XCTAssertEqual(
            try sqlInt(
                "SELECT count(*) FROM (SELECT task_id FROM task_attempts WHERE state = 'succeeded' GROUP BY task_id HAVING count(*) = 1) s"
            ), taskCount)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM tasks WHERE state = 'succeeded' AND attempts = 1"), taskCount)
        XCTAssertEqual(
            try sqlInt("SELECT count(DISTINCT worker_id) FROM task_attempts"), 8, "work spread over all workers")
        XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM events WHERE entity = 'job' AND new_state = 'succeeded'"), 1)
    }
}
