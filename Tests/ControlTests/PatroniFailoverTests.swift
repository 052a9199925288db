// Issue 16, point 4: the database's primary dies mid-load under a running control plane. PostgreSQL runs as a
// primary with a synchronous standby managed by Patroni with etcd (real processes, `PatroniCluster`); the control
// plane connects with a multi-host URL (`target_session_attrs=read-write`). The primary is killed with SIGKILL while
// a worker claims and completes tasks over HTTP: the standby is promoted, the control plane (never restarted)
// reconnects, its scheduling leadership is re-taken under a new fencing epoch, every completion it acknowledged
// is found succeeded on the new primary, and the job finishes with every task succeeded exactly once.

import APIClient
import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import XCTest

final class PatroniFailoverTests: XCTestCase {
    private var patroni: PatroniCluster?
    private var plane: ControlPlane?
    private var directory: TemporaryDirectory?

    override func tearDown() {
        plane?.stop()
        if let patroni, (testRun?.totalFailureCount ?? 0) > 0 { print(patroni.logs()) }
        patroni?.shutdown()
        directory?.remove()
    }

    /// What the load loop saw.
    private struct Load {
        var acknowledged: Set<AttemptID> = []
        var acknowledgedBeforeKill = 0
        var killedAt: Date?
        var firstClaimAfterKill: Date?
        var failedCalls = 0
    }

    func testPrimaryKilledMidLoadLosesNothingAcknowledgedAndLeadershipMoves() async throws {
        guard PatroniCluster.isInstalled else {
            throw XCTSkip("patroni and etcd are not installed (scripts/install-test-deps.sh installs them)")
        }
        let patroni = try await PatroniCluster.start()
        self.patroni = patroni
        let firstLeader = await patroni.leader()
        let first = try XCTUnwrap(firstLeader)
        try createDatabase("ops", on: first)

        let directory = try TemporaryDirectory.make()
        self.directory = directory
        // Leases of 5 s: a claim whose answer was lost in the failover is retried soon; workers are declared lost
        // only after 60 s, longer than the failover takes, so the worker keeps its identity throughout.
        let plane = ControlPlane(
            configuration: ControlPlaneConfiguration(
                databaseURL: patroni.databaseURL("ops"), adminToken: Secret("admin"), joinToken: Secret("join"),
                artifactDirectory: directory.path + "/artifacts", leaseSeconds: 5, heartbeatSeconds: 1,
                workerLostAfterSeconds: 60, sweepIntervalSeconds: 0.5, schedulingIntervalSeconds: 0.5,
                replicaName: "replica-1"), log: { _ in })
        try plane.start()
        self.plane = plane
        try await waitUntil("the control plane leads scheduling", timeoutSeconds: 30) { plane.isSchedulingLeader }
        let http = RawHTTP(baseURL: plane.baseURL)
        let admin = OpsClient(baseURL: plane.baseURL, token: "admin", transport: CurlTransport(), timeoutSeconds: 10)
        let taskCount = 240
        _ = try await admin.submit([ReportRequests.job("load", type: "noop", tasks: taskCount)])
        let (worker, token) = try await register(http)

        var load = Load()
        let deadline = Date().addingTimeInterval(180)
        // Until the job is done: a report whose answer was lost in the failover may have committed (its task is
        // succeeded but not counted as acknowledged), or not (its lease expires and the task is leased again).
        while Date() < deadline {
            if load.killedAt == nil && load.acknowledged.count >= taskCount / 4 {
                load.acknowledgedBeforeKill = load.acknowledged.count
                load.killedAt = Date()
                patroni.kill(first)
            }
            do {
                let leased = try await claimAndComplete(http, worker: worker, token: token, into: &load)
                if leased == 0, try succeededTasks(patroni) == taskCount { break }
            } catch {
                load.failedCalls += 1
                try await Task.sleep(nanoseconds: 200_000_000)
            }
        }

        let promotedLeader = await patroni.leader()
        let promoted = try XCTUnwrap(promotedLeader, "the standby was promoted")
        XCTAssertNotEqual(promoted.name, first.name)
        XCTAssertGreaterThan(load.acknowledged.count, load.acknowledgedBeforeKill, "work went on after the failover")
        XCTAssertGreaterThan(load.failedCalls, 0, "the kill was felt by the worker")
        let check = try PostgresConnection(conninfo: patroni.databaseURL("ops"), applicationName: "failover-test")
        defer { check.close() }
        let acknowledged = Array(load.acknowledged.map(\.rawValue))
        XCTAssertEqual(
            try check.queryOne(
                "SELECT count(*)::int AS n FROM task_attempts WHERE id = ANY($1) AND state = 'succeeded'",
                [.intArray(acknowledged)]
            ).int("n"), acknowledged.count, "nothing acknowledged was lost")
        XCTAssertEqual(
            try check.queryOne(
                """
                SELECT count(*)::int AS n FROM tasks t
                WHERE t.state = 'succeeded'
                  AND (SELECT count(*) FROM task_attempts a WHERE a.task_id = t.id AND a.state = 'succeeded') = 1
                """
            ).int("n"), taskCount, "every task succeeded exactly once")
        try await waitUntil("the control plane leads scheduling again", timeoutSeconds: 30) {
            plane.isSchedulingLeader
        }
        XCTAssertGreaterThanOrEqual(
            try check.queryOne("SELECT leader_epoch::int AS n FROM scheduler_state WHERE id = 1").int("n"), 2,
            "leadership was re-taken under a new fencing epoch on the new primary")
        let killedAt = try XCTUnwrap(load.killedAt)
        let firstClaim = try XCTUnwrap(load.firstClaimAfterKill)
        print(
            "FAILOVER acknowledged_before_kill=\(load.acknowledgedBeforeKill) acknowledged_total=\(acknowledged.count) "
                + "found_succeeded=\(acknowledged.count) failed_calls=\(load.failedCalls) "
                + "kill_to_first_claim_seconds=\(String(format: "%.1f", firstClaim.timeIntervalSince(killedAt)))")
    }

    // MARK: Steps

    private func createDatabase(_ name: String, on member: PatroniCluster.Member) throws {
        let admin = try PostgresConnection(
            conninfo: "host=127.0.0.1 port=\(member.postgresPort) user=postgres dbname=postgres",
            applicationName: "failover-test")
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(name)")
    }

    private func succeededTasks(_ patroni: PatroniCluster) throws -> Int {
        let c = try PostgresConnection(conninfo: patroni.databaseURL("ops"), applicationName: "failover-test")
        defer { c.close() }
        return try c.queryOne("SELECT count(*)::int AS n FROM tasks WHERE state = 'succeeded'").int("n")
    }

    private func register(_ http: RawHTTP) async throws -> (WorkerID, String) {
        let request = RegisterWorkerRequest(
            name: "failover-worker", resources: Resources(cpuMillis: 64_000, memoryBytes: 64 << 30), version: "test",
            kinds: ["noop"], maxConcurrentTasks: 16)
        let response = try await http.send("POST", APIRoute.workerRegister.path(), token: "join", json: request)
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        let registration = try response.decoded(RegisterWorkerResponse.self)
        return (registration.workerID, try XCTUnwrap(registration.workerToken))
    }

    /// One poll and, for what it leased, one report batch; a completion counts as acknowledged only when the
    /// control plane answered 200 and did not name its attempt stale.
    /// Returns how many tasks the poll leased.
    private func claimAndComplete(_ http: RawHTTP, worker: WorkerID, token: String, into load: inout Load)
        async throws -> Int
    {
        let poll = try await http.send(
            "POST", APIRoute.workerPoll.path(), token: token,
            body: try WireCoding.encode(PollRequest(workerID: worker, maxTasks: 8, waitSeconds: 1, available: .zero)),
            timeoutSeconds: 10)
        guard poll.status == 200 else { throw IntegrationFailure("poll answered \(poll.status)") }
        let assignments = try poll.decoded(PollResponse.self).assignments
        guard !assignments.isEmpty else { return 0 }
        if load.killedAt != nil && load.firstClaimAfterKill == nil { load.firstClaimAfterKill = Date() }
        let batch = ReportBatch(
            workerID: worker,
            completions: assignments.map { CompletionReport(taskID: $0.taskID, attemptID: $0.attemptID) })
        let report = try await http.send(
            "POST", APIRoute.workerReports.path(), token: token, body: try WireCoding.encode(batch), timeoutSeconds: 10)
        guard report.status == 200 else { throw IntegrationFailure("report answered \(report.status)") }
        let stale = Set(try report.decoded(ReportBatchResponse.self).staleAttempts)
        for a in assignments where !stale.contains(a.attemptID) { load.acknowledged.insert(a.attemptID) }
        return assignments.count
    }
}
