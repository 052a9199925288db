// Issue 2: two control-plane replicas (`opsctl serve` processes, started together so their migrations
// race) on one database, 8 workers (in-process `WorkerDaemon`s over real HTTP, half on each replica),
// 1,000 `noop` tasks: every task completed exactly once, checked in the database.

import APIClient
import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

final class IntegrationReplicaTests: XCTestCase {
    private var cluster: ProcessCluster!

    override func setUpWithError() throws {
        cluster = try ProcessCluster()
    }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs()) }
        cluster?.shutdown()
        cluster = nil
    }

    func testTwoReplicasEightWorkersThousandTasksEachCompletedExactlyOnce() async throws {
        let ports = [try FreePort.next(), try FreePort.next()]
        let servers = ports.map { "http://127.0.0.1:\($0)" }
        let replicas = try ports.enumerated().map { index, port in
            try cluster.startServe(port: port, leaseSeconds: 10, heartbeatSeconds: 1, name: "serve-\(index + 1)")
        }
        for (server, replica) in zip(servers, replicas) {
            try await waitUntilReady(RawHTTP(baseURL: server), process: replica)
        }
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM schema_migrations"), Migrations.all.count,
            "each migration applied once although both replicas started together")

        let quiet: @Sendable (String) -> Void = { _ in }
        let daemons = (0..<8).map { index in
            WorkerDaemon(
                configuration: WorkerConfiguration(
                    name: "replica-worker-\(index)", resources: Resources(cpuMillis: 8000, memoryBytes: 8 << 30),
                    maxConcurrentTasks: 16, maxTasksPerPoll: 16, pollWaitSeconds: 2,
                    workDirectory: cluster.directory.url.appendingPathComponent("work-\(index)"),
                    flushIntervalSeconds: 0.05),
                api: HTTPControlPlaneAPI(
                    baseURL: servers[index % 2], token: cluster.joinToken, transport: CurlTransport()),
                registry: ExecutorRegistry.standard(),
                artifactStore: FileArtifactStore(root: cluster.directory.url.appendingPathComponent("artifacts")),
                log: quiet)
        }
        let runs = daemons.map { daemon in Task { try await daemon.run() } }
        defer {
            for daemon in daemons { daemon.requestShutdown() }
        }

        let taskCount = 1000
        // Two jobs, one submitted through each replica.
        for (index, server) in servers.enumerated() {
            let manifest = try cluster.writeManifest(
                "many-\(index).yaml",
                """
                apiVersion: llmops/v1
                kind: Job
                metadata: {name: many-\(index)}
                spec: {type: noop, tasks: \(taskCount / 2)}
                """)
            let apply = try cluster.run(["apply", "-f", manifest], server: server)
            XCTAssertEqual(apply.status, 0, apply.stderr)
        }

        try waitUntil("all \(taskCount) tasks succeed", timeoutSeconds: 120, intervalSeconds: 0.25) {
            try self.cluster.count("SELECT count(*) AS n FROM jobs WHERE state = 'succeeded'") == 2
        }
        for daemon in daemons { daemon.requestShutdown() }
        for run in runs { try await run.value }

        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM tasks"), taskCount)
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'"), taskCount)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM task_attempts WHERE state = 'succeeded'"), taskCount)
        XCTAssertEqual(
            try cluster.count("SELECT count(DISTINCT task_id) AS n FROM task_attempts WHERE state = 'succeeded'"),
            taskCount,
            "every task has exactly one succeeded attempt")
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM task_attempts"), taskCount, "no task was handed out twice")
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM tasks WHERE attempts <> 1"), 0)
        XCTAssertEqual(
            try cluster.count(
                """
                SELECT coalesce(sum(cardinality(task_ids)), 0) AS n FROM events
                WHERE entity = 'tasks' AND new_state = 'succeeded'
                """),
            taskCount,
            "every completion named once in the audit trail")
        // The worker side agrees: 1,000 completions in total, and workers of both replicas took part.
        var completed: [Int] = []
        for daemon in daemons { completed.append(await daemon.snapshot().completedAttempts) }
        XCTAssertEqual(completed.reduce(0, +), taskCount, "per worker: \(completed)")
        XCTAssertGreaterThan(
            completed.enumerated().filter { $0.offset % 2 == 0 }.map(\.element).reduce(0, +), 0,
            "replica 1's workers ran tasks")
        XCTAssertGreaterThan(
            completed.enumerated().filter { $0.offset % 2 == 1 }.map(\.element).reduce(0, +), 0,
            "replica 2's workers ran tasks")
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM workers WHERE state = 'drained'"), 8,
            "all 8 deregistered cleanly")
    }

    /// Issue 22.3: a replica starts while another leads (rolling restart), and a replica waiting for another's
    /// migration stops on one SIGTERM. Before the fix both waited on one advisory-lock key: the second replica hung
    /// in its migrations behind the leader's session, and ignored SIGTERM there.
    func testAReplicaStartsWhileAnotherLeadsAndStopsOnSIGTERMWhileWaiting() async throws {
        let ports = [try FreePort.next(), try FreePort.next(), try FreePort.next()]
        let first = try cluster.startServe(port: ports[0], leaseSeconds: 10, heartbeatSeconds: 1, name: "leader")
        let firstHTTP = RawHTTP(baseURL: "http://127.0.0.1:\(ports[0])")
        try await waitUntilReady(firstHTTP, process: first)
        try await waitUntil("the first replica leads", timeoutSeconds: 30) {
            let body = try? await firstHTTP.send("GET", APIRoute.readyz.path(), token: nil).body
            return body.map { String(decoding: $0, as: UTF8.self).contains("leader") } ?? false
        }
        let second = try cluster.startServe(port: ports[1], leaseSeconds: 10, heartbeatSeconds: 1, name: "second")
        try await waitUntilReady(RawHTTP(baseURL: "http://127.0.0.1:\(ports[1])"), process: second, timeoutSeconds: 30)

        // Someone else holds the migration lock (a replica migrating a long schema change): a third replica waits...
        let holder = try PostgresConnection(conninfo: cluster.databaseURL, applicationName: "migration-lock-holder")
        defer { holder.close() }
        try holder.execute("BEGIN")
        try holder.execute("SELECT pg_advisory_xact_lock($1)", [.int(AdvisoryLockKey.schemaMigration)])
        let third = try cluster.startServe(port: ports[2], leaseSeconds: 10, heartbeatSeconds: 1, name: "waiting")
        try await Task.sleep(nanoseconds: 1_500_000_000)
        XCTAssertTrue(third.isRunning, third.output)
        let readyWhileWaiting = await RawHTTP(baseURL: "http://127.0.0.1:\(ports[2])").readyStatus()
        XCTAssertNotEqual(readyWhileWaiting, 200, "it is still waiting")
        // ...and one SIGTERM stops it well within an orchestrator's 30 s grace period.
        kill(third.pid, SIGTERM)
        XCTAssertNotNil(
            third.waitForExit(timeoutSeconds: 10),
            "SIGTERM was ignored while waiting for the migration lock:\n\(third.output)")
        try holder.execute("ROLLBACK")
    }
}
