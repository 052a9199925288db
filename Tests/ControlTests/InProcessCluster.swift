import APIClient
import APITypes
import ClusterModel
import Control
import Foundation
import TestSupport
import Workers

/// A control plane and worker daemons in this test process, over real HTTP on 127.0.0.1 and a fresh
/// database on the shared throwaway PostgreSQL. Fast to start; for tests about processes use `ProcessCluster`.
final class InProcessCluster: @unchecked Sendable {
    let database: String
    let directory: TemporaryDirectory
    let plane: ControlPlane
    let admin: OpsClient
    private var workers: [(daemon: WorkerDaemon, run: Task<Void, Error>)] = []

    init(leaseSeconds: Double = 5, heartbeatSeconds: Double = 0.3) throws {
        database = try TestPostgres.shared().freshDatabase()
        directory = try TemporaryDirectory.make()
        plane = ControlPlane(
            configuration: ControlPlaneConfiguration(
                databaseURL: database, adminToken: Secret("admin"), joinToken: Secret("join"),
                artifactDirectory: directory.path + "/artifacts", leaseSeconds: leaseSeconds,
                heartbeatSeconds: heartbeatSeconds,
                sweepIntervalSeconds: 0.2, schedulingIntervalSeconds: 0.2), log: { _ in })
        try plane.start()
        admin = OpsClient(baseURL: plane.baseURL, token: "admin", transport: CurlTransport(), timeoutSeconds: 10)
    }

    @discardableResult
    func startWorker(
        name: String, cpuMillis: Int64 = 1000, maxTasks: Int = 2, labels: Labels = [:],
        registry: ExecutorRegistry = .builtins(), log: @escaping @Sendable (String) -> Void = { _ in }
    ) -> WorkerDaemon {
        let daemon = WorkerDaemon(
            configuration: WorkerConfiguration(
                name: name, resources: Resources(cpuMillis: cpuMillis, memoryBytes: 1 << 30),
                labels: labels, maxConcurrentTasks: maxTasks, pollWaitSeconds: 1,
                workDirectory: URL(fileURLWithPath: directory.path + "/work-" + name),
                flushIntervalSeconds: 0.05, shutdownGraceSeconds: 1),
            api: HTTPControlPlaneAPI(baseURL: plane.baseURL, token: "join", transport: CurlTransport()),
            registry: registry,
            artifactStore: FileArtifactStore(root: URL(fileURLWithPath: directory.path + "/artifacts")),
            log: log)
        workers.append((daemon, Task { try await daemon.run() }))
        return daemon
    }

    /// A one-task `sleep` job manifest.
    static func sleepJob(_ name: String, priority: Int = 0, seconds: Double, cpu: Int64 = 1) -> AnyJSON {
        [
            "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
            "spec": [
                "type": "sleep", "priority": .int(Int64(priority)), "resources": ["cpu": .int(cpu), "memory": "64Mi"],
                "sleep": ["seconds": .double(seconds)],
            ],
        ]
    }

    /// Stops the workers (handing back what they hold) and the control plane.
    func shutdown() async {
        for worker in workers { worker.daemon.requestShutdown() }
        for worker in workers { _ = try? await worker.run.value }
        workers = []
        plane.stop()
        directory.remove()
    }
}
