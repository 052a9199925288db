// Issue 2: a PostgreSQL restart under a running control plane. The `opsctl serve` process is never
// restarted: it reports not-ready (503) while the database is down, ready again once it is back, and
// work submitted afterwards completes on the same worker process.

import APITypes
import Foundation
import Postgres
import TestSupport
import XCTest

final class IntegrationDatabaseRestartTests: OwnPostgresClusterTestCase {
    private func noopManifest(_ name: String, tasks: Int) throws -> String {
        try cluster.writeManifest(
            name + ".yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: \(name)}
            spec: {type: noop, tasks: \(tasks)}
            """)
    }

    func testControlPlaneRecoversFromPostgresRestartWithoutBeingRestarted() async throws {
        let port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        let http = RawHTTP(baseURL: server)
        let serve = try cluster.startServe(port: port, leaseSeconds: 5, heartbeatSeconds: 0.5)
        try await waitUntilReady(http, process: serve)
        let worker = try cluster.startWorker(name: "node-a", server: server, pollWait: 1)

        let before = try cluster.run(
            ["apply", "-f", try noopManifest("before", tasks: 3), "--wait", "--timeout", "60"], server: server)
        XCTAssertEqual(before.status, 0, before.stdout + before.stderr)

        try cluster.postgres.server.stop()
        try await waitUntil("readyz says 503 while PostgreSQL is down", timeoutSeconds: 20) {
            await http.readyStatus() == 503
        }
        let ready = try await http.send("GET", APIRoute.readyz.path(), token: nil)
        XCTAssertEqual(ready.status, 503)
        XCTAssertTrue(
            String(decoding: ready.body, as: UTF8.self).lowercased().contains("database"),
            String(decoding: ready.body, as: UTF8.self))
        // A submission during the outage is a JSON 503 a client can retry (not a hang, not a crash) and
        // creates nothing.
        let cli = try cluster.run(["apply", "-f", try noopManifest("during", tasks: 1)], server: server)
        XCTAssertNotEqual(cli.status, 0)
        XCTAssertTrue(cli.stderr.contains("database"), "opsctl explains the outage: \(cli.stderr)")

        try cluster.postgres.server.start()
        try await waitUntil("readyz says 200 again", timeoutSeconds: 30) { await http.readyStatus() == 200 }
        XCTAssertTrue(serve.isRunning, "the control plane was never restarted")
        XCTAssertTrue(worker.isRunning)

        let after = try cluster.run(
            ["apply", "-f", try noopManifest("after", tasks: 3), "--wait", "--timeout", "60"], server: server)
        XCTAssertEqual(after.status, 0, after.stdout + after.stderr)
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'"), 6)
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM jobs WHERE state = 'succeeded'"), 2)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM jobs WHERE name = 'during'"), 0,
            "the refused submission left nothing")
        // The long-polls and LISTEN connection came back too: the job after the restart was not left queued.
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM task_attempts WHERE state = 'succeeded'"), 6)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM workers WHERE name = 'node-a' AND state = 'alive'"), 1)
    }
}
