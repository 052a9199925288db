// Issue 15 "as root, the default ~/.opsctl must work", through the real `opsctl up`. As root the server runs as
// `postgres`, who cannot enter a 0700 home: before, `opsctl up` with the default state directory stopped with
// "the postgres user cannot reach the state directory".
import Foundation
import Postgres
import TestSupport
import XCTest

final class OpsctlUpRecoveryTests: XCTestCase {
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
}
