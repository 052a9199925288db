// Issue 17's CLI with the real `opsctl` binary against a control plane on a real socket: `get metrics JOB` prints
// a metric's whole history (6,000 points: two pages of the route's keyset cursor) as CSV, JSON, YAML, a table or
// sparklines; `describe job` draws the sparklines; `-o yaml` reads back as `-o json`; `get --watch` prints each
// changed listing once until SIGINT; `opsctl version` prints the control plane's version, and says so (exit 1)
// when it cannot be reached. Before, `get metrics`, `-o csv`/`-o yaml`, `--watch` and the server's version did
// not exist.

import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import XCTest
import YAML

@testable import OpsCommandLine

final class ObservabilityCommandTests: InProcessControlPlaneTestCase {
    private func opsctl(_ arguments: [String]) throws -> CommandResult { try cluster.run(arguments, server: server) }

    private func manifest(_ name: String, parked: Bool = false) -> String {
        """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: \(name)}
        spec:
          type: sleep
          resources: {cpu: 100m, memory: 16Mi}
          nodeSelector: {\(parked ? "pool: nowhere" : "")}
          sleep: {seconds: 0.1}
        """
    }

    /// A finished one-task job with `steps` points of `loss` (10 / step) and of `lr`, stored through the
    /// control plane's `MetricStore` as a worker's report batch stores them.
    private func jobWithMetrics(_ name: String, steps: Int) throws {
        _ = try cluster.startWorker(name: "node-a", server: server)
        let applied = try opsctl(["apply", "-f", try cluster.writeManifest(name + ".yaml", manifest(name)), "--wait"])
        XCTAssertEqual(applied.status, 0, applied.stdout + applied.stderr)
        XCTAssertFalse(applied.stdout.contains("█") || applied.stdout.contains("\u{1B}"), "no bar in a pipe")
        let attempt = try cluster.sql { c in
            try c.queryFirst(
                """
                SELECT a.id FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE j.name = $1
                """, [.text(name)])?.int64("id")
        }
        let pool = PostgresPool(conninfo: cluster.databaseURL, maxConnections: 1)
        let points = (1...steps).flatMap { step in
            [
                MetricPoint(name: "loss", step: Int64(step), value: 10 / Double(step)),
                MetricPoint(name: "lr", step: Int64(step), value: 0.001),
            ]
        }
        XCTAssertEqual(
            try MetricStore(pool: pool).append(attempt: AttemptID(rawValue: try XCTUnwrap(attempt)), points: points),
            2 * steps)
    }

    func testGetMetricsPrintsAMetricsWholeHistoryInEveryFormat() throws {
        let steps = 6_000
        try jobWithMetrics("train", steps: steps)

        let csv = try opsctl(["get", "metrics", "train", "--name", "loss", "-o", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = csv.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.first?.joined(separator: ","), "name,step,value,taskID,attemptID,time")
        XCTAssertEqual(rows.count, steps + 1, "every point, across the route's pages")
        XCTAssertEqual(rows.dropFirst().map { Int($0[1])! }, Array(1...steps), "oldest first, each step once")
        XCTAssertTrue(rows.dropFirst().allSatisfy { $0[0] == "loss" })
        XCTAssertEqual(Double(String(rows[3][2])), 10.0 / 3, "values in full precision")
        XCTAssertEqual(csv.stderr, "")

        let json = try opsctl(["get", "metrics", "train", "-o", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let views = try WireCoding.decode([MetricPointView].self, from: Data(json.stdout.utf8))
        XCTAssertEqual(views.count, 2 * steps, "both metrics without --name")
        XCTAssertEqual(Set(views.map(\.name)), ["loss", "lr"])

        // YAML reads back as the JSON of the same listing.
        let yaml = try opsctl(["get", "metrics", "train", "--name", "lr", "--limit", "3", "-o", "yaml"])
        XCTAssertEqual(yaml.status, 0, yaml.stderr)
        let lrJSON = try opsctl(["get", "metrics", "train", "--name", "lr", "--limit", "3", "-o", "json"])
        let node = try XCTUnwrap(try YAMLParser.parse(yaml.stdout))
        XCTAssertEqual(
            ManifestFile.json(from: node), try WireCoding.decode(AnyJSON.self, from: Data(lrJSON.stdout.utf8)),
            yaml.stdout)
        XCTAssertEqual(ManifestFile.json(from: node).arrayValue?.count, 3)
        XCTAssertTrue(yaml.stderr.contains("showing the first 3 metric points; more exist"), yaml.stderr)

        let sparkline = try opsctl(["get", "metrics", "train", "--sparkline"])
        XCTAssertEqual(sparkline.status, 0, sparkline.stderr)
        let lines = sparkline.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, sparkline.stdout)
        XCTAssertTrue(lines[0].hasPrefix("loss  █"), sparkline.stdout)
        XCTAssertTrue(
            lines[0].contains("▁  10 → 0.001667  (min 0.001667, max 10; 6000 steps, 1…6000)"), sparkline.stdout)
        XCTAssertTrue(lines[1].hasPrefix("lr    ▄▄▄"), sparkline.stdout)

        let described = try opsctl(["describe", "job", "train"])
        XCTAssertEqual(described.status, 0, described.stderr)
        XCTAssertTrue(described.stdout.contains("Metric history (over steps;"), described.stdout)
        XCTAssertTrue(described.stdout.contains("  loss  █"), described.stdout)
        let describedYAML = try opsctl(["describe", "job", "train", "-o", "yaml"])
        XCTAssertEqual(describedYAML.status, 0, describedYAML.stderr)
        let description = try XCTUnwrap(try YAMLParser.parse(describedYAML.stdout))
        XCTAssertEqual(description["job"]?["name"]?.scalarValue, "train")

        let table = try opsctl(["get", "metrics", "train", "--name", "loss", "--limit", "2"])
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 3, table.stdout)
        XCTAssertTrue(table.stdout.hasPrefix("METRIC  STEP  VALUE  TASK"), table.stdout)

        let unknown = try opsctl(["get", "metrics", "nosuchjob"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("nosuchjob"), unknown.stderr)
        let wrongKind = try opsctl(["get", "jobs", "-o", "csv"])
        XCTAssertEqual(wrongKind.status, 2)
        XCTAssertTrue(wrongKind.stderr.contains("-o csv is for `get metrics`"), wrongKind.stderr)
    }

    func testGetYAMLReadsBackAsItsJSON() throws {
        XCTAssertEqual(
            try opsctl(["apply", "-f", try cluster.writeManifest("p.yaml", manifest("parked", parked: true))]).status, 0
        )
        for kind in ["jobs", "tasks", "queues"] {
            let yaml = try opsctl(["get", kind, "-o", "yaml"])
            let json = try opsctl(["get", kind, "-o", "json"])
            XCTAssertEqual(yaml.status, 0, yaml.stderr)
            let node = try XCTUnwrap(try YAMLParser.parse(yaml.stdout), yaml.stdout)
            var expected = try WireCoding.decode(AnyJSON.self, from: Data(json.stdout.utf8))
            var got = ManifestFile.json(from: node)
            if kind == "jobs" || kind == "tasks" {
                // The pending reason can change between the two listings; everything else must not.
                expected = Self.withoutPendingReason(expected)
                got = Self.withoutPendingReason(got)
            }
            XCTAssertEqual(got, expected, "get \(kind):\n\(yaml.stdout)")
        }
    }

    private static func withoutPendingReason(_ value: AnyJSON) -> AnyJSON {
        guard case .array(let items) = value else { return value }
        return .array(
            items.map { item in
                guard case .object(var members) = item else { return item }
                members["pendingReason"] = nil
                members["updatedAt"] = nil
                return .object(members)
            })
    }

    func testGetWatchPrintsEachChangedListingOnceUntilInterrupted() throws {
        let watch = try cluster.startTracked(
            name: "watch", executable: cluster.opsctl,
            arguments: ["get", "jobs", "--watch", "--watch-interval-seconds", "0.2", "-o", "yaml"],
            ["OPS_SERVER": server, "OPS_TOKEN": cluster.adminToken, "OPS_STATE_DIR": cluster.directory.path])
        try waitUntil("the first listing", timeoutSeconds: 20) { watch.output == "[]\n" }
        XCTAssertEqual(
            try opsctl(["apply", "-f", try cluster.writeManifest("w.yaml", manifest("watched", parked: true))]).status,
            0)
        try waitUntil("a listing with the new job", timeoutSeconds: 20) { watch.output.contains("  name: watched\n") }
        // Ten more intervals: a listing that does not change is not printed again.
        Thread.sleep(forTimeInterval: 2)
        let listings = watch.output.components(separatedBy: "\n\n")
        XCTAssertGreaterThanOrEqual(listings.count, 2, watch.output)
        XCTAssertLessThanOrEqual(listings.count, 4, "only changed listings (the pending reason may change once)")
        XCTAssertEqual(listings.first, "[]", watch.output)
        for (earlier, later) in zip(listings, listings.dropFirst()) { XCTAssertNotEqual(earlier, later) }
        XCTAssertTrue(listings.last!.contains("  name: watched\n"), watch.output)

        kill(watch.pid, SIGINT)
        XCTAssertEqual(watch.waitForExit(timeoutSeconds: 10), 0, "Ctrl-C ends a watch normally")
    }

    /// `opsctl ARGUMENTS` on a pseudo-terminal (util-linux `script`), as a user's shell runs it; what it wrote.
    private func onTerminal(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let quoted = ([cluster.opsctl] + arguments).map { "'" + $0 + "'" }.joined(separator: " ")
        // `script` copies the terminal's output to its own standard output (the process log); no typescript file.
        let process = try cluster.startTracked(
            name: "tty", executable: "/usr/bin/script", arguments: ["-qfec", quoted, "/dev/null"],
            ["OPS_SERVER": server, "OPS_TOKEN": cluster.adminToken, "OPS_STATE_DIR": cluster.directory.path])
        let status = process.waitForExit(timeoutSeconds: 60)
        return (try XCTUnwrap(status, "opsctl on a terminal did not finish"), process.output)
    }

    func testApplyWaitAndLogsFollowDrawAProgressBarOnATerminal() throws {
        _ = try cluster.startWorker(name: "node-a", server: server)
        // A single-task job: before, its line said 0/1 tasks without an ETA until it ended. `sleep` reports its
        // progress about ten times.
        let slow = manifest("slow").replacingOccurrences(of: "seconds: 0.1", with: "seconds: 4")
        let applied = try onTerminal(["apply", "-f", try cluster.writeManifest("slow.yaml", slow), "--wait"])
        XCTAssertEqual(applied.status, 0, applied.output)
        XCTAssertTrue(applied.output.contains("slow  running  [█"), applied.output)
        XCTAssertTrue(applied.output.contains("0/1 tasks (1 running)  ETA "), applied.output)

        let again = manifest("again").replacingOccurrences(of: "seconds: 0.1", with: "seconds: 4")
        XCTAssertEqual(try opsctl(["apply", "-f", try cluster.writeManifest("again.yaml", again)]).status, 0)
        let followed = try onTerminal(["logs", "-f", "again"])
        XCTAssertEqual(followed.status, 0, followed.output)
        XCTAssertTrue(followed.output.contains("sleeping 4"), followed.output)
        XCTAssertTrue(followed.output.contains("\r\u{1B}[2Kagain  running  ["), "the status line: \(followed.output)")
        // The last status line drawn is erased again before the command ends.
        let lastStatus = try XCTUnwrap(followed.output.range(of: "\r\u{1B}[2Kagain  ", options: .backwards))
        XCTAssertTrue(
            followed.output[lastStatus.upperBound...].contains("\r\u{1B}[2K"),
            "erased when the job ends: \(followed.output.suffix(300))")
    }

    func testVersionPrintsClientAndServerAndSaysWhenTheServerCannotBeReached() throws {
        let both = try opsctl(["version"])
        XCTAssertEqual(both.status, 0, both.stderr)
        XCTAssertEqual(both.stdout, "opsctl \(opsVersion)\ncontrol plane \(opsVersion) at \(server)\n")

        let unreachableURL = "http://127.0.0.1:\(try FreePort.next())"
        let unreachable = try cluster.run(["version"], server: unreachableURL)
        XCTAssertEqual(unreachable.status, 1)
        XCTAssertEqual(unreachable.stdout, "opsctl \(opsVersion)\n", "the client's version is still printed")
        XCTAssertTrue(
            unreachable.stderr.hasPrefix("opsctl: error: could not ask the control plane for its version: ")
                && unreachable.stderr.contains(unreachableURL),
            unreachable.stderr)

        let client = try cluster.run(["version", "--client"], server: unreachableURL)
        XCTAssertEqual(client.status, 0, client.stderr)
        XCTAssertEqual(client.stdout, "opsctl \(opsVersion)\n")
    }
}
