import ClusterModel
import Foundation
import Postgres
import Primitives
import TestSupport
import XCTest

@testable import Control

/// The claim and the completion as one statement each (`TaskSQL.claim`, `TaskSQL.completeUnlessFinishing`,
/// docs/leases.md): their round trips, the claim's packing (the SQL mirror of `Resources.fits(in:)`), a claim
/// whose snapshot missed a scheduler commit onto its worker, and completions that finish a job together.
final class OneStatementLeaseTests: StoreTestCase {
    func testAClaimOfOneTaskIsOneRoundTrip() throws {
        // One connection, so the statements the claim sends are the ones counted. The claim took 7 round trips
        // (BEGIN, worker lock, capacity, candidates, queue check, lease, COMMIT) before it was one statement.
        let single = PostgresPool(conninfo: conninfo, maxConnections: 1)
        defer { single.close() }
        let w = try worker()
        let store = LeaseStore(pool: single)
        XCTAssertEqual(try store.claimNext(for: w, limit: 1), [], "the first claim on a connection prepares it")
        let job = try jobs.submit(NewJob(name: "j", type: "t", tasks: (0..<3).map { _ in NewTask() }))
        let before = try single.withConnection { $0.statementsSent }
        let claimed = try store.claimNext(for: w, limit: 1)
        let after = try single.withConnection { $0.statementsSent }
        XCTAssertEqual(claimed.map(\.job), [job.id])
        XCTAssertEqual(after - before, 1, "one claim, one statement")
        XCTAssertEqual(try jobs.job(job.id)?.state, .running, "the pending job started in the same statement")
    }

    func testUnplacedTasksTakeWhatEarlierPicksLeftAndSkipWhatNoLongerFits() throws {
        let w = try workers.register(name: "w", resources: Resources(cpuMillis: 2500, memoryBytes: 1 << 30))
        for (name, cpu) in [("one", 1000), ("two", 2000), ("three", 1000), ("four", 1000)] {
            try jobs.submit(NewJob(name: name, type: "t", resources: Resources(cpuMillis: Int64(cpu))))
        }
        XCTAssertEqual(
            try leases.claimNext(for: w, limit: 8).map(\.jobName), ["one", "three"],
            "two fits the worker but not the 1500m one left; four does not fit the 500m left after three")
        XCTAssertEqual(try sqlInt("SELECT sum(cpu_millis) FROM tasks WHERE state = 'running'"), 2000)
    }

    /// The claim skips the packing recursion when the unplaced candidates fit together (`fits_all`): at exactly the
    /// worker's room it takes them all; one millicore more and the recursion packs them as before.
    func testCandidatesThatFitTogetherAreAllTakenAndOneMillicoreMorePacksThem() throws {
        let exact = try workers.register(name: "exact", resources: Resources(cpuMillis: 2000, memoryBytes: 1 << 30))
        for (name, cpu) in [("a", 500), ("b", 500), ("c", 1000)] {
            try jobs.submit(NewJob(name: name, type: "t", resources: Resources(cpuMillis: Int64(cpu))))
        }
        XCTAssertEqual(try leases.claimNext(for: exact, limit: 8).map(\.jobName), ["a", "b", "c"], "2000m of 2000m")

        let over = try workers.register(name: "over", resources: Resources(cpuMillis: 2000, memoryBytes: 1 << 30))
        for (name, cpu) in [("d", 500), ("e", 1001), ("f", 500)] {
            try jobs.submit(NewJob(name: name, type: "t", resources: Resources(cpuMillis: Int64(cpu))))
        }
        XCTAssertEqual(
            try leases.claimNext(for: over, limit: 8).map(\.jobName), ["d", "e"],
            "2001m do not fit together: greedy takes d and e, and f no longer fits the 499m left")
    }

    func testAcceleratorsArePackedByTypeAsTheModelDefinesFits() throws {
        let w = try workers.register(
            name: "gpu", resources: Resources(cpuMillis: 64_000, memoryBytes: 1 << 30, accelerators: ["gpu-h100": 2]))
        let needs: [(String, Resources)] = [
            ("one-gpu", Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 1])),
            ("two-gpus", Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 2])),
            ("other-type", Resources(cpuMillis: 1000, accelerators: ["tpu-v5": 1])),
            ("another-gpu", Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 1])),
            ("cpu-only", Resources(cpuMillis: 1000)),
        ]
        for (name, resources) in needs { try jobs.submit(NewJob(name: name, type: "t", resources: resources)) }
        let taken = try leases.claimNext(for: w, limit: 8)
        XCTAssertEqual(taken.map(\.jobName), ["one-gpu", "another-gpu", "cpu-only"])
        let free = Resources(cpuMillis: 64_000, memoryBytes: 1 << 30, accelerators: ["gpu-h100": 2])
        XCTAssertTrue(
            taken.map(\.resources).reduce(Resources.zero, +).fits(in: free), "the model's own check agrees")
        XCTAssertEqual(try leases.claimNext(for: w, limit: 8).map(\.jobName), [], "two-gpus waits for both")
    }

    func testAClaimWhoseSnapshotMissedASchedulerCommitClaimsAgainAfterLocking() throws {
        // The scheduler's commit locks the worker and places two one-cpu tasks on its two cpus. A claim that
        // starts meanwhile takes its snapshot, then waits for the worker's row lock. Read from that snapshot, the
        // worker is empty and the two unplaced tasks fit beside the placed ones: 4 cpus on a 2-cpu worker.
        let w = try workers.register(name: "two-cpus", resources: Resources(cpuMillis: 2000, memoryBytes: 1 << 30))
        let placed = try jobs.submit(
            NewJob(name: "placed", type: "t", resources: Resources(cpuMillis: 1000), tasks: [NewTask(), NewTask()]))
        try jobs.submit(
            NewJob(name: "unplaced", type: "t", resources: Resources(cpuMillis: 1000), tasks: [NewTask(), NewTask()]))
        let scheduler = try PostgresConnection(conninfo: conninfo)
        defer { scheduler.close() }
        try scheduler.execute("BEGIN")
        try WorkerCapacity.lock([w.rawValue], scheduler)
        try scheduler.execute(
            "UPDATE tasks SET placed_worker_id = $1 WHERE job_id = $2", [w.sql, .int(placed.id.rawValue)])

        // The test module has a `Locked` of its own (StoreMigrationTests): this one is the package's primitive.
        let claimed = Primitives.Locked<Result<[TaskLease], Error>?>(nil)
        let store = leases
        let claimer = Thread {
            let result = Result { try store.claimNext(for: w, limit: 4) }
            claimed.withLock { $0 = result }
        }
        claimer.start()
        try waitUntil("the claim waits for the worker's row lock") {
            try self.sqlInt(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND query LIKE '%capacity_epoch%' AND pid <> pg_backend_pid()
                """) == 1
        }
        try scheduler.execute("COMMIT")
        try waitUntil("the claim returns") { claimed.current != nil }

        let leased = try XCTUnwrap(claimed.current).get()
        XCTAssertEqual(leased.map(\.jobName), ["placed", "placed"], "only the reservation fits")
        XCTAssertEqual(
            try sqlInt("SELECT coalesce(sum(cpu_millis), 0) FROM tasks WHERE worker_id = $1", [w.sql]), 2000,
            "never more than the worker's two cpus")
    }

    func testACompletionThatFinishesNoJobIsOneRoundTripAndTheLastOneFinishesTheJob() throws {
        let single = PostgresPool(conninfo: conninfo, maxConnections: 1)
        defer { single.close() }
        let w = try worker()
        let job = try jobs.submit(NewJob(name: "j", type: "t", tasks: [NewTask(), NewTask(), NewTask()]))
        let store = LeaseStore(pool: single)
        let claimed = try store.claimNext(for: w, limit: 3)
        XCTAssertEqual(claimed.count, 3)
        try store.complete(attempt: claimed[2].attempt, by: w) // the first completion on a connection prepares it

        let before = try single.withConnection { $0.statementsSent }
        XCTAssertEqual(
            try store.complete([AttemptCompletion(attempt: claimed[0].attempt)], by: w).values.first, .applied)
        let after = try single.withConnection { $0.statementsSent }
        XCTAssertEqual(after - before, 1, "BEGIN, complete, COMMIT before")
        XCTAssertEqual(try jobs.job(job.id)?.state, .running)

        try store.complete(attempt: claimed[1].attempt, by: w)
        XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded, "the last completion finishes the job")
        XCTAssertEqual(
            try events.list(job: job.id).filter { $0.entity == "job" }.map(\.newState),
            ["pending", "running", "succeeded"])
        XCTAssertEqual(
            try store.complete([AttemptCompletion(attempt: claimed[0].attempt)], by: w)[claimed[0].attempt],
            .alreadyApplied)
        let other = try workers.register(name: "other", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30))
        XCTAssertEqual(
            try store.complete([AttemptCompletion(attempt: claimed[0].attempt)], by: other)[claimed[0].attempt],
            .refused(.attemptNotOwned(claimed[0].attempt, by: other)))
    }

    func testTwoCompletionsFinishingAJobTogetherAlwaysFinishIt() throws {
        // Each of two threads completes one of a job's last two tasks at the same moment; whichever way their
        // statements interleave, one of them must see the job finished and refresh it.
        let w = try worker(cpus: 64)
        let store = leases
        for round in 0..<20 {
            let job = try jobs.submit(NewJob(name: "pair-\(round)", type: "t", tasks: [NewTask(), NewTask()]))
            let claimed = try leases.claimNext(for: w, limit: 2)
            XCTAssertEqual(claimed.map(\.job), [job.id, job.id])
            let errors = Primitives.Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                do { try store.complete(attempt: claimed[i].attempt, by: w) } catch {
                    errors.withLock { $0.append("\(error)") }
                }
            }
            XCTAssertEqual(errors.current, [])
            XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded, "round \(round)")
        }
    }
}
