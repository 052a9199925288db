// Issue 16, point 4: a scheduling leader that lost its advisory lock without noticing (its session was killed, or
// its primary died in a failover) must never write after another replica took over. Each leader takes the next
// fencing epoch; a pass of a superseded epoch is refused and writes nothing.
import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

final class LeaderFencingTests: StoreTestCase {
    private var signals: [StoreSignals] = []

    override func tearDown() {
        for s in signals { s.stop() }
        signals = []
        super.tearDown()
    }

    private func loop(_ name: String) -> SchedulingLoop {
        let s = StoreSignals(conninfo: conninfo)
        signals.append(s)
        return SchedulingLoop(
            pool: pool, conninfo: conninfo, signals: s, intervalSeconds: 60, replicaName: name, log: { _ in })
    }

    private func placedCount() throws -> Int {
        try sqlInt("SELECT count(*) FROM tasks WHERE placed_worker_id IS NOT NULL")
    }

    /// Kills the session that holds the leader lock, as a failover or an administrator would: the replica that
    /// held it learns of it only at its next round trip on that session.
    private func killLeaderSession() throws {
        let killed = try sqlInt(
            """
            SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                  WHERE application_name = 'llm-ops-scheduler-leader'
                                    AND datname = current_database()) t
            """)
        // A follower's closed candidate session may still be listed while its backend exits: at least the leader's.
        XCTAssertGreaterThanOrEqual(killed, 1, "the leader's session")
    }

    func testALeaderWhoseLockWasTakenOverWritesNothingAndStopsLeading() throws {
        let a = loop("replica-a")
        let b = loop("replica-b")
        XCTAssertTrue(a.leadOnce())
        XCTAssertEqual(try sqlInt("SELECT leader_epoch::int FROM scheduler_state WHERE id = 1"), 1)
        XCTAssertFalse(b.leadOnce(), "the lock is held")

        try killLeaderSession()
        XCTAssertTrue(b.leadOnce(), "the lock was released with the killed session")
        XCTAssertEqual(try sqlInt("SELECT leader_epoch::int FROM scheduler_state WHERE id = 1"), 2)

        // Work the scheduler places (a gang is never claimed first-come): replica a, still believing it leads with
        // epoch 1, runs a pass.
        for name in ["node-1", "node-2"] {
            _ = try workers.register(name: name, resources: Resources(cpuMillis: 4000, memoryBytes: 1 << 30))
        }
        _ = try jobs.submit(NewJob(name: "gang", type: "t", replicas: 2, resources: Resources(cpuMillis: 1000)))
        XCTAssertTrue(a.isLeader, "a has not noticed yet")
        XCTAssertThrowsError(try a.passOnce()) { error in
            XCTAssertEqual(error as? LeadershipFenced, LeadershipFenced(heldEpoch: 1, currentEpoch: 2))
        }
        XCTAssertEqual(try placedCount(), 0, "the fenced pass wrote nothing")
        XCTAssertEqual(try sqlString("SELECT leader FROM scheduler_state WHERE id = 1"), "replica-b")

        try b.passOnce()
        let reason = try sqlString("SELECT coalesce(pending_reason, '-') FROM jobs") ?? ""
        XCTAssertEqual(try placedCount(), 2, "the new leader places the gang (pending: \(reason))")
        XCTAssertFalse(a.leadOnce(), "a finds its session gone and the lock held by b")
        XCTAssertFalse(a.isLeader)
    }

    func testEachNewLeaderTakesTheNextEpochAndAResignedOneCanLeadAgain() throws {
        let a = loop("replica-a")
        XCTAssertTrue(a.leadOnce())
        XCTAssertTrue(a.leadOnce(), "holding keeps the epoch")
        XCTAssertEqual(try sqlInt("SELECT leader_epoch::int FROM scheduler_state WHERE id = 1"), 1)
        try killLeaderSession()
        XCTAssertFalse(a.leadOnce(), "the ping finds the session gone")
        XCTAssertTrue(a.leadOnce(), "and the next try takes the lock again, as a new leader")
        XCTAssertEqual(try sqlInt("SELECT leader_epoch::int FROM scheduler_state WHERE id = 1"), 2)
        try a.passOnce()
    }
}
