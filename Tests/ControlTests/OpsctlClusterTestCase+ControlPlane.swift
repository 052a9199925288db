import Foundation
import Postgres
import TestSupport
import XCTest

/// The control plane of a cluster test whose nodes keep their own state (`<root>/<node>/state`), as separate
/// machines would: its database and the environment every `opsctl` call shares.
struct ClusterControlPlane {
    let pool: PostgresPool
    /// OPS_ADMIN_TOKEN and OPS_JOIN_TOKEN (both new), OPS_SERVER, and OPS_TOKEN (the admin's).
    let common: [String: String]
    let root: String

    /// `common` with the node's own state directory.
    func node(_ name: String) -> [String: String] {
        common.merging(["OPS_STATE_DIR": root + "/\(name)/state"]) { _, new in new }
    }
}

extension OpsctlClusterTestCase {
    /// Starts `opsctl serve` as the node "control" on a fresh database (leases of 3 s and heartbeats every 1 s, so
    /// that a lost worker's task moves on within seconds) and returns once it answers; `pool` is set to its pool.
    func startControlPlane() throws -> ClusterControlPlane {
        let conninfo = try TestPostgres.shared().freshDatabase()
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 2)
        self.pool = pool
        let port = try FreePort.next()
        let admin = "admin-\(UUID().uuidString)"
        let plane = ClusterControlPlane(
            pool: pool,
            common: [
                "OPS_ADMIN_TOKEN": admin, "OPS_JOIN_TOKEN": "join-\(UUID().uuidString)",
                "OPS_SERVER": "http://127.0.0.1:\(port)", "OPS_TOKEN": admin,
            ], root: root.path)
        try processes.start(
            "serve",
            [
                "serve", "--database-url", conninfo, "--port", "\(port)", "--lease-seconds", "3",
                "--heartbeat-seconds", "1",
            ], environment: plane.node("control"))
        try waitForControlPlane(environment: plane.common)
        return plane
    }

    /// Waits (180 s at most) until the job `name` has succeeded, failed or been cancelled; returns which.
    func waitForJob(_ name: String) throws -> String {
        let pool = try XCTUnwrap(pool, "waitForJob reads the database startControlPlane opened")
        var state = ""
        try waitUntil("job \(name) finishes", timeoutSeconds: 180, intervalSeconds: 0.2) {
            state = try pool.withConnection {
                try $0.queryOne("SELECT state FROM jobs WHERE name = $1", [.text(name)]).string("state")
            }
            return ["succeeded", "failed", "cancelled"].contains(state)
        }
        return state
    }
}
