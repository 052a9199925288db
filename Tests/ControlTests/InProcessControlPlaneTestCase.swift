import Control
import Foundation
import TestSupport
import XCTest

/// The real `opsctl` binary and worker processes (`ProcessCluster`, with its throwaway PostgreSQL) against a control
/// plane in this test process on a real socket: what the command-line integration tests share. The cluster's
/// process logs are printed when a test failed.
class InProcessControlPlaneTestCase: XCTestCase {
    var cluster: ProcessCluster!
    var controlPlane: ControlPlane!
    /// The control plane's URL, as `opsctl --server` takes it.
    var server: String { controlPlane.baseURL }

    override func setUpWithError() throws {
        cluster = try ProcessCluster()
        controlPlane = try cluster.startInProcessControlPlane(schedulingIntervalSeconds: 0.2)
    }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs()) }
        controlPlane?.stop()
        cluster?.shutdown()
    }
}
