// A scheduling pass reads a bounded slice of the queue (`SchedulingPassLimits`): at 1,000,000 queued tasks an
// unbounded pass held its transaction open for over 9 minutes. What it leaves unread waits for later passes.
import ClusterModel
import Foundation
import Postgres
import Scheduler
import TestSupport
import XCTest

@testable import Control

final class SchedulingPassLimitTests: StoreTestCase {
    private func snapshot(_ limits: SchedulingPassLimits) throws -> ClusterSnapshot {
        try pool.withConnection { try SchedulingStore.snapshot($0, previousReservations: [], limits: limits) }
    }

    private func submit(_ name: String, tasks: Int = 1, replicas: Int = 1) throws -> JobID {
        try jobs.submit(
            NewJob(
                name: name, type: "t", replicas: replicas, resources: Resources(cpuMillis: 100),
                tasks: replicas > 1 ? [] : (0..<tasks).map { NewTask(spec: "{\"i\": \($0)}") })
        ).id
    }

    func testAPassReadsTheOldestJobsFirstTasksAndWholeGangsOnly() throws {
        let deep = try submit("deep", tasks: 10)
        let gang = try submit("gang", replicas: 5)
        let newest = try submit("newest", tasks: 2)

        let bounded = try snapshot(SchedulingPassLimits(jobs: 2, tasksPerJob: 3))
        XCTAssertEqual(bounded.pendingJobs.map(\.id), [deep, gang], "the two oldest jobs; the newest waits")
        let deepTasks = try jobs.tasks(of: deep).map(\.id)
        XCTAssertEqual(bounded.pendingJobs[0].tasks, Array(deepTasks.prefix(3)), "the first three by index")
        XCTAssertEqual(bounded.pendingJobs[1].tasks.count, 5, "a gang is never seen in part")

        let all = try snapshot(SchedulingPassLimits(jobs: 3, tasksPerJob: 10))
        XCTAssertEqual(all.pendingJobs.map(\.id), [deep, gang, newest])
        XCTAssertEqual(all.pendingJobs.map(\.tasks.count), [10, 5, 2])
    }

    func testBoundedPassesPlaceEveryTaskOverSeveralPasses() throws {
        let worker = try workers.register(
            name: "roomy", resources: Resources(cpuMillis: 100_000, memoryBytes: 1 << 34))
        let first = try submit("first", tasks: 5)
        let second = try submit("second", tasks: 2)
        let limits = SchedulingPassLimits(jobs: 1, tasksPerJob: 2)
        var placedPerPass: [Int] = []
        for _ in 0..<10 {
            let placed = try pool.transaction { c in
                let snapshot = try SchedulingStore.snapshot(c, previousReservations: [], limits: limits)
                return try SchedulingStore.commit(Scheduler().schedule(snapshot), c)
            }
            if placed == 0 { break }
            placedPerPass.append(placed)
        }
        XCTAssertEqual(placedPerPass, [2, 2, 1, 2], "at most two tasks of one job per pass, oldest job first")
        let onWorker = try sqlInt(
            "SELECT count(*) FROM tasks WHERE placed_worker_id = $1 AND job_id = ANY($2)",
            [.int(worker.rawValue), .intArray([first.rawValue, second.rawValue])])
        XCTAssertEqual(onWorker, 7, "every task placed in the end")
    }
}
