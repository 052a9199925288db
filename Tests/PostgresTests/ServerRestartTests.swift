import Foundation
import Postgres
import TestSupport
import XCTest

/// Restarts and crashes need a server of their own.
final class ServerRestartTests: XCTestCase {
    func testPoolAndListenerRecoverFromRestartAndCrash() throws {
        let test = try TestPostgres()
        defer { test.destroy() }
        let server = test.server
        let conninfo = try test.freshDatabase(named: "restarts")
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 4)
        defer { pool.close() }
        try pool.withConnection { try $0.execute("CREATE TABLE kept (v text)") }
        try pool.transaction { try $0.execute("INSERT INTO kept VALUES ('before restart')") }

        let received = Mailbox<PostgresListener.Event>()
        let listener = PostgresListener(conninfo: conninfo, channels: ["wake"]) { received.put($0) }
        defer { listener.stop() }
        XCTAssertTrue(listener.waitUntilListening(timeoutSeconds: 10))

        // A held connection sees the loss as a typed error.
        let direct = try PostgresConnection(conninfo: conninfo)
        let port = server.port
        try server.restart()
        XCTAssertEqual(server.port, port, "restart keeps the port")
        XCTAssertThrowsError(try direct.query("SELECT 1")) { error in
            XCTAssertTrue((error as? PostgresError)?.isConnectionLost == true, "\(error)")
        }

        // The pool replaces its dead idle connections without the caller noticing.
        XCTAssertEqual(try pool.withConnection { try $0.queryOne("SELECT v FROM kept").string("v") }, "before restart")

        // The listener reconnects, says it may have missed something, and works again.
        try waitUntil("listener reconnect", timeoutSeconds: 15) {
            received.items.contains(.listening(mayHaveMissed: true))
        }
        XCTAssertTrue(listener.waitUntilListening(timeoutSeconds: 10))
        try pool.withConnection { try $0.notify(channel: "wake", payload: "after restart") }
        try waitUntil("notification after restart") {
            received.items.contains(.notification(channel: "wake", payload: "after restart"))
        }

        // A crash (SIGKILL) leaves a stale postmaster.pid; start() must still work and keep committed data.
        try pool.transaction { try $0.execute("INSERT INTO kept VALUES ('before crash')") }
        server.kill()
        XCTAssertFalse(server.isRunning)
        XCTAssertTrue(FileManager.default.fileExists(atPath: server.dataDirectory + "/postmaster.pid"))
        try server.start()
        let values = try pool.retryingOnConnectionLoss(timeoutSeconds: 10) {
            try pool.withConnection { try $0.query("SELECT v FROM kept ORDER BY v").map { try $0.string("v") } }
        }
        XCTAssertEqual(values, ["before crash", "before restart"])
        XCTAssertLessThanOrEqual(pool.openConnections, 4)
    }

    func testStateDirectoryIsReusedAcrossServerObjects() throws {
        let dir = try TemporaryDirectory.make()
        defer { dir.remove() }
        let first = EmbeddedPostgres(.init(directory: dir.path + "/pg", database: "ops", settings: ["fsync": "off"]))
        defer { try? first.destroy() }
        try first.start()
        let c = try PostgresConnection(conninfo: first.conninfo)
        try c.execute("CREATE TABLE remembered (v int)")
        try c.execute("INSERT INTO remembered VALUES (7)")
        c.close()
        let port = first.port
        try first.stop()
        XCTAssertFalse(first.isRunning)

        let second = EmbeddedPostgres(.init(directory: dir.path + "/pg", database: "ops", settings: ["fsync": "off"]))
        try second.start()
        defer { try? second.stop() }
        XCTAssertEqual(second.port, port, "the previous port is reused when free")
        let again = try PostgresConnection(conninfo: second.conninfo)
        XCTAssertEqual(try again.queryOne("SELECT v FROM remembered").int("v"), 7)
        XCTAssertEqual(try again.queryOne("SHOW fsync").string("fsync"), "off")
    }

    func testUnreachableStateDirectoryGivesAClearError() throws {
        try XCTSkipUnless(getuid() == 0, "only root hands the server to the postgres user")
        let dir = try TemporaryDirectory.make()
        defer { dir.remove() }
        let privateParent = dir.path + "/private"
        try FileManager.default.createDirectory(
            atPath: privateParent, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o700])
        let server = EmbeddedPostgres(directory: privateParent + "/pg")
        XCTAssertThrowsError(try server.start()) { error in
            XCTAssertTrue("\(error)".contains("\(privateParent) is not searchable"), "\(error)")
        }
        XCTAssertFalse(server.isRunning)
    }
}
