// Issue 15 "Jobs can never be deleted or re-run", with the real `opsctl` binary against a control plane on a real
// socket and a real worker process: `opsctl delete job` (history gone in one transaction, artifacts kept unless
// `--with-artifacts`, refusals that change nothing), `opsctl rerun` (a new job from the stored manifest), and a
// changed manifest under an existing name (a conflict that says how to go on, reported by `--dry-run` too).
// Before, `delete` took only `queue`, `rerun` did not exist, and a dry run said "valid" where apply said 409.

import APITypes
import Checksum
import Control
import Foundation
import Postgres
import TestSupport
import XCTest

final class JobLifecycleCommandTests: InProcessControlPlaneTestCase {
    /// A one-task sleep job; `parked` jobs select a label no worker has, so they stay pending until cancelled.
    private func manifest(
        _ name: String, priority: Int = 0, after: [String] = [], parked: Bool = false, seconds: Double = 0.1
    ) -> String {
        """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: \(name)}
        spec:
          type: sleep
          priority: \(priority)
          resources: {cpu: 100m, memory: 16Mi}
          after: [\(after.joined(separator: ", "))]
          nodeSelector: {\(parked ? "pool: nowhere" : "")}
          sleep: {seconds: \(seconds)}
        """
    }

    private func opsctl(_ arguments: [String]) throws -> CommandResult {
        try cluster.run(arguments, server: server)
    }

    private func apply(_ file: String, _ text: String, _ extra: [String] = []) throws -> CommandResult {
        try opsctl(["apply", "-f", try cluster.writeManifest(file, text)] + extra)
    }

    private func count(_ sql: String, _ name: String) throws -> Int { try cluster.count(sql, [.text(name)]) }

    private func jobState(_ name: String) throws -> String? {
        try cluster.sql { try $0.queryFirst("SELECT state FROM jobs WHERE name = $1", [.text(name)])?.string("state") }
    }

    /// Rows anywhere that belong to job `id` (tasks, attempts, logs, metrics, events).
    private func historyRows(ofJob id: Int64) throws -> [String: Int] {
        let tables = [
            "tasks": "SELECT count(*) AS n FROM tasks WHERE job_id = $1",
            "attempts":
                "SELECT count(*) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id WHERE t.job_id = $1",
            "logs": "SELECT count(*) AS n FROM task_logs WHERE job_id = $1",
            "metrics": "SELECT count(*) AS n FROM metrics WHERE job_id = $1",
            "events": "SELECT count(*) AS n FROM events WHERE job_id = $1",
        ]
        return try tables.mapValues { try cluster.count($0, [.int(id)]) }
    }

    private func jobID(_ name: String) throws -> Int64 {
        try XCTUnwrap(
            try cluster.sql { try $0.queryFirst("SELECT id FROM jobs WHERE name = $1", [.text(name)])?.int64("id") })
    }

    /// An artifact row of job `name` (what a worker's report writes), with a checksum of its own.
    private func addArtifact(toJob name: String, named artifact: String) throws {
        let sha = String(repeating: artifact.hasPrefix("a") ? "a" : "b", count: 64)
        _ = try cluster.sql { c in
            try c.execute(
                """
                INSERT INTO artifacts (job_id, name, kind, location, sha256, bytes)
                SELECT id, $2, 'checkpoint', 'cp://blobs/' || $3, $3, 3 FROM jobs WHERE name = $1
                """, [.text(name), .text(artifact), .text(sha)])
        }
    }

    // MARK: delete job

    func testDeleteJobRemovesItsHistoryKeepsItsArtifactsAndFreesTheName() throws {
        _ = try cluster.startWorker(name: "node-a", server: server)
        let first = try apply("hello.yaml", manifest("hello"), ["--wait", "--timeout", "60"])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        let id = try jobID("hello")
        // A metric point of its attempt (sleep reports none) and an artifact, as a training job's reports write.
        _ = try cluster.sql { c in
            try c.execute(
                """
                INSERT INTO metrics (job_id, task_id, attempt_id, name, step, value)
                SELECT t.job_id, t.id, a.id, 'loss', 1, 2.5 FROM tasks t JOIN task_attempts a ON a.task_id = t.id
                WHERE t.job_id = $1
                """, [.int(id)])
        }
        try addArtifact(toJob: "hello", named: "model")
        let before = try historyRows(ofJob: id)
        XCTAssertTrue(before.values.allSatisfy { $0 > 0 }, "history to delete: \(before)")

        // An unfinished job waits for it: refused, naming that job, and nothing changes.
        XCTAssertEqual(try apply("late.yaml", manifest("late", after: ["hello"], parked: true)).status, 0)
        let refused = try opsctl(["delete", "job", "hello"])
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("late"), refused.stderr)
        XCTAssertEqual(try historyRows(ofJob: id), before, "a refusal changes nothing")

        XCTAssertEqual(try opsctl(["cancel", "late"]).status, 0)
        let deleted = try opsctl(["delete", "job", "hello"])
        XCTAssertEqual(deleted.status, 0, deleted.stderr)
        XCTAssertTrue(deleted.stdout.contains("job hello deleted with 1 task(s); 1 artifact(s) kept"), deleted.stdout)
        XCTAssertNil(try jobState("hello"))
        let after = try historyRows(ofJob: id)
        XCTAssertEqual(after.values.reduce(0, +), 0, "\(after)")
        // The artifact stays, listed under the deleted job's name; its bytes stay referenced.
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM artifacts WHERE job_id = $1", [.int(id)]), 1)
        let listed = try opsctl(["get", "artifacts", "-o", "json"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let artifacts = try WireCoding.decode([ArtifactView].self, from: Data(listed.stdout.utf8))
        XCTAssertEqual(artifacts.map(\.name), ["model"])
        XCTAssertEqual(artifacts.first?.jobName, "hello")
        // One event records the deletion, outside the deleted job's history.
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM events WHERE entity = 'job' AND entity_id = $1 AND new_state = 'deleted'",
                [.int(id)]), 1)

        // The name is free: the same manifest creates a new job, which does not inherit the kept artifact.
        let again = try apply("hello.yaml", manifest("hello"))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("job hello created"), again.stdout)
        XCTAssertNotEqual(try jobID("hello"), id)
        XCTAssertEqual(
            try count(
                "SELECT count(*) AS n FROM artifacts a JOIN jobs j ON j.id = a.job_id WHERE j.name = $1", "hello"), 0)
    }

    func testDeleteRefusesAnUnfinishedJobUnlessForcedAndNamesAnUnknownOne() throws {
        let unknown = try opsctl(["delete", "job", "nosuchjob"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("nosuchjob"), unknown.stderr)

        XCTAssertEqual(try apply("parked.yaml", manifest("parked", parked: true)).status, 0)
        try addArtifact(toJob: "parked", named: "a-weights")
        let refused = try opsctl(["delete", "job", "parked"])
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("cancel it first"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--force"), refused.stderr)
        XCTAssertEqual(try jobState("parked"), "pending", "a refusal changes nothing")

        let forced = try opsctl(["delete", "job", "parked", "--force", "--with-artifacts"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stdout.contains("job parked cancelled and deleted"), forced.stdout)
        XCTAssertTrue(forced.stdout.contains("1 artifact(s) deleted"), forced.stdout)
        XCTAssertNil(try jobState("parked"))
        // Its artifact row is gone, so nothing references the blob any more: the collector may delete it.
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM artifacts"), 0)
    }

    /// `--force` on a job a worker is running: its attempt is cancelled, the job deleted, and the worker (told on
    /// its next heartbeat that the task no longer exists) goes on taking work.
    func testForceDeletingARunningJobStopsItsAttemptAndTheWorkerGoesOn() throws {
        _ = try cluster.startWorker(name: "node-a", server: server)
        XCTAssertEqual(try apply("long.yaml", manifest("long", seconds: 60)).status, 0)
        try waitUntil("the long job runs", timeoutSeconds: 30) {
            try self.count(
                "SELECT count(*) AS n FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = $1 AND t.state = 'running'",
                "long") == 1
        }
        let forced = try opsctl(["delete", "job", "long", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stdout.contains("job long cancelled and deleted with 1 task(s)"), forced.stdout)
        XCTAssertNil(try jobState("long"))
        let next = try apply("next.yaml", manifest("next"), ["--wait", "--timeout", "60"])
        XCTAssertEqual(next.status, 0, next.stdout + next.stderr)
        XCTAssertEqual(try count("SELECT count(*) AS n FROM workers WHERE name = $1 AND state = 'alive'", "node-a"), 1)
    }

    /// A kept artifact keeps its bytes through a blob collection; `--with-artifacts` leaves them unreferenced and
    /// the collector deletes them (both blobs are older than the grace period, so only a reference keeps one).
    func testKeptArtifactsKeepTheirBytesAndDeletedOnesAreCollected() async throws {
        let http = RawHTTP(baseURL: server)
        var blobFiles: [String: String] = [:]
        for job in ["keeper", "dropper"] {
            XCTAssertEqual(try apply("\(job).yaml", manifest(job, parked: true)).status, 0)
            let data = Data("weights of \(job)".utf8)
            let sha = SHA256.hex(of: data)
            let put = try await http.send("PUT", APIRoute.putBlob.path(sha), token: cluster.adminToken, body: data)
            XCTAssertEqual(put.status / 100, 2, String(decoding: put.body, as: UTF8.self))
            _ = try cluster.sql { c in
                try c.execute(
                    """
                    INSERT INTO artifacts (job_id, name, kind, location, sha256, bytes)
                    SELECT id, 'weights', 'weights', 'cp://blobs/' || $2, $2, $3 FROM jobs WHERE name = $1
                    """, [.text(job), .text(sha), .int(Int64(data.count))])
            }
            let file = cluster.directory.path + "/artifacts/blobs/\(sha.prefix(2))/\(sha)"
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: file)
            blobFiles[job] = file
        }
        XCTAssertEqual(try opsctl(["delete", "job", "keeper", "--force"]).status, 0)
        XCTAssertEqual(try opsctl(["delete", "job", "dropper", "--force", "--with-artifacts"]).status, 0)
        let collect = try opsctl(["collect-blobs", "-o", "json"])
        XCTAssertEqual(collect.status, 0, collect.stderr)
        let report = try WireCoding.decode(BlobCollectionReport.self, from: Data(collect.stdout.utf8))
        XCTAssertEqual(report.deleted, 1, "\(report)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: blobFiles["keeper"]!), "a kept artifact keeps its bytes")
        XCTAssertFalse(FileManager.default.fileExists(atPath: blobFiles["dropper"]!), "a deleted artifact's bytes go")
    }

    // MARK: rerun

    func testRerunCreatesANewJobFromTheStoredManifestWithItsDependencies() throws {
        XCTAssertEqual(try apply("parent.yaml", manifest("parent", parked: true)).status, 0)
        XCTAssertEqual(
            try apply("child.yaml", manifest("child", priority: 7, after: ["parent"], parked: true)).status, 0)
        let running = try opsctl(["rerun", "child"])
        XCTAssertEqual(running.status, 1, "an unfinished job is not rerun")
        XCTAssertTrue(running.stderr.contains("opsctl cancel child"), running.stderr)

        XCTAssertEqual(try opsctl(["cancel", "parent"]).status, 0)
        XCTAssertEqual(try jobState("child"), "failed", "its dependency was cancelled (onDependencyFailure: fail)")
        let rerun = try opsctl(["rerun", "child"])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stdout.contains("job child-2 created (rerun of child)"), rerun.stdout)
        // The stored spec, not the file (which could have changed since): same priority, same `after:`.
        let view = try opsctl(["get", "jobs", "child-2", "-o", "json"])
        XCTAssertEqual(view.status, 0, view.stderr)
        XCTAssertTrue(view.stdout.contains("\"priority\" : 7") || view.stdout.contains("\"priority\":7"), view.stdout)
        XCTAssertEqual(
            try count(
                """
                SELECT count(*) AS n FROM job_dependencies d JOIN jobs j ON j.id = d.job_id JOIN jobs a ON a.id = d.after_job_id
                WHERE j.name = $1 AND a.name = 'parent'
                """, "child-2"), 1)
        // Its dependency is cancelled already, so the rerun failed at once too (finished): rerun it again.
        XCTAssertEqual(try jobState("child-2"), "failed")
        let third = try opsctl(["rerun", "child-2"])
        XCTAssertTrue(third.stdout.contains("job child-3 created (rerun of child-2)"), third.stdout + third.stderr)
        let named = try opsctl(["rerun", "parent", "--as", "parent-again"])
        XCTAssertTrue(named.stdout.contains("job parent-again created"), named.stdout + named.stderr)
        let unknown = try opsctl(["rerun", "nosuchjob"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("nosuchjob"), unknown.stderr)
    }

    // MARK: changed manifest

    func testAChangedManifestUnderAnExistingNameSaysHowToGoOnAndDryRunSaysTheSame() throws {
        XCTAssertEqual(try apply("job.yaml", manifest("tuned", parked: true)).status, 0)
        let same = try apply("job.yaml", manifest("tuned", parked: true))
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertTrue(same.stdout.contains("job tuned unchanged"), same.stdout)
        let sameDry = try apply("job.yaml", manifest("tuned", parked: true), ["--dry-run"])
        XCTAssertEqual(sameDry.status, 0, sameDry.stderr)
        XCTAssertTrue(sameDry.stdout.contains("job tuned unchanged"), sameDry.stdout)

        let changed = try apply("job.yaml", manifest("tuned", priority: 5, parked: true))
        XCTAssertEqual(changed.status, 1, changed.stdout)
        for expected in [
            "exists with a different spec", "spec.priority", "opsctl delete job tuned", "opsctl rerun tuned",
        ] {
            XCTAssertTrue(changed.stderr.contains(expected), "missing \"\(expected)\" in: \(changed.stderr)")
        }
        let dry = try apply("job.yaml", manifest("tuned", priority: 5, parked: true), ["--dry-run"])
        XCTAssertEqual(dry.status, changed.status, dry.stdout)
        XCTAssertEqual(dry.stderr, changed.stderr, "a dry run reports what the apply would")
        // A dry run also asks the database about `after:` names, as apply does.
        let orphan = try apply("orphan.yaml", manifest("orphan", after: ["nowhere"]), ["--dry-run"])
        XCTAssertNotEqual(orphan.status, 0, orphan.stdout)
        XCTAssertTrue(orphan.stderr.contains("nowhere"), orphan.stderr)
        XCTAssertNil(try jobState("orphan"))
    }
}
