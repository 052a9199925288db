// The embedded PostgreSQL of `opsctl up`.

import Foundation
import Postgres

enum LocalDatabase {
    /// Starts (initialising on first use) the PostgreSQL cluster in `dataDirectory` on a free loopback port,
    /// as the `postgres` user when running as root. Returns its URL and a function that stops it cleanly.
    ///
    /// The caller holds the state directory's lock (`StateDirectoryLock`), so a server already running in
    /// `dataDirectory` belongs to no live `opsctl up`: it is an orphan of one that ended without stopping it
    /// (SIGKILL, a crash). It is stopped and started afresh, so the server this `up` stops at the end is always
    /// one it started (before, a second `up` adopted the first's server and stopped it when it gave up).
    static func start(dataDirectory: URL, binDirectory: URL) async throws -> (url: String, stop: @Sendable () -> Void) {
        let binaries =
            FileManager.default.fileExists(atPath: binDirectory.appendingPathComponent("postgres").path)
            ? binDirectory.path : try EmbeddedPostgres.newestBinDirectory()
        let database = EmbeddedPostgres(
            EmbeddedPostgres.Configuration(directory: dataDirectory.path, binDirectory: binaries))
        try await Task.detached {
            if database.isRunning {
                Output.note("stopping the PostgreSQL an earlier opsctl up left running in \(dataDirectory.path)")
                try database.stop()
            }
            try database.start()
        }.value
        return (database.conninfo, { try? database.stop() })
    }
}
