// Issue 15: a second `opsctl up` on a state directory in use waited on the database, ignored Ctrl-C, and after
// 60 s shut down the first cluster's PostgreSQL. Now the state directory is locked (flock on `<state>/up.lock`,
// released by the kernel however the holder ends), the second exits at once naming the holder's pid, and
// `opsctl up` stops only a PostgreSQL it started. Ctrl-C is answered at every stage, also before the cluster is up.
import APITypes
import Foundation
import Postgres
import Spawn
import TestSupport
import XCTest

final class OpsctlUpStateLockTests: XCTestCase {
    func testASecondUpOnTheSameStateDirectoryExitsNamingTheFirstWhichKeepsRunning() async throws {
        let opsctl = try OpsctlBinary.path()
        let directory = try TemporaryDirectory.make(prefix: "llmops-lock-")
        defer { directory.remove() }
        let state = directory.path + "/state"
        let arguments = ["up", "--workers", "0", "--state-dir", state]
        let first = try ManagedProcess(
            name: "up-1", executable: opsctl, arguments: arguments, environment: [:], logPath: directory.path + "/1.log"
        )
        defer {
            first.kill9()
            try? EmbeddedPostgres(directory: state + "/postgres").stop()
        }
        try waitUntil("the first opsctl up is up", timeoutSeconds: 90) {
            if !first.isRunning { throw IntegrationFailure("opsctl up exited:\n\(first.output)") }
            return first.output.contains("cluster is up")
        }
        let serverURL = try String(contentsOfFile: state + "/server-url", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let second = try ManagedProcess(
            name: "up-2", executable: opsctl, arguments: arguments, environment: [:], logPath: directory.path + "/2.log"
        )
        defer { second.kill9() }
        // Before: it waited 60 s for a readiness it never got, then stopped the first cluster's PostgreSQL.
        let status = second.waitForExit(timeoutSeconds: 30)
        XCTAssertNotNil(status, "the second opsctl up must exit at once:\n\(second.output)")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(
            second.output.contains("in use") && second.output.contains("pid \(first.pid)"),
            "the error names the holder's pid \(first.pid):\n\(second.output)")

        XCTAssertTrue(first.isRunning, first.output)
        let ready = try await RawHTTP(baseURL: serverURL).send("GET", APIRoute.readyz.path(), token: nil)
        XCTAssertEqual(ready.status, 200, "the first cluster still answers")
        XCTAssertTrue(EmbeddedPostgres(directory: state + "/postgres").isRunning, "its PostgreSQL still runs")
        XCTAssertEqual(first.terminate(timeoutSeconds: 60), 0, first.output)
        XCTAssertFalse(EmbeddedPostgres(directory: state + "/postgres").isRunning, "the first stops what it started")
    }

    /// Ctrl-C while the control plane is not ready yet (here: its database does not answer) stops `opsctl up`
    /// cleanly; before, the signal's default action killed it before its handler was installed.
    func testCtrlCBeforeTheClusterIsUpStopsItCleanly() throws {
        let opsctl = try OpsctlBinary.path()
        let directory = try TemporaryDirectory.make(prefix: "llmops-int-")
        defer { directory.remove() }
        let nowhere =
            "host=127.0.0.1 port=\(try EmbeddedPostgres.freeLoopbackPort()) dbname=ops user=ops connect_timeout=1"
        let up = try ManagedProcess(
            name: "up", executable: opsctl,
            arguments: ["up", "--workers", "0", "--state-dir", directory.path + "/state", "--database-url", nowhere],
            environment: [:], logPath: directory.path + "/up.log")
        defer { up.kill9() }
        try waitUntil("opsctl up waits for its control plane", timeoutSeconds: 30) {
            if !up.isRunning { throw IntegrationFailure("opsctl up exited:\n\(up.output)") }
            return up.output.contains("waiting for the control plane")
        }
        kill(up.pid, SIGINT)
        guard let status = up.waitForExit(timeoutSeconds: 30) else {
            return XCTFail("Ctrl-C must stop opsctl up:\n\(up.output)")
        }
        XCTAssertEqual(up.exit, .exited(status: 130), "a clean exit, not the signal's default action")
        XCTAssertEqual(status, 130, up.output)
        XCTAssertTrue(up.output.contains("interrupted"), up.output)
    }
}
