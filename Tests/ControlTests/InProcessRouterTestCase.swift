import Foundation
import TestSupport

@testable import Control

/// The fixture of the route tests: the control plane's router over a fresh database, called in-process with
/// request values (no socket, no server), built with `adminToken` as the root admin token and `join` as the join
/// token.
class InProcessRouterTestCase: StoreTestCase {
    var router: Router!
    /// The services behind `router` (its telemetry, stores), for tests that drive a part the router does not.
    var services: ControlServices!
    private var signals: StoreSignals!
    private var directory: TemporaryDirectory!

    /// The root admin token the router accepts; a subclass names its own.
    var adminToken: String { "admin" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = try TemporaryDirectory.make()
        let configuration = ControlPlaneConfiguration(
            databaseURL: conninfo, adminToken: Secret(adminToken), joinToken: Secret("join"),
            artifactDirectory: directory.path + "/artifacts")
        signals = StoreSignals(conninfo: conninfo)
        services = ControlServices(
            configuration: configuration, store: ControlStore(pool: pool), signals: signals,
            planners: JobPlanners(), registry: .standard)
        router = RouteTable.router(services, version: "test", isLeader: { false }, log: { _ in })
    }

    override func tearDown() {
        signals?.stop()
        signals = nil
        router = nil
        services = nil
        directory?.remove()
        directory = nil
        super.tearDown()
    }
}
