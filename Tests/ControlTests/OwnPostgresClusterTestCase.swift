import Foundation
import TestSupport
import XCTest

/// A `ProcessCluster` with a PostgreSQL of its own, for the tests that stop, restart or withhold the database
/// (the shared one must stay up for every other test). The cluster's process logs are printed when a test failed.
class OwnPostgresClusterTestCase: XCTestCase {
    var cluster: ProcessCluster!

    override func setUpWithError() throws {
        cluster = try ProcessCluster(ownPostgres: true)
    }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs()) }
        cluster?.shutdown()
        cluster = nil
    }
}
