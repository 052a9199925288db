// ┌──────────────────────────────────────────────────────────────────────────────────────────────────────┐
// │ LEAD: the two calls `serve` and `up` need from Sources/Control. Connect them to                        │
// │ `ControlPlane.run(configuration)` and `EmbeddedPostgres`; nothing else in opsctl needs to change.      │
// └──────────────────────────────────────────────────────────────────────────────────────────────────────┘

import Foundation
import Workers

struct ControlPlaneNotConnected: Error, CustomStringConvertible {
    let what: String
    var description: String {
        "\(what) is not part of this build yet: Sources/opsctl/Commands/ControlPlaneHooks.swift must call into Sources/Control (issue 2)"
    }
}

enum ControlPlaneHooks {
    /// Runs the control plane with `options` until the surrounding task is cancelled (then stops cleanly:
    /// stops accepting requests, finishes in-flight ones, closes the database pool). Calls `listening` once the
    /// socket is bound, with the base URL.
    static func runControlPlane(_ options: ControlPlaneOptions, listening: @escaping @Sendable (String) -> Void) async throws {
        // LEAD: try await ControlPlane.run(ControlPlaneConfiguration(options), onListening: listening)
        throw ControlPlaneNotConnected(what: "the control plane (opsctl serve)")
    }

    /// Starts (initialising on first use) the PostgreSQL cluster in `dataDirectory` on a free loopback port,
    /// as the `postgres` user when running as root. Returns its URL and a function that stops it cleanly.
    static func startEmbeddedPostgres(dataDirectory: URL, binDirectory: URL) async throws -> (url: String, stop: @Sendable () -> Void) {
        // LEAD: let pg = try EmbeddedPostgres.start(dataDirectory: dataDirectory, binDirectory: binDirectory); return (pg.url, pg.stop)
        throw ControlPlaneNotConnected(what: "the embedded PostgreSQL (opsctl up)")
    }
}
