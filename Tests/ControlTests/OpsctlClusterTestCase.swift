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

    /// Waits until `opsctl get workers` succeeds against the control plane `environment` points at.
    func waitForControlPlane(environment: [String: String]) throws {
        try waitUntil("the control plane answers", timeoutSeconds: 60, intervalSeconds: 0.2) {
            (try? self.processes.run(["get", "workers"], environment: environment).status) == 0
        }
    }

    /// Starts `opsctl worker --name NAME` as the process NAME: 2 GiB, a 2 s poll wait, its work directory
    /// (`<root>/work-NAME` unless given), and `arguments` after those.
    func startWorker(
        _ name: String, cpus: Int = 2, maxTasks: Int = 2, workDirectory: String? = nil, arguments: [String] = [],
        environment: [String: String]
    ) throws {
        try processes.start(
            name,
            [
                "worker", "--name", name, "--cpus", "\(cpus)", "--memory", "2Gi", "--max-tasks", "\(maxTasks)",
                "--poll-wait", "2", "--work-dir", workDirectory ?? root.path + "/work-\(name)",
            ] + arguments, environment: environment)
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
