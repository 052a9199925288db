// TestSupport: real throwaway infrastructure for tests (no mocks): a PostgreSQL server per test
// process with a fresh database per test, free ports, temporary directories, waiting with timeouts.

import Foundation
import Postgres
import Primitives

/// A throwaway PostgreSQL server in a temporary directory.
///
/// `TestPostgres.shared` is started once per test process (stopped and deleted at exit) and hands out
/// a fresh database per test via `freshDatabase()`, which keeps suites fast. Tests that restart or kill
/// the server must create their own with `TestPostgres()` and call `destroy()` in tearDown.
public final class TestPostgres: Sendable {
    public let server: EmbeddedPostgres
    private let databaseCounter = Locked(0)

    /// Marker file naming the owning test process, so clusters left by crashed runs are cleaned up.
    private static let ownerFile = "owner.pid"
    private static let prefix = "llmops-testpg-"

    /// Starts a new server. fsync is off (a killed *process* loses nothing; only an OS crash would).
    public init(settings: [String: String] = [:]) throws {
        TestPostgres.cleanUpAbandonedClusters()
        let directory = try TemporaryDirectory.make(prefix: TestPostgres.prefix).path
        try String(getpid()).write(toFile: directory + "/" + TestPostgres.ownerFile, atomically: true, encoding: .utf8)
        var all = ["fsync": "off", "shared_buffers": "32MB", "max_connections": "200"]
        for (k, v) in settings { all[k] = v }
        server = EmbeddedPostgres(.init(directory: directory, database: "postgres_test", settings: all))
        do {
            try server.start()
        } catch {
            try? server.destroy()
            throw error
        }
    }

    /// conninfo of the default database of this server.
    public var conninfo: String { server.conninfo }

    /// Creates an empty database and returns its conninfo.
    public func freshDatabase(named name: String? = nil) throws -> String {
        let generated = databaseCounter.withLock { counter -> String in
            counter += 1
            return "test_\(counter)"
        }
        let database = name ?? generated
        try server.createDatabaseIfMissing(database)
        return server.conninfo(database: database)
    }

    /// Stops the server and deletes its directory.
    public func destroy() {
        try? server.destroy()
    }

    // MARK: Shared instance

    private static let sharedInstance = Locked<TestPostgres?>(nil)

    /// The process-wide server, started on first use and destroyed when the process exits.
    public static func shared() throws -> TestPostgres {
        try sharedInstance.withLock { shared in
            if let shared { return shared }
            let instance = try TestPostgres()
            shared = instance
            atexit { TestPostgres.destroyShared() }
            return instance
        }
    }

    private static func destroyShared() {
        let instance = sharedInstance.withLock { shared -> TestPostgres? in
            defer { shared = nil }
            return shared
        }
        instance?.destroy()
    }

    /// Removes clusters in the temp directory whose owning test process is gone (crashed runs).
    static func cleanUpAbandonedClusters() {
        let tmp = NSTemporaryDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix(prefix) {
            let dir = (tmp as NSString).appendingPathComponent(name)
            guard let text = try? String(contentsOfFile: dir + "/" + ownerFile, encoding: .utf8),
                let owner = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { continue }
            if kill(owner, 0) == 0 || errno == EPERM { continue }
            let server = EmbeddedPostgres(directory: dir)
            server.kill()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}
