// The scheduler commits a pass decided on a snapshot; claims may take room on a worker meanwhile. The commit
// re-checks each placement against what its worker holds now (workers locked), and keeps gangs whole.
import ClusterModel
import Foundation
import Postgres
import Scheduler
import TestSupport
import XCTest

@testable import Control

final class SchedulingCommitTests: StoreTestCase {
    private func commit(_ placements: [(TaskRecord, WorkerID)]) throws -> Int {
        var decisions = SchedulingDecisions()
        decisions.placements = placements.map { Placement(task: $0.0.id, job: $0.0.jobID, worker: $0.1) }
        return try pool.transaction { try SchedulingStore.commit(decisions, $0) }
    }

    private func placedWorker(_ task: TaskRecord) throws -> Int64? {
        try pool.withConnection {
            try $0.queryOne("SELECT placed_worker_id FROM tasks WHERE id = $1", [.int(task.id.rawValue)]).optionalInt64(
                "placed_worker_id")
        }
    }

    func testAPlacementOntoRoomAClaimTookSinceTheSnapshotIsDropped() throws {
        // Found by repeated CI runs: the pass saw a one-cpu worker free, a poll claimed a task into it, and the
        // pass then placed a second task there, which the next poll took on top of the first.
        let w = try workers.register(name: "one-slot", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30))
        let a = try jobs.submit(NewJob(name: "a", type: "t", priority: 5, resources: Resources(cpuMillis: 1000)))
        let b = try jobs.submit(NewJob(name: "b", type: "t", resources: Resources(cpuMillis: 1000)))
        let taskB = try XCTUnwrap(try jobs.tasks(of: b.id).first)
        let claimed = try leases.claimNext(for: w, limit: 4)
        XCTAssertEqual(claimed.map(\.job), [a.id])

        XCTAssertEqual(try commit([(taskB, w)]), 0, "the worker is full now")
        XCTAssertNil(try placedWorker(taskB))
        XCTAssertEqual(try leases.claimNext(for: w, limit: 4), [], "nothing on top of the running task")

        try leases.complete(attempt: claimed[0].attempt, by: w)
        XCTAssertEqual(try commit([(taskB, w)]), 1, "room again")
        XCTAssertEqual(try placedWorker(taskB), w.rawValue)
    }

    func testAGangIsPlacedWholeOrNotAtAllAndOtherPlacementsStay() throws {
        let free = try workers.register(name: "free", resources: Resources(cpuMillis: 2000, memoryBytes: 1 << 30))
        let busy = try workers.register(name: "busy", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30))
        let filler = try jobs.submit(NewJob(name: "filler", type: "t", resources: Resources(cpuMillis: 1000)))
        XCTAssertEqual(try leases.claimNext(for: busy, limit: 1).map(\.job), [filler.id])
        let gang = try jobs.submit(NewJob(name: "gang", type: "t", replicas: 2, resources: Resources(cpuMillis: 1000)))
        let single = try jobs.submit(NewJob(name: "single", type: "t", resources: Resources(cpuMillis: 1000)))
        let members = try jobs.tasks(of: gang.id)
        let other = try XCTUnwrap(try jobs.tasks(of: single.id).first)
        XCTAssertEqual(members.count, 2)

        XCTAssertEqual(try commit([(members[0], free), (members[1], busy), (other, free)]), 1)
        XCTAssertNil(try placedWorker(members[0]), "no gang member holds room while another cannot be placed")
        XCTAssertNil(try placedWorker(members[1]))
        XCTAssertEqual(try placedWorker(other), free.rawValue)
    }
}
