// Tasks go only to workers with an executor for their kind: the claim's fast path filters by the kinds a
// worker registered, and the scheduler sees them as labels. Before, a worker without the executor took the
// task and failed it until its attempts ran out.

import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

final class ExecutorKindTests: XCTestCase {
    func testTasksOnlyGoToWorkersThatRunTheirKind() async throws {
        let cluster = try InProcessCluster()
        let dataset = cluster.directory.path + "/data/web"
        try StreamTestData.makeDataset(directory: dataset, name: "web", shards: 2, documentsPerShard: 10, seed: 3)
        // "basic" registers first (the scheduler's default choice) and runs only noop/sleep/fail/shell.
        cluster.startWorker(name: "basic", maxTasks: 2)
        try await waitUntil("basic registered", timeoutSeconds: 20) { try await cluster.admin.workers().count == 1 }
        cluster.startWorker(name: "full", maxTasks: 2, registry: .standard())
        try await waitUntil("full registered", timeoutSeconds: 20) { try await cluster.admin.workers().count == 2 }

        func verify(_ name: String, queue: String) -> AnyJSON {
            [
                "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
                "spec": [
                    "type": "verify", "queue": .string(queue), "resources": ["cpu": 1, "memory": "64Mi"],
                    "verify": ["location": .string(dataset)],
                ],
            ]
        }
        let queue: AnyJSON = [
            "apiVersion": "llmops/v1", "kind": "Queue", "metadata": ["name": "scheduled"], "spec": ["weight": 1],
        ]
        // Default queue: claimed directly by polling workers; configured queue: placed by the scheduler.
        let names = (1...3).map { "direct-\($0)" } + (1...3).map { "placed-\($0)" }
        _ = try await cluster.admin.submit(
            [queue] + names.map { verify($0, queue: $0.hasPrefix("direct") ? "default" : "scheduled") }
                + [InProcessCluster.sleepJob("plain", seconds: 0.1)])
        try await waitUntil("every job finishes", timeoutSeconds: 60, intervalSeconds: 0.1) {
            for name in names + ["plain"] {
                let state = try await cluster.admin.job(name).state
                if state != .succeeded && state != .failed { return false }
            }
            return true
        }
        for name in names + ["plain"] {
            let state = try await cluster.admin.job(name).state
            XCTAssertEqual(state, .succeeded, name)
        }
        for name in names {
            let attempts = try await cluster.admin.tasks(job: name).flatMap(\.attempts)
            XCTAssertEqual(attempts.map(\.workerName), ["full"], "\(name): one attempt, on the worker that runs verify")
        }
        let workers = try await cluster.admin.workers()
        XCTAssertEqual(workers.first { $0.name == "basic" }?.kinds.contains("verify"), false)
        XCTAssertEqual(workers.first { $0.name == "full" }?.kinds.contains("verify"), true)
        await cluster.shutdown()
    }
}
