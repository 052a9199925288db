import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest
@testable import Control

/// A higher-priority job that cannot fit preempts lower-priority work: the victim's worker is told through
/// its heartbeat, hands the task back, and the task is requeued (not failed) while the preemptor runs.
final class PreemptionTests: XCTestCase {
    func testHigherPriorityJobPreemptsAndVictimIsRequeuedNotFailed() async throws {
        let database = try TestPostgres.shared().freshDatabase()
        let directory = try TemporaryDirectory.make()
        let configuration = ControlPlaneConfiguration(
            databaseURL: database, adminToken: Secret("admin"), joinToken: Secret("join"),
            artifactDirectory: directory.path + "/artifacts", leaseSeconds: 5, heartbeatSeconds: 0.3,
            sweepIntervalSeconds: 0.2, schedulingIntervalSeconds: 0.2)
        let plane = ControlPlane(configuration: configuration, log: { _ in })
        try plane.start()
        defer { plane.stop() }

        let worker = WorkerDaemon(
            configuration: WorkerConfiguration(name: "only-worker", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30),
                                               maxConcurrentTasks: 2, pollWaitSeconds: 1,
                                               workDirectory: URL(fileURLWithPath: directory.path + "/work"),
                                               flushIntervalSeconds: 0.05, shutdownGraceSeconds: 1),
            api: HTTPControlPlaneAPI(baseURL: plane.baseURL, token: "join", transport: CurlTransport()),
            registry: .builtins(), artifactStore: FileArtifactStore(root: URL(fileURLWithPath: directory.path + "/artifacts")),
            log: { _ in })
        let run = Task { try await worker.run() }
        defer { worker.requestShutdown() }

        let admin = OpsClient(baseURL: plane.baseURL, token: "admin", transport: CurlTransport(), timeoutSeconds: 10)
        func manifest(_ name: String, priority: Int, seconds: Double) -> AnyJSON {
            ["apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
             "spec": ["type": "sleep", "priority": .int(Int64(priority)), "resources": ["cpu": 1, "memory": "64Mi"],
                      "sleep": ["seconds": .double(seconds)]]]
        }
        _ = try await admin.submit([manifest("low", priority: 0, seconds: 60)])
        try await waitUntil("the low-priority task runs", timeout: 20) { try await admin.job("low").tasks.running == 1 }

        _ = try await admin.submit([manifest("high", priority: 10, seconds: 0.2)])
        try await waitUntil("the high-priority job succeeds", timeout: 30) { try await admin.job("high").state == .succeeded }

        let lowTasks = try await admin.tasks(job: "low")
        XCTAssertEqual(lowTasks.count, 1)
        let first = try XCTUnwrap(lowTasks[0].attempts.first { $0.number == 1 })
        XCTAssertNotEqual(first.state, .succeeded)
        XCTAssertNotEqual(lowTasks[0].state, .failed, "a preempted task is requeued, never failed")
        let events = try await admin.events(job: "low").map(\.type)
        XCTAssertTrue(events.contains("task.preempting"), "the victim was marked first: \(events)")

        // The victim's attempt ended as preempted and did not count against its retries.
        let pool = PostgresPool(conninfo: database, maxConnections: 1)
        defer { pool.close() }
        let states = try pool.withConnection { c in
            try c.query("""
                SELECT a.state FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'low' ORDER BY a.number
                """).map { try $0.string("state") }
        }
        XCTAssertEqual(states.first, "preempted")
        try await waitUntil("the low-priority task runs again", timeout: 20) { try await admin.job("low").tasks.running == 1 }
        _ = try await admin.cancelJob("low")
        worker.requestShutdown()
        try await run.value
    }
}
