// Issue 22.9 and 22.10 through the real `opsctl up`: its embedded PostgreSQL listens on no TCP port (only its
// private socket), and its output names the admin-token file without printing the token (the demo saves that
// output to a log; the token once stood in it for every local user to read).
import Foundation
import Postgres
import TestSupport
import XCTest

final class OpsctlUpTests: XCTestCase {
    func testUpNeverPrintsTheAdminTokenAndItsDatabaseHasNoTCPListener() throws {
        let opsctl = try OpsctlBinary.path()
        let directory = try TemporaryDirectory.make(prefix: "llmops-up-")
        defer { directory.remove() }
        let state = directory.path + "/state"
        let log = directory.path + "/up.log"
        let up = try ManagedProcess(
            name: "up", executable: opsctl, arguments: ["up", "--workers", "0", "--state-dir", state],
            environment: [:], logPath: log)
        defer { up.kill9() }
        try waitUntil("opsctl up wrote server-url", timeoutSeconds: 90) {
            if !up.isRunning { throw IntegrationFailure("opsctl up exited:\n\(up.output)") }
            return FileManager.default.fileExists(atPath: state + "/server-url") && up.output.contains("cluster is up")
        }
        let token = try String(contentsOfFile: state + "/admin-token", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        XCTAssertFalse(token.isEmpty)
        XCTAssertFalse(up.output.contains(token), "the admin token was printed:\n\(up.output)")
        XCTAssertTrue(up.output.contains(state + "/admin-token"), up.output)
        var info = stat()
        XCTAssertEqual(stat(state + "/admin-token", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)

        // The database: reachable by the owner through the socket in the state directory, not over TCP.
        let port = try XCTUnwrap(
            Int(
                try String(contentsOfFile: state + "/postgres/port", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertThrowsError(
            try PostgresConnection(
                conninfo: "host=127.0.0.1 port=\(port) dbname=postgres user=postgres connect_timeout=3"))
        let owner = try PostgresConnection(
            conninfo: "host=\(state)/postgres/run port=\(port) dbname=postgres user=postgres")
        XCTAssertEqual(try owner.queryOne("SELECT 1 AS one").int("one"), 1)
        owner.close()

        XCTAssertEqual(up.terminate(timeoutSeconds: 60), 0, up.output)
    }
}
