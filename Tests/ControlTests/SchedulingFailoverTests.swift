// Issue 3: two control-plane replicas (`opsctl serve` processes) on one database; the scheduling leader is
// killed with SIGKILL; the other replica takes over scheduling within a few seconds, gangs (which run only
// where the scheduler placed them) keep being placed, and nothing is placed twice.

import APIClient
import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

final class SchedulingFailoverTests: XCTestCase {
    private var cluster: ProcessCluster!

    override func setUpWithError() throws { cluster = try ProcessCluster() }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs()) }
        cluster?.shutdown()
        cluster = nil
    }

    private func schedulingRole(_ server: String) async throws -> String? {
        let response = try await RawHTTP(baseURL: server).send(
            "GET", APIRoute.readyz.path(), token: nil, timeoutSeconds: 5)
        return try response.decoded(ReadinessResponse.self).checks["scheduling"]
    }

    private func gang(_ name: String) -> String {
        """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: \(name)}
        spec:
          type: sleep
          replicas: 2
          resources: {cpu: 1, memory: 64Mi}
          sleep: {seconds: 0.2}
        """
    }

    func testStandbyTakesOverSchedulingWhenTheLeaderIsKilledAndNothingIsPlacedTwice() async throws {
        let ports = [try FreePort.next(), try FreePort.next()]
        let servers = ports.map { "http://127.0.0.1:\($0)" }
        let replicas = try ports.enumerated().map { index, port in
            try cluster.startServe(port: port, leaseSeconds: 10, heartbeatSeconds: 1, name: "serve-\(index + 1)")
        }
        for (server, replica) in zip(servers, replicas) {
            try await waitUntilReady(RawHTTP(baseURL: server), process: replica)
        }

        var roles: [String?] = []
        try await waitUntil("one replica leads scheduling", timeoutSeconds: 15, intervalSeconds: 0.1) {
            roles = [try await self.schedulingRole(servers[0]), try await self.schedulingRole(servers[1])]
            return roles.filter { $0 == "leader" }.count == 1 && roles.contains("standby")
        }
        let leader = roles[0] == "leader" ? 0 : 1
        let standby = 1 - leader

        // Workers talk to the standby, so killing the leader does not cut them off.
        let daemons = (0..<2).map { index in
            WorkerDaemon(
                configuration: WorkerConfiguration(
                    name: "failover-worker-\(index)", resources: Resources(cpuMillis: 2000, memoryBytes: 1 << 30),
                    maxConcurrentTasks: 2, pollWaitSeconds: 1,
                    workDirectory: cluster.directory.url.appendingPathComponent("work-\(index)"),
                    flushIntervalSeconds: 0.05),
                api: HTTPControlPlaneAPI(
                    baseURL: servers[standby], token: cluster.joinToken, transport: CurlTransport()),
                registry: ExecutorRegistry.standard(),
                artifactStore: FileArtifactStore(root: cluster.directory.url.appendingPathComponent("artifacts")),
                log: { _ in })
        }
        let runs = daemons.map { daemon in Task { try await daemon.run() } }
        defer { for daemon in daemons { daemon.requestShutdown() } }

        let before = try cluster.writeManifest("before.yaml", gang("gang-before"))
        XCTAssertEqual(
            try cluster.run(["apply", "-f", before, "--wait"], server: servers[standby], timeoutSeconds: 60).status, 0)

        replicas[leader].kill9()
        let killedAt = Date()
        try await waitUntil("the standby leads scheduling", timeoutSeconds: 15, intervalSeconds: 0.1) {
            try await self.schedulingRole(servers[standby]) == "leader"
        }
        let takeover = Date().timeIntervalSince(killedAt)
        print("scheduling taken over \(String(format: "%.2f", takeover)) s after the leader was killed")
        XCTAssertLessThan(takeover, 10, "the standby must take over within a few seconds")

        let after = try cluster.writeManifest("after.yaml", gang("gang-after"))
        let apply = try cluster.run(["apply", "-f", after, "--wait"], server: servers[standby], timeoutSeconds: 60)
        XCTAssertEqual(apply.status, 0, apply.stderr)

        for daemon in daemons { daemon.requestShutdown() }
        for run in runs { try await run.value }

        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'"), 4)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM task_attempts"), 4, "each gang task was placed and leased once"
        )
        XCTAssertEqual(
            try cluster.count(
                """
                SELECT count(*) AS n FROM (SELECT t.job_id FROM task_attempts a JOIN tasks t ON t.id = a.task_id
                                           GROUP BY t.job_id HAVING count(DISTINCT a.worker_id) <> 2) AS split
                """), 0, "every gang ran on two distinct workers")
    }
}
