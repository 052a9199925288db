// Issue 15 "as root, the default ~/.opsctl must work" and "a local cluster once left its PostgreSQL running",
// through the real `opsctl up`. As root the server runs as `postgres`, who cannot enter a 0700 home: before,
// `opsctl up` with the default state directory stopped with "the postgres user cannot reach the state directory".
// A PostgreSQL left behind (its `opsctl up` killed, or stopped by SIGINT and then SIGTERM) must not outlive the
// next start of the same state directory, nor a stop interrupted by a second signal.
import Foundation
import Postgres
import TestSupport
import XCTest

final class OpsctlUpRecoveryTests: XCTestCase {
    /// The pid in the cluster's `postmaster.pid`, while that file exists.
    private func postmasterPID(_ databaseDirectory: String) -> Int32? {
        guard let text = try? String(contentsOfFile: databaseDirectory + "/data/postmaster.pid", encoding: .utf8)
        else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Running: signal 0 reaches it and it is no zombie (an exited server the process that adopted it has not
    /// reaped yet still answers signal 0).
    private func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let nameEnd = stat.lastIndex(of: ")")
        else { return true }
        return !stat[nameEnd...].dropFirst(2).hasPrefix("Z")
    }

    private func startUp(_ name: String, _ arguments: [String], in directory: TemporaryDirectory, home: String? = nil)
        throws -> ManagedProcess
    {
        let up = try ManagedProcess(
            name: name, executable: try OpsctlBinary.path(), arguments: ["up", "--workers", "0"] + arguments,
            environment: home.map { ["HOME": $0] } ?? [:], logPath: directory.path + "/\(name).log")
        try waitUntil("\(name) is up", timeoutSeconds: 90) {
            if !up.isRunning { throw IntegrationFailure("opsctl up exited:\n\(up.output)") }
            return up.output.contains("cluster is up")
        }
        return up
    }

    func testAsRootTheDefaultStateDirectoryInAPrivateHomeWorks() throws {
        guard getuid() == 0 else { throw XCTSkip("the postgres user takes over only when opsctl runs as root") }
        let directory = try TemporaryDirectory.make(prefix: "llmops-roothome-")
        defer { directory.remove() }
        let home = directory.path + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(home, 0o700), 0, "a home only root may search, as /root is")
        let link = home + "/.opsctl/postgres"
        var target: String?
        defer {
            if let target {
                try? EmbeddedPostgres(directory: target).stop()
                try? FileManager.default.removeItem(atPath: target)
            }
        }
        let up = try startUp("up-root", [], in: directory, home: home)
        defer { up.kill9() }
        target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        let relocated = try XCTUnwrap(target)
        XCTAssertTrue(relocated.hasPrefix("/var/lib/opsctl/postgres/"), relocated)
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/.opsctl/server-url"), up.output)
        XCTAssertTrue(EmbeddedPostgres(directory: relocated).isRunning)
        XCTAssertEqual(up.terminate(timeoutSeconds: 60), 0, up.output)
        XCTAssertFalse(EmbeddedPostgres(directory: relocated).isRunning, "stopped with its opsctl up")

        // The next start finds the same database through the link.
        let again = try startUp("up-root-2", [], in: directory, home: home)
        defer { again.kill9() }
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), relocated)
        XCTAssertEqual(again.terminate(timeoutSeconds: 60), 0, again.output)
    }

    func testTheNextUpStopsThePostgreSQLAKilledUpLeftRunning() throws {
        let directory = try TemporaryDirectory.make(prefix: "llmops-orphan-")
        defer { directory.remove() }
        let state = directory.path + "/state"
        defer { try? EmbeddedPostgres(directory: state + "/postgres").stop() }
        let first = try startUp("up-1", ["--state-dir", state], in: directory)
        let orphan = try XCTUnwrap(postmasterPID(state + "/postgres"))
        first.kill9()
        XCTAssertTrue(isAlive(orphan), "SIGKILL leaves the server of the killed opsctl up running")

        let second = try startUp("up-2", ["--state-dir", state], in: directory)
        defer { second.kill9() }
        XCTAssertFalse(isAlive(orphan), "the orphan of this state directory is stopped:\n\(second.output)")
        let current = try XCTUnwrap(postmasterPID(state + "/postgres"))
        XCTAssertNotEqual(current, orphan)
        XCTAssertEqual(second.terminate(timeoutSeconds: 60), 0, second.output)
        XCTAssertFalse(isAlive(current), "and the server it started stops with it")
    }

    func testSIGINTThenSIGTERMStillStopsItsPostgreSQL() throws {
        let directory = try TemporaryDirectory.make(prefix: "llmops-signals-")
        defer { directory.remove() }
        let state = directory.path + "/state"
        defer { try? EmbeddedPostgres(directory: state + "/postgres").stop() }
        let up = try startUp("up", ["--state-dir", state], in: directory)
        defer { up.kill9() }
        let server = try XCTUnwrap(postmasterPID(state + "/postgres"))
        kill(up.pid, SIGINT)
        Thread.sleep(forTimeInterval: 0.2)
        kill(up.pid, SIGTERM)
        XCTAssertNotNil(up.waitForExit(timeoutSeconds: 60), up.output)
        XCTAssertFalse(isAlive(server), "a second signal must not cut the stop short:\n\(up.output)")
    }
}
