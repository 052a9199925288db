// The two calls `serve` and `up` need from the control plane and the embedded PostgreSQL.

import Control
import Foundation
import Postgres
import Workers

enum ControlPlaneHooks {
    /// Runs the control plane with `options` until the surrounding task is cancelled (then stops cleanly:
    /// stops accepting requests, finishes in-flight ones, closes the database pool). Calls `listening` once the
    /// socket is bound, with the base URL.
    static func runControlPlane(_ options: ControlPlaneOptions, listening: @escaping @Sendable (String) -> Void) async throws {
        let configuration = ControlPlaneConfiguration(
            host: options.host, port: options.port, databaseURL: options.databaseURL,
            adminToken: Secret(options.adminToken), joinToken: Secret(options.joinToken),
            artifactDirectory: options.artifactDirectory.path, leaseSeconds: options.leaseSeconds,
            heartbeatSeconds: options.heartbeatSeconds, maxBodyBytes: Int(options.maxBodyBytes))
        try await ControlPlane.run(configuration, onListening: listening)
    }

    /// Starts (initialising on first use) the PostgreSQL cluster in `dataDirectory` on a free loopback port,
    /// as the `postgres` user when running as root. Returns its URL and a function that stops it cleanly.
    static func startEmbeddedPostgres(dataDirectory: URL, binDirectory: URL) async throws -> (url: String, stop: @Sendable () -> Void) {
        let binaries = FileManager.default.fileExists(atPath: binDirectory.appendingPathComponent("postgres").path)
            ? binDirectory.path : try EmbeddedPostgres.newestBinDirectory()
        let database = EmbeddedPostgres(EmbeddedPostgres.Configuration(directory: dataDirectory.path, binDirectory: binaries))
        try await Task.detached { try database.start() }.value
        return (database.conninfo, { try? database.stop() })
    }
}
