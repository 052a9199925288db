// Issue 22.9: the embedded PostgreSQL (`opsctl up`, the tests) lets in only the user who started it. Before the
// fix it listened on 127.0.0.1 with trust authentication: any local user connected as superuser and could run
// `COPY ... TO PROGRAM`. These tests try as another OS user (`nobody`, through runuser: needs root, as CI runs).
import Foundation
import Postgres
import TestSupport
import XCTest

final class EmbeddedAccessTests: XCTestCase {
    /// Runs psql as `user` against `arguments`; returns (exit status, output).
    private func psql(as user: String, _ arguments: [String]) throws -> (Int32, String) {
        let bin = try EmbeddedPostgres.newestBinDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = ["-u", user, "--", bin + "/psql", "-X", "-w", "-tA"] + arguments
        process.environment = ["PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "5"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    func testOnlyTheOwnerConnectsAndThereIsNoTCPListener() throws {
        guard getuid() == 0 else { throw XCTSkip("trying another OS user needs root (CI runs as root)") }
        let test = try TestPostgres()
        defer { test.destroy() }
        let server = test.server
        let port = try XCTUnwrap(server.port)

        // The owner (this process) connects over the socket.
        let owner = try PostgresConnection(conninfo: server.conninfo)
        XCTAssertEqual(try owner.queryOne("SELECT current_user AS u").string("u"), "postgres")
        XCTAssertEqual(try owner.queryOne("SHOW listen_addresses").string("listen_addresses"), "", "no TCP listener")
        owner.close()

        // Nothing answers on TCP.
        XCTAssertThrowsError(
            try PostgresConnection(
                conninfo: "host=127.0.0.1 port=\(port) dbname=postgres user=postgres connect_timeout=3"))

        // Another local user gets nowhere: the socket directory is private and peer authentication maps only
        // the owner. The attempt the issue reproduced (COPY ... TO PROGRAM) never runs.
        let marker = NSTemporaryDirectory() + "copy-to-program-\(getpid())"
        let (status, output) = try psql(
            as: "nobody",
            [
                "-h", server.socketDirectory, "-p", String(port), "-U", "postgres",
                "-d", "postgres", "-c", "COPY (SELECT 1) TO PROGRAM 'touch \(marker)'",
            ])
        XCTAssertNotEqual(status, 0, output)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: marker), "another user ran a program as the database superuser")
        let (tcpStatus, tcpOutput) = try psql(
            as: "nobody",
            [
                "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres",
                "-c", "SELECT 1",
            ])
        XCTAssertNotEqual(tcpStatus, 0, tcpOutput)

        // The directory's access rules are the ones written at start.
        let hba = try String(contentsOfFile: server.dataDirectory + "/pg_hba.conf", encoding: .utf8)
        XCTAssertFalse(hba.contains("trust"), hba)
        var info = stat()
        XCTAssertEqual(stat(server.socketDirectory, &info), 0)
        XCTAssertEqual(info.st_mode & 0o077, 0, "socket directory mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    /// A cluster made by an older version (trust over TCP) is locked down the next time it starts.
    func testAnOldTrustingClusterIsLockedDownOnStart() throws {
        let test = try TestPostgres()
        defer { test.destroy() }
        let server = test.server
        try server.stop()
        try "host all all 127.0.0.1/32 trust\nlocal all all trust\n".write(
            toFile: server.dataDirectory + "/pg_hba.conf",
            atomically: true, encoding: .utf8)
        try server.start()
        let hba = try String(contentsOfFile: server.dataDirectory + "/pg_hba.conf", encoding: .utf8)
        XCTAssertFalse(hba.contains("trust"), hba)
        let owner = try PostgresConnection(conninfo: server.conninfo)
        XCTAssertEqual(try owner.queryOne("SELECT 1 AS one").int("one"), 1)
        owner.close()
    }
}
