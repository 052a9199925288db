// Issue 19, "what must be shown", against a real Slurm started by the test (Debian's slurm-wlm and munge): a
// `kind: WorkerPool` of provider slurm scales up from zero, places a gang of 3 as ONE Slurm job of 3 nodes,
// scales down after its idle timeout, and a Slurm job killed by an external `scancel` is handled as a lost
// worker: its task is retried on a new node and the job succeeds. Every decision is visible in `opsctl get
// pools` / `opsctl describe pool` with its reason.

import APITypes
import Control
import Foundation
import Postgres
import TestSupport
import XCTest

final class SlurmWorkerPoolTests: XCTestCase {
    private var cluster: ProcessCluster!
    private var slurm: SlurmTestCluster?
    private var controlPlane: ControlPlane?

    override func setUpWithError() throws {
        if let reason = SlurmTestCluster.unavailableReason() { throw XCTSkip("Slurm worker pool test: \(reason)") }
        cluster = try ProcessCluster()
        let slurm = try SlurmTestCluster(directory: cluster.directory.path + "/slurm")
        self.slurm = slurm
        try slurm.start()
    }

    override func tearDown() {
        if (testRun?.totalFailureCount ?? 0) > 0, let slurm {
            print(slurm.logs())
            print(cluster.logs())
            for name in (try? FileManager.default.contentsOfDirectory(atPath: cluster.directory.path + "/slurm-out"))
                ?? []
            {
                print(
                    "---- \(name) ----\n"
                        + ((try? String(contentsOfFile: cluster.directory.path + "/slurm-out/" + name, encoding: .utf8))
                            ?? ""))
            }
        }
        // The control plane first (its autoscaler would submit again for work still waiting), then every Slurm
        // job and daemon, then the database.
        controlPlane?.stop()
        slurm?.stop()
        cluster?.shutdown()
    }

    private func count(_ sql: String, _ params: [PostgresValue?] = []) throws -> Int {
        try cluster.count(sql, params)
    }

    private func decisions(_ action: String) throws -> [(slurmJob: String, nodes: Int, reason: String)] {
        try cluster.sql { c in
            try c.query(
                "SELECT slurm_job_id, nodes, reason FROM worker_pool_decisions WHERE action = $1 ORDER BY id",
                [.text(action)]
            ).map { row -> (slurmJob: String, nodes: Int, reason: String) in
                (
                    slurmJob: try row.optionalString("slurm_job_id") ?? "", nodes: try row.int("nodes"),
                    reason: try row.string("reason")
                )
            }
        }
    }

    private func jobState(_ name: String) throws -> String? {
        try cluster.sql { try $0.queryFirst("SELECT state FROM jobs WHERE name = $1", [.text(name)])?.string("state") }
    }

    func testSlurmPoolScalesFromZeroPlacesAGangReleasesIdleNodesAndSurvivesAnExternalScancel() throws {
        let slurm = try XCTUnwrap(slurm)
        var configuration = ControlPlaneConfiguration(
            databaseURL: cluster.databaseURL, adminToken: Secret(cluster.adminToken),
            joinToken: Secret(cluster.joinToken), artifactDirectory: cluster.directory.path + "/artifacts",
            leaseSeconds: 5, heartbeatSeconds: 0.5, workerLostAfterSeconds: 3, schedulingIntervalSeconds: 0.5)
        configuration.poolCommandEnvironment = slurm.environment
        let plane = ControlPlane(configuration: configuration)
        try plane.start()
        controlPlane = plane
        let server = plane.baseURL
        let output = cluster.directory.path + "/slurm-out"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)

        // The pool: nodes of 2 CPUs, at most 3, released after 4 s idle.
        let pool = try cluster.writeManifest(
            "pool.yaml",
            """
            apiVersion: llmops/v1
            kind: WorkerPool
            metadata: {name: cpu}
            spec:
              provider: slurm
              slurm: {partition: ops, timeLimitMinutes: 30, outputDirectory: \(output)}
              minNodes: 0
              maxNodes: 3
              idleTimeoutSeconds: 4
              resources: {cpu: 2, memory: 1Gi}
              worker:
                command: [\(cluster.opsctl), worker, --server, "\(server)", --poll-wait, "1", --max-tasks, "1",
                          --state-dir, \(cluster.directory.path)/worker-state]
                labels: {site: test}
            """)
        let applied = try cluster.run(["apply", "-f", pool], server: server)
        XCTAssertEqual(applied.status, 0, applied.stderr)
        XCTAssertTrue(applied.stdout.contains("pool cpu configured"), applied.stdout)
        XCTAssertEqual(slurm.queue(), [], "no Slurm job before any work")

        // 1. Scale up from zero: one task of 2 CPUs, no worker at all.
        let single = try cluster.writeManifest(
            "single.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: single}
            spec: {type: sleep, tasks: 1, resources: {cpu: 2, memory: 256Mi}, sleep: {seconds: 1}}
            """)
        let first = try cluster.run(["apply", "-f", single, "--wait", "--timeout", "120"], server: server)
        XCTAssertEqual(first.status, 0, "scale-up from zero: \(first.stdout)\n\(first.stderr)")
        let submitted = try decisions("submit")
        XCTAssertEqual(submitted.first?.nodes, 1, "\(submitted)")
        XCTAssertTrue(submitted.first?.reason.contains("no worker can take") == true, "\(submitted)")
        XCTAssertEqual(
            try count(
                """
                SELECT count(*) AS n FROM task_attempts a JOIN workers w ON w.id = a.worker_id
                JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'single' AND a.state = 'succeeded' AND w.labels ->> 'slurm-pool' = 'cpu'
                  AND w.labels ->> 'slurm-job' = $1
                """, [.text(submitted[0].slurmJob)]), 1, "the task ran on the worker of the Slurm job submitted for it")

        // 2. A gang of 3: one Slurm job of 3 nodes, all members on its workers at once.
        let gang = try cluster.writeManifest(
            "gang.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: gang}
            spec: {type: sleep, replicas: 3, resources: {cpu: 2, memory: 256Mi}, sleep: {seconds: 1}}
            """)
        let second = try cluster.run(["apply", "-f", gang, "--wait", "--timeout", "180"], server: server)
        XCTAssertEqual(second.status, 0, "gang: \(second.stdout)\n\(second.stderr)")
        let allSubmitted = try decisions("submit")
        let gangJob = try XCTUnwrap(allSubmitted.first { $0.nodes == 3 }, "\(allSubmitted)")
        XCTAssertTrue(gangJob.reason.contains("one Slurm job of 3 nodes"), gangJob.reason)
        XCTAssertEqual(
            try count(
                """
                SELECT count(DISTINCT w.id) AS n FROM task_attempts a JOIN workers w ON w.id = a.worker_id
                JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'gang' AND a.state = 'succeeded' AND w.labels ->> 'slurm-job' = $1
                """, [.text(gangJob.slurmJob)]), 3, "the gang's 3 members ran on the 3 workers of its one Slurm job")

        // 3. Scale down after idle: every Slurm job cancelled, the pool back to zero.
        try waitUntil("the idle pool is released", timeoutSeconds: 60, intervalSeconds: 0.5) {
            let cancels = try self.decisions("cancel")
            // The decision after the last cancel sees the empty queue and records the pool's size as 0.
            let current = try self.count("SELECT current_nodes AS n FROM worker_pools WHERE name = 'cpu'")
            return slurm.queue().isEmpty && cancels.count >= 2 && current == 0
        }
        let cancelled = try decisions("cancel")
        XCTAssertTrue(cancelled.allSatisfy { $0.reason.contains("idle for") }, "\(cancelled)")
        XCTAssertTrue(cancelled.contains { $0.slurmJob == gangJob.slurmJob && $0.nodes == 3 }, "\(cancelled)")
        let pools = try cluster.run(["get", "pools"], server: server)
        XCTAssertEqual(pools.status, 0, pools.stderr)
        let row = try XCTUnwrap(pools.stdout.split(separator: "\n").first { $0.hasPrefix("cpu") }, pools.stdout)
        XCTAssertEqual(
            row.split(separator: " ", omittingEmptySubsequences: true).prefix(4), ["cpu", "slurm", "0", "0"],
            pools.stdout)

        // 4. An external scancel of the Slurm job running a task: its worker is lost, the task retried on a new
        // node, the job succeeds and nothing is lost.
        let long = try cluster.writeManifest(
            "long.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: long}
            spec: {type: sleep, tasks: 1, resources: {cpu: 2, memory: 256Mi}, retry: {maxAttempts: 3}, sleep: {seconds: 8}}
            """)
        XCTAssertEqual(try cluster.run(["apply", "-f", long], server: server).status, 0)
        var victim = ""
        try waitUntil("the long task runs on a pool worker", timeoutSeconds: 90, intervalSeconds: 0.2) {
            victim =
                try self.cluster.sql { c in
                    try c.queryFirst(
                        """
                        SELECT w.labels ->> 'slurm-job' AS job FROM task_attempts a JOIN workers w ON w.id = a.worker_id
                        JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                        WHERE j.name = 'long' AND a.state = 'active'
                        """)?.string("job")
                } ?? ""
            return !victim.isEmpty
        }
        try slurm.run("scancel", [victim])
        try waitUntil("the long job succeeds after the scancel", timeoutSeconds: 120, intervalSeconds: 0.5) {
            try self.jobState("long") == "succeeded"
        }
        XCTAssertEqual(
            try count(
                """
                SELECT count(*) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'long' AND a.state = 'succeeded'
                """), 1, "completed exactly once")
        XCTAssertEqual(
            try count(
                """
                SELECT count(*) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                JOIN workers w ON w.id = a.worker_id
                WHERE j.name = 'long' AND a.state <> 'succeeded' AND w.labels ->> 'slurm-job' = $1
                """, [.text(victim)]), 1, "the attempt on the cancelled Slurm job ended unfinished and was retried")
        try waitUntil("the pool records the job that ended outside it", timeoutSeconds: 20, intervalSeconds: 0.3) {
            try self.decisions("ended").contains { $0.slurmJob == victim }
        }
        let describe = try cluster.run(["describe", "pool", "cpu"], server: server)
        XCTAssertEqual(describe.status, 0, describe.stderr)
        for expected in ["Size:", "ended outside the pool", "one Slurm job of 3 nodes", "idle for", "submit", "cancel"]
        {
            XCTAssertTrue(describe.stdout.contains(expected), "describe pool lacks \(expected):\n\(describe.stdout)")
        }
    }
}
