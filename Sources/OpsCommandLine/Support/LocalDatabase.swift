// The embedded PostgreSQL of `opsctl up`.

import Foundation
import Postgres

enum LocalDatabase {
    /// Starts (initialising on first use) the PostgreSQL cluster in `dataDirectory` on a free loopback port,
    /// as the `postgres` user when running as root. Returns its URL and a function that stops it cleanly.
    static func start(dataDirectory: URL, binDirectory: URL) async throws -> (url: String, stop: @Sendable () -> Void) {
        let binaries =
            FileManager.default.fileExists(atPath: binDirectory.appendingPathComponent("postgres").path)
            ? binDirectory.path : try EmbeddedPostgres.newestBinDirectory()
        let database = EmbeddedPostgres(
            EmbeddedPostgres.Configuration(directory: dataDirectory.path, binDirectory: binaries))
        try await Task.detached { try database.start() }.value
        return (database.conninfo, { try? database.stop() })
    }
}
