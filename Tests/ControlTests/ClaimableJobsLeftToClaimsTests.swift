// Issue 15: a scheduling pass leaves the tasks a worker's claim takes by itself unplaced. Writing their placements
// moved no task sooner, cost a row version per task and locked the workers' rows that claims wait on (end to end
// at batch 1: 605–620 tasks/s with them, 1,015–1,022 without). What only the scheduler may place is still placed.
import ClusterModel
import Foundation
import Postgres
import Scheduler
import TestSupport
import XCTest

@testable import Control

final class ClaimableJobsLeftToClaimsTests: StoreTestCase {
    private var signals: StoreSignals?

    override func tearDown() {
        signals?.stop()
        signals = nil
        super.tearDown()
    }

    private func leadingLoop() throws -> SchedulingLoop {
        let s = StoreSignals(conninfo: conninfo)
        signals = s
        let loop = SchedulingLoop(
            pool: pool, conninfo: conninfo, signals: s, intervalSeconds: 60, replicaName: "only", log: { _ in })
        XCTAssertTrue(loop.leadOnce())
        return loop
    }

    private func placed(_ job: StoredSubmission) throws -> Int {
        try sqlInt(
            "SELECT count(*)::int FROM tasks WHERE job_id = $1 AND placed_worker_id IS NOT NULL",
            [.int(job.id.rawValue)])
    }

    func testAPassPlacesOnlyWhatTheClaimCannotTakeAndClearsTheOthersPendingReason() throws {
        let loop = try leadingLoop()
        let w1 = try workers.register(name: "node-1", resources: Resources(cpuMillis: 8000, memoryBytes: 1 << 32))
        _ = try workers.register(name: "node-2", resources: Resources(cpuMillis: 8000, memoryBytes: 1 << 32))
        try QueueStore(pool: pool).upsert([QueueSpec(name: "team", weight: 2)])
        let plain = try jobs.submit(
            NewJob(name: "plain", type: "t", resources: Resources(cpuMillis: 1000), tasks: [NewTask(), NewTask()]))
        let gang = try jobs.submit(NewJob(name: "gang", type: "t", replicas: 2, resources: Resources(cpuMillis: 1000)))
        let team = try jobs.submit(
            NewJob(name: "team", type: "t", queue: "team", resources: Resources(cpuMillis: 1000)))
        try pool.withConnection {
            try $0.execute("UPDATE jobs SET pending_reason = 'stale' WHERE id = $1", [.int(plain.id.rawValue)])
        }

        try loop.passOnce()
        XCTAssertEqual(try placed(plain), 0, "a claim takes these itself")
        XCTAssertNil(try sqlString("SELECT pending_reason FROM jobs WHERE id = $1", [.int(plain.id.rawValue)]))
        XCTAssertEqual(try placed(gang), 2, "all or nothing needs the scheduler")
        XCTAssertEqual(try placed(team), 1, "a configured queue's weight holds only through the scheduler")
        let decided = try XCTUnwrap(loop.lastPass).decisions.placements
        XCTAssertEqual(decided.filter { $0.job == plain.id }.count, 2, "decided like any job, for the autoscaler")

        let claimed = try leases.claimNext(for: w1, limit: 8)
        XCTAssertTrue(Set(claimed.map(\.job)).contains(plain.id), "the fast path took the plain job's tasks")
    }

    func testAJobThatReservesOrPreemptsKeepsItsPlacements() {
        let now = SchedulerTime(100)
        let snapshot = ClusterSnapshot(
            now: now, workers: [], pendingJobs: [], queues: [],
            previousReservations: [
                Reservation(job: JobID(2), workers: [WorkerID(1)], perTask: Resources(), kind: .waitingForCapacity)
            ])
        var decisions = SchedulingDecisions()
        decisions.reservations = [
            Reservation(job: JobID(3), workers: [WorkerID(1)], perTask: Resources(), kind: .waitingForPreemptedTasks)
        ]
        decisions.preemptions = [
            Preemption(
                victim: TaskID(9), victimJob: JobID(8), worker: WorkerID(1), preemptor: JobID(4),
                reason: .higherPriority(preemptorPriority: 5, victimPriority: 0), gracePeriodEndsAt: now)
        ]
        let read = SchedulingRead(snapshot: snapshot, claimedDirectly: [JobID(1), JobID(2), JobID(3), JobID(4)])
        XCTAssertEqual(read.leftToClaims(by: decisions), [JobID(1)])
        XCTAssertEqual(read.leftToClaims(by: SchedulingDecisions()), [JobID(1), JobID(3), JobID(4)])
    }
}
