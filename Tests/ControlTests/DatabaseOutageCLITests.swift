// Issue 15: with its PostgreSQL stopped behind a live control plane, `opsctl` used to wait out its 30 s client
// timeout (the store's reads retried a lost connection for 30 s) and said "timed out". The control plane now
// answers 503 `database_unavailable` once its short retry (3 s) is spent, and opsctl names the database.

import APITypes
import Foundation
import Postgres
import TestSupport
import XCTest

final class DatabaseOutageCLITests: OwnPostgresClusterTestCase {
    func testOpsctlSaysTheControlPlaneCannotReachItsDatabase() async throws {
        let port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        let http = RawHTTP(baseURL: server)
        let serve = try cluster.startServe(port: port, leaseSeconds: 5, heartbeatSeconds: 0.5)
        try await waitUntilReady(http, process: serve)
        let manifest = try cluster.writeManifest(
            "before.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: before}
            spec: {type: noop, tasks: 1}
            """)
        let applied = try cluster.run(["apply", "-f", manifest], server: server)
        XCTAssertEqual(applied.status, 0, applied.stdout + applied.stderr)

        try cluster.postgres.server.stop()
        for command in [["get", "jobs"], ["describe", "job", "before"], ["get", "events"]] {
            // 25 s: under the client's own 30 s timeout, so a command that waited that out fails here.
            let result = try cluster.run(command, server: server, timeoutSeconds: 25)
            let line = "opsctl \(command.joined(separator: " ")): \(result.stderr)"
            XCTAssertNotEqual(result.status, 0, line)
            XCTAssertTrue(
                result.stderr.contains("the control plane at \(server) cannot reach its database"), line)
            XCTAssertTrue(result.stderr.contains("check PostgreSQL"), line)
            XCTAssertFalse(result.stderr.contains("timed out"), line)
        }
        let raw = try await http.send("GET", APIRoute.jobs.path(), token: cluster.adminToken)
        XCTAssertEqual(raw.status, 503)
        XCTAssertTrue(String(decoding: raw.body, as: UTF8.self).contains("database_unavailable"))
        XCTAssertTrue(serve.isRunning, "the control plane keeps running through the outage")
    }
}
