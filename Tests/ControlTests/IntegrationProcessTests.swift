// Issue 2, "what must be shown", with real processes: `opsctl serve` and `opsctl worker` started from the
// built binary, a PostgreSQL of the test's own, state checked with SQL and through `opsctl` itself.
//   1. submit → lease → report → complete, visible in the database and in `opsctl get/describe/logs`;
//   2. `kill -9` of a worker mid-task: leased again after the deadline, completed exactly once, worker lost;
//   3. `kill -9` + restart of the control plane mid-job: workers reconnect, every task succeeds exactly once.

import APITypes
import Foundation
import Postgres
import TestSupport
import XCTest

final class IntegrationProcessTests: XCTestCase {
    private var cluster: ProcessCluster!

    override func setUpWithError() throws {
        cluster = try ProcessCluster()
    }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs()) }
        cluster?.shutdown()
        cluster = nil
    }

    private func workerID(named name: String) throws -> Int64? {
        try cluster.sql { try $0.queryFirst("SELECT id FROM workers WHERE name = $1", [.text(name)])?.int64("id") }
    }

    private func jobState(_ name: String) throws -> String? {
        try cluster.sql { try $0.queryFirst("SELECT state FROM jobs WHERE name = $1", [.text(name)])?.string("state") }
    }

    // MARK: 1. Submit, lease, report, complete

    func testSubmitLeaseReportCompleteIsRecordedAndShownByOpsctl() async throws {
        let port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        let serve = try cluster.startServe(port: port, leaseSeconds: 5, heartbeatSeconds: 0.5)
        try await waitUntilReady(RawHTTP(baseURL: server), process: serve)
        _ = try cluster.startWorker(name: "node-a", server: server)

        let manifest = try cluster.writeManifest(
            "hello.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: hello}
            spec:
              type: sleep
              tasks: 2
              resources: {cpu: 500m, memory: 64Mi}
              sleep: {seconds: 0.3}
            """)
        let apply = try cluster.run(["apply", "-f", manifest, "--wait", "--timeout", "60"], server: server)
        XCTAssertEqual(apply.status, 0, "apply --wait failed: \(apply.stdout)\n\(apply.stderr)")
        XCTAssertTrue(apply.stdout.contains("job hello created"), apply.stdout)

        // The database: the job, its tasks, one succeeded attempt each, the audit trail and the log lines.
        XCTAssertEqual(try jobState("hello"), "succeeded")
        let worker = try XCTUnwrap(try workerID(named: "node-a"))
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'hello' AND t.state = 'succeeded'"
            ), 2)
        XCTAssertEqual(
            try cluster.count(
                """
                SELECT count(*) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'hello' AND a.state = 'succeeded' AND a.worker_id = $1 AND a.number = 1
                """, [.int(worker)]), 2)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM task_attempts"), 2, "no attempt beyond the two that succeeded")
        // Each task's transitions, a batch event (entity 'tasks') counting once for every task it names.
        let taskEvents = try cluster.sql { c in
            try c.query(
                """
                SELECT e.old_state, e.new_state, coalesce(cardinality(e.task_ids), 1) AS n
                FROM events e JOIN jobs j ON j.id = e.job_id
                WHERE j.name = 'hello' AND e.entity IN ('task', 'tasks') ORDER BY e.id
                """
            ).flatMap { row in
                Array(
                    repeating: "\(try row.optionalString("old_state") ?? "-")→\(try row.string("new_state"))",
                    count: try row.int("n"))
            }
        }
        XCTAssertEqual(taskEvents.filter { $0 == "queued→running" }.count, 2, "\(taskEvents)")
        XCTAssertEqual(taskEvents.filter { $0 == "running→succeeded" }.count, 2, "\(taskEvents)")
        let jobEvents = try cluster.sql { c in
            try c.query(
                "SELECT e.new_state FROM events e JOIN jobs j ON j.id = e.entity_id WHERE e.entity = 'job' AND j.name = 'hello' ORDER BY e.id"
            )
            .map { try $0.string("new_state") }
        }
        XCTAssertEqual(jobEvents.last, "succeeded", "job events: \(jobEvents)")
        XCTAssertTrue(jobEvents.contains("running"), "job events: \(jobEvents)")
        let lines = try cluster.sql { c in
            try c.query(
                "SELECT l.line FROM task_logs l JOIN jobs j ON j.id = l.job_id WHERE j.name = 'hello' ORDER BY l.id"
            ).map { try $0.string("line") }
        }
        XCTAssertEqual(lines.filter { $0.contains("sleeping 0.3s") }.count, 2, "log lines: \(lines)")
        XCTAssertTrue(lines.contains { $0.contains("started on node-a") }, "log lines: \(lines)")

        // opsctl shows the same.
        let jobs = try cluster.run(["get", "jobs"], server: server)
        XCTAssertEqual(jobs.status, 0, jobs.stderr)
        let helloRow = try XCTUnwrap(jobs.stdout.split(separator: "\n").first { $0.hasPrefix("hello") }, jobs.stdout)
        XCTAssertTrue(helloRow.contains("succeeded"), jobs.stdout)
        XCTAssertTrue(helloRow.contains("sleep"), jobs.stdout)

        let json = try cluster.run(["get", "jobs", "-o", "json"], server: server)
        XCTAssertEqual(json.status, 0, json.stderr)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8))
        let items = (parsed as? [[String: Any]]) ?? ((parsed as? [String: Any])?["items"] as? [[String: Any]]) ?? []
        XCTAssertEqual(items.first { $0["name"] as? String == "hello" }?["state"] as? String, "succeeded", json.stdout)

        let describe = try cluster.run(["describe", "job", "hello"], server: server)
        XCTAssertEqual(describe.status, 0, describe.stderr)
        XCTAssertTrue(describe.stdout.contains("hello"), describe.stdout)
        XCTAssertTrue(describe.stdout.contains("succeeded"), describe.stdout)
        XCTAssertTrue(
            describe.stdout.contains("node-a") || describe.stdout.contains("worker \(worker)"),
            "describe names the worker:\n\(describe.stdout)")
        XCTAssertTrue(describe.stdout.contains("sleptSeconds"), "describe shows results:\n\(describe.stdout)")

        let logs = try cluster.run(["logs", "hello"], server: server)
        XCTAssertEqual(logs.status, 0, logs.stderr)
        XCTAssertEqual(logs.stdout.components(separatedBy: "sleeping 0.3s").count - 1, 2, logs.stdout)

        let workers = try cluster.run(["get", "workers"], server: server)
        XCTAssertEqual(workers.status, 0, workers.stderr)
        let row = try XCTUnwrap(workers.stdout.split(separator: "\n").first { $0.contains("node-a") }, workers.stdout)
        XCTAssertTrue(row.contains("alive"), workers.stdout)

        let missing = try cluster.run(["describe", "job", "no-such-job"], server: server)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no job named no-such-job"), missing.stderr)
    }

    // MARK: 2. kill -9 of a worker mid-task

    func testKilledWorkersTaskIsLeasedAgainAndCompletesExactlyOnce() async throws {
        let port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        // Lease 2 s, heartbeat 0.5 s: a silent worker is lost after max(lease, 4 heartbeats) = 2 s.
        let serve = try cluster.startServe(port: port, leaseSeconds: 2, heartbeatSeconds: 0.5)
        try await waitUntilReady(RawHTTP(baseURL: server), process: serve)
        let doomed = try cluster.startWorker(name: "doomed", server: server, maxTasks: 1, pollWait: 1)

        let manifest = try cluster.writeManifest(
            "survivor.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: survivor}
            spec:
              type: sleep
              retry: {maxAttempts: 3, backoffSeconds: 0.2}
              sleep: {seconds: 3}
            """)
        let apply = try cluster.run(["apply", "-f", manifest], server: server)
        XCTAssertEqual(apply.status, 0, apply.stderr)

        try waitUntil("the task runs on the doomed worker", timeoutSeconds: 30) {
            try self.cluster.count(
                """
                SELECT count(*) AS n FROM tasks t JOIN workers w ON w.id = t.worker_id WHERE t.state = 'running' AND w.name = 'doomed'
                """) == 1
        }
        try await Task.sleep(nanoseconds: 500_000_000)
        doomed.kill9()
        let killedAt = Date()
        _ = try cluster.startWorker(name: "rescuer", server: server, maxTasks: 1, pollWait: 1)

        try waitUntil("the job succeeds on the rescuer", timeoutSeconds: 45) {
            try self.jobState("survivor") == "succeeded"
        }
        let doomedID = try XCTUnwrap(try workerID(named: "doomed"))
        let rescuerID = try XCTUnwrap(try workerID(named: "rescuer"))

        let attempts = try cluster.sql { c in
            try c.query(
                """
                SELECT a.number, a.state, a.worker_id, a.started_at FROM task_attempts a JOIN tasks t ON t.id = a.task_id
                JOIN jobs j ON j.id = t.job_id WHERE j.name = 'survivor' ORDER BY a.number
                """
            ).map {
                (
                    number: try $0.int("number"), state: try $0.string("state"), worker: try $0.int64("worker_id"),
                    started: try $0.date("started_at")
                )
            }
        }
        XCTAssertEqual(attempts.map(\.state), ["expired", "succeeded"], "\(attempts)")
        XCTAssertEqual(attempts.map(\.worker), [doomedID, rescuerID])
        XCTAssertEqual(attempts.map(\.number), [1, 2])
        // The second attempt was handed out only after the first lease's deadline (2 s after the last heartbeat).
        if attempts.count == 2 {
            XCTAssertGreaterThan(
                attempts[1].started.timeIntervalSince(killedAt), 1.0, "leased again before the lease could have expired"
            )
        }
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'"), 1)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM task_attempts WHERE state = 'succeeded'"), 1,
            "completed exactly once")

        // The dead worker is marked lost, with an event saying so; the rescuer is alive.
        let states = try cluster.sql { c in
            try c.query("SELECT name, state FROM workers ORDER BY name").reduce(into: [String: String]()) {
                $0[try $1.string("name")] = try $1.string("state")
            }
        }
        XCTAssertEqual(states, ["doomed": "lost", "rescuer": "alive"])
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM events WHERE entity = 'worker' AND entity_id = $1 AND new_state = 'lost'",
                [.int(doomedID)]), 1)
        let workers = try cluster.run(["get", "workers"], server: server)
        let row = try XCTUnwrap(workers.stdout.split(separator: "\n").first { $0.contains("doomed") }, workers.stdout)
        XCTAssertTrue(row.contains("lost"), workers.stdout)
    }

    // MARK: 3. Control-plane restart mid-job

    func testControlPlaneRestartMidJobLosesNothing() async throws {
        let port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        let http = RawHTTP(baseURL: server)
        // A lease long enough to outlast the restart: nothing should have to run twice.
        let first = try cluster.startServe(port: port, leaseSeconds: 8, heartbeatSeconds: 0.5, name: "serve-1")
        try await waitUntilReady(http, process: first)
        _ = try cluster.startWorker(name: "node-a", server: server, maxTasks: 2, pollWait: 1)
        _ = try cluster.startWorker(name: "node-b", server: server, maxTasks: 2, pollWait: 1)

        let taskCount = 12
        let manifest = try cluster.writeManifest(
            "steady.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: steady}
            spec:
              type: sleep
              tasks: \(taskCount)
              resources: {cpu: 500m, memory: 64Mi}
              sleep: {seconds: 1.5}
            """)
        XCTAssertEqual(try cluster.run(["apply", "-f", manifest], server: server).status, 0)
        try waitUntil("some tasks done and others running", timeoutSeconds: 30) {
            try self.cluster.count("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'") >= 1
                && self.cluster.count("SELECT count(*) AS n FROM tasks WHERE state = 'running'") >= 1
        }

        first.kill9()
        let downStatus = await http.readyStatus()
        XCTAssertNil(downStatus, "nothing answers while the control plane is down")
        // Workers keep running what they hold; their completions wait in their report queues.
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let second = try cluster.startServe(port: port, leaseSeconds: 8, heartbeatSeconds: 0.5, name: "serve-2")
        try await waitUntilReady(http, process: second)

        do {
            try waitUntil("the job succeeds after the restart", timeoutSeconds: 60) {
                try self.jobState("steady") == "succeeded"
            }
        } catch {
            throw IntegrationFailure("\(error)\n\(cluster.stateSummary())")
        }
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'"), taskCount)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM task_attempts WHERE state = 'succeeded'"), taskCount)
        XCTAssertEqual(
            try cluster.count(
                """
                SELECT count(*) AS n FROM (SELECT task_id FROM task_attempts WHERE state = 'succeeded' GROUP BY task_id HAVING count(*) = 1) s
                """), taskCount, "every task succeeded exactly once")
        // An attempt may expire without having run: a claim whose poll response died with the first replica
        // (the worker never got it, so it does not list it in heartbeats and its lease runs out). Nothing else
        // may end otherwise, and no work is done twice (one `sleeping` line per task, below).
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM task_attempts WHERE state NOT IN ('succeeded', 'expired')"), 0,
            "no attempt failed or was lost across the restart")
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM workers WHERE state = 'alive'"), 2,
            "both workers still registered and alive")
        // Both workers reconnected to the new replica and their completions arrived (none stayed lost).
        XCTAssertEqual(
            try cluster.count(
                """
                SELECT count(*) AS n FROM task_logs l JOIN jobs j ON j.id = l.job_id WHERE j.name = 'steady' AND l.line LIKE 'sleeping%'
                """), taskCount)
    }
}
