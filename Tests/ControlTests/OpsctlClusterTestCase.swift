import Foundation
import Postgres
import TestSupport
import XCTest

/// What the cluster tests that run `opsctl serve` and `opsctl worker` as processes on a throwaway PostgreSQL share:
/// a temporary directory for inputs, outputs and process logs, the process group stopped in teardown, and the
/// directory kept (and printed) when a test did not reach its end, for inspection.
class OpsctlClusterTestCase: XCTestCase {
    /// The temporary directory's name prefix; each class names its own.
    class var directoryPrefix: String { "opsctl-cluster-" }

    var root: TemporaryDirectory!
    var processes: OpsctlProcessGroup!
    /// A pool on the cluster's database, when the test opened one; closed in teardown.
    var pool: PostgresPool?
    /// Set by a test at its end: only then is `root` removed.
    var finished = false

    override func setUpWithError() throws {
        root = try TemporaryDirectory.make(prefix: Self.directoryPrefix)
        processes = try OpsctlProcessGroup(logDirectory: root.path)
    }

    override func tearDown() {
        processes?.stopAll()
        pool?.close()
        if finished {
            root?.remove()
        } else if let root {
            print("kept \(root.path) (process logs, inputs, outputs) for inspection")
        }
    }
}
