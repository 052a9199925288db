// Whole-gang restarts in the store (issue 18, `LeaseStore.restartGangs`): for a `command` gang, an attempt that
// fails or whose lease expires ends the other members' attempts in the same transaction and deletes rank 0's
// published address; out of attempts, the whole gang fails; a DiLoCo `train` gang is left alone.

import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Control

final class GangRestartStoreTests: StoreTestCase {
    /// A gang of two placed on workers a and b and claimed there; returns each rank's lease.
    private func runningGang(_ name: String, type: String, maxAttempts: Int = 3) throws -> (JobID, [TaskLease]) {
        let a = try worker("a-\(name)")
        let b = try worker("b-\(name)")
        let job = try jobs.submit(
            NewJob(
                name: name, type: type, replicas: 2, resources: Resources(cpuMillis: 1000),
                retryPolicy: RetryPolicy(maxAttempts: maxAttempts, initialBackoffSeconds: 0.01)))
        let tasks = try jobs.tasks(of: job.id).sorted { $0.index < $1.index }
        _ = try PlacementStore(pool: pool).place([tasks[0].id: a, tasks[1].id: b])
        let claimed = try leases.claimNext(for: a) + leases.claimNext(for: b)
        XCTAssertEqual(claimed.map(\.taskIndex), [0, 1])
        return (job.id, claimed)
    }

    private func publishMaster(_ job: JobID) throws {
        let location = "tcp://127.0.0.1:29500"
        _ = try ExchangeStore(pool: pool).put(
            job: job, name: CommandJobKinds.masterEntryName,
            ExchangePutRequest(
                location: location, sha256: String(repeating: "a", count: 64), bytes: 0, exclusive: false))
    }

    private func attempt(_ lease: TaskLease) throws -> AttemptRecord {
        try XCTUnwrap(try jobs.attempts(of: lease.task).first { $0.id == lease.attempt })
    }

    func testAFailedMemberEndsItsSiblingAndTheAddressAndBothAreRequeued() throws {
        let (job, members) = try runningGang("ddp", type: CommandJobKinds.commandName)
        try publishMaster(job)
        try leases.fail(attempt: members[1].attempt, error: "python3 was killed by signal 9")

        let sibling = try attempt(members[0])
        XCTAssertEqual(sibling.state, .failed)
        XCTAssertEqual(
            sibling.error,
            "gang member task \(members[1].task) ended (python3 was killed by signal 9), so the whole gang restarts")
        XCTAssertEqual(try taskStates(job), [.queued, .queued], "the gang is placed again as a whole")
        XCTAssertEqual(
            try ExchangeStore(pool: pool).changes(job: job, prefix: nil, after: 0).entries, [],
            "no member of the next generation reads the dead rank 0's address")
    }

    func testAnExpiredLeaseRestartsTheGangToo() throws {
        let (job, members) = try runningGang("lost", type: CommandJobKinds.commandName)
        try pool.withConnection {
            try $0.execute(
                "UPDATE tasks SET lease_deadline = now() - interval '1 second' WHERE active_attempt_id = $1",
                [.int(members[0].attempt.rawValue)])
        }
        let expired = try leases.expireLeases()
        XCTAssertEqual(expired.requeued, [members[0].task])
        let sibling = try attempt(members[1])
        XCTAssertEqual(sibling.state, .failed)
        XCTAssertTrue(sibling.error?.contains("lease expired") ?? false, "\(String(describing: sibling.error))")
        XCTAssertEqual(try taskStates(job), [.queued, .queued])
    }

    func testOutOfAttemptsTheWholeGangFails() throws {
        let (job, members) = try runningGang("once", type: CommandJobKinds.commandName, maxAttempts: 1)
        try leases.fail(attempt: members[0].attempt, error: "python3 exited with status 1")
        XCTAssertEqual(try taskStates(job), [.failed, .failed])
        XCTAssertTrue(try attempt(members[1]).error?.hasSuffix("so the whole gang fails") ?? false)
    }

    func testADiLoCoTrainGangGoesOnWithoutALostMember() throws {
        let (job, members) = try runningGang("diloco", type: "train")
        try leases.fail(attempt: members[1].attempt, error: "lost")
        XCTAssertEqual(try attempt(members[0]).state, .active)
        XCTAssertEqual(try taskStates(job), [.running, .queued])
    }
}
