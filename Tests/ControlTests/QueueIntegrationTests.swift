import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

/// Queues end to end over HTTP: a `kind: Queue` document with a quota, submitted with its jobs, holds the
/// queue to its quota on a real control plane with in-process workers, and the waiting jobs say why.
final class QueueIntegrationTests: XCTestCase {
    static func queue(_ name: String, weight: Double = 1, cpuQuota: Int64?) -> AnyJSON {
        var spec: [String: AnyJSON] = ["weight": .double(weight)]
        if let cpuQuota { spec["quota"] = ["cpu": .int(cpuQuota)] }
        return ["apiVersion": "llmops/v1", "kind": "Queue", "metadata": ["name": .string(name)], "spec": .object(spec)]
    }

    static func sleepJob(_ name: String, queue: String, seconds: Double) -> AnyJSON {
        [
            "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
            "spec": [
                "type": "sleep", "queue": .string(queue), "resources": ["cpu": 1, "memory": "64Mi"],
                "sleep": ["seconds": .double(seconds)],
            ],
        ]
    }

    func testCPUQuotaOfOneCoreRunsOneOneCoreJobAtATime() async throws {
        let cluster = try InProcessCluster()
        // 4 cores in all: capacity is not what limits the capped queue.
        cluster.startWorker(name: "w1", cpuMillis: 2000, maxTasks: 2)
        cluster.startWorker(name: "w2", cpuMillis: 2000, maxTasks: 2)
        let admin = cluster.admin
        let capped = ["c1", "c2", "c3"]

        let response = try await admin.submit(
            [Self.queue("capped", weight: 2, cpuQuota: 1)]
                + capped.map { Self.sleepJob($0, queue: "capped", seconds: 1.5) }
                + [Self.sleepJob("free", queue: "default", seconds: 1.5)])
        // The queue as the submission left it; the scheduler and a worker may already have started one of its
        // tasks by the time the response reads the usage (claims take milliseconds), never more than the quota.
        let queue = try XCTUnwrap(response.queues?.first)
        XCTAssertEqual(response.queues?.count, 1)
        XCTAssertEqual(
            QueueView(
                name: queue.name, weight: queue.weight, quota: queue.quota, configured: queue.configured,
                runningTasks: 0, pendingTasks: 0, updatedAt: nil),
            QueueView(
                name: "capped", weight: 2, quota: Resources(cpuMillis: 1000), configured: true, runningTasks: 0,
                pendingTasks: 0, updatedAt: nil))
        XCTAssertLessThanOrEqual(queue.runningTasks, 1, "\(queue)")
        XCTAssertEqual(queue.runningTasks + queue.pendingTasks, 3, "\(queue)")
        XCTAssertEqual(response.jobs.map(\.job.name), capped + ["free"])

        var maxRunning = 0
        var reasons = Set<String>()
        try await waitUntil("every job succeeds", timeoutSeconds: 60, intervalSeconds: 0.1) {
            var running = 0
            var done = 0
            for name in capped {
                let job = try await admin.job(name)
                running += job.tasks.running
                if job.state == .succeeded { done += 1 }
                if job.state == .pending, let reason = job.pendingReason { reasons.insert(reason) }
            }
            maxRunning = max(maxRunning, running)
            let free = try await admin.job("free")
            return done == capped.count && free.state == .succeeded
        }
        XCTAssertLessThanOrEqual(maxRunning, 1, "a 1-core quota runs one 1-core task at a time (as sampled)")
        // Exactly, from the database: the capped queue's attempts never overlap in time.
        let pool = PostgresPool(conninfo: cluster.database, maxConnections: 1)
        defer { pool.close() }
        let intervals = try pool.withConnection { c in
            try c.query(
                """
                SELECT a.started_at, a.finished_at FROM task_attempts a JOIN tasks t ON t.id = a.task_id
                JOIN jobs j ON j.id = t.job_id WHERE j.queue = 'capped' ORDER BY a.started_at
                """
            ).map { (try $0.date("started_at"), try $0.date("finished_at")) }
        }
        XCTAssertEqual(intervals.count, 3)
        for (previous, next) in zip(intervals, intervals.dropFirst()) {
            XCTAssertGreaterThanOrEqual(next.0, previous.1, "a capped task started while another still ran")
        }
        XCTAssertTrue(
            reasons.contains { $0.contains("queue capped would exceed its quota") && $0.contains("cpu") },
            "waiting jobs name the quota: \(reasons)")

        // Only configured queues and queues with running or queued tasks are listed.
        let queues = try await admin.queues()
        XCTAssertEqual(queues.map(\.name), ["capped"], "finished work leaves only configured queues listed")
        XCTAssertEqual(queues.first?.quota, Resources(cpuMillis: 1000))
        XCTAssertEqual(queues.first?.weight, 2)
        await cluster.shutdown()
    }

    func testWeightsShareTheClusterBetweenConfiguredQueues() async throws {
        let cluster = try InProcessCluster()
        cluster.startWorker(name: "w1", cpuMillis: 2000, maxTasks: 2)
        cluster.startWorker(name: "w2", cpuMillis: 2000, maxTasks: 2)
        let admin = cluster.admin
        try await waitUntil("both workers registered", timeoutSeconds: 20) { try await admin.workers().count == 2 }
        // Research's jobs come first and would fill all 4 cores in submission order; weights 3:1 give
        // research 3 cores and prod 1.
        let research = (1...4).map { "r\($0)" }
        let prod = (1...4).map { "p\($0)" }
        _ = try await admin.submit(
            [Self.queue("research", weight: 3, cpuQuota: nil), Self.queue("prod", weight: 1, cpuQuota: nil)]
                + research.map { Self.sleepJob($0, queue: "research", seconds: 2) }
                + prod.map { Self.sleepJob($0, queue: "prod", seconds: 2) })
        try await waitUntil("every job succeeds", timeoutSeconds: 60, intervalSeconds: 0.2) {
            var done = 0
            for name in research + prod where try await admin.job(name).state == .succeeded { done += 1 }
            return done == research.count + prod.count
        }
        let pool = PostgresPool(conninfo: cluster.database, maxConnections: 1)
        defer { pool.close() }
        // The first wave: the attempts that started before any attempt finished.
        let firstWave = try pool.withConnection { c in
            try c.query(
                """
                SELECT j.queue FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE a.started_at < (SELECT min(finished_at) FROM task_attempts) ORDER BY j.queue
                """
            ).map { try $0.string("queue") }
        }
        XCTAssertEqual(firstWave, ["prod", "research", "research", "research"], "4 cores shared 3:1 by weight")
        await cluster.shutdown()
    }

    func testReapplyingAQueueChangesItsQuotaAndLetsWaitingWorkRun() async throws {
        let cluster = try InProcessCluster()
        cluster.startWorker(name: "w1", cpuMillis: 2000, maxTasks: 2)
        let admin = cluster.admin
        _ = try await admin.submit([
            Self.queue("team", cpuQuota: 1), Self.sleepJob("long-1", queue: "team", seconds: 30),
            Self.sleepJob("long-2", queue: "team", seconds: 30),
        ])
        try await waitUntil("one runs, the other waits on the quota", timeoutSeconds: 30, intervalSeconds: 0.1) {
            let jobs = [try await admin.job("long-1"), try await admin.job("long-2")]
            return jobs.map(\.tasks.running).reduce(0, +) == 1
                && jobs.contains { $0.pendingReason?.contains("quota") ?? false }
        }
        let listed = try await admin.queues()
        XCTAssertEqual(listed.first { $0.name == "team" }?.runningTasks, 1)
        XCTAssertEqual(listed.first { $0.name == "team" }?.pendingTasks, 1)

        // Raising the quota (no jobs in the request) lets the second job start.
        let response = try await admin.submit([Self.queue("team", cpuQuota: 2)])
        XCTAssertEqual(response.jobs, [])
        XCTAssertEqual(response.queues?.map(\.quota), [Resources(cpuMillis: 2000)])
        try await waitUntil("both run", timeoutSeconds: 30, intervalSeconds: 0.1) {
            try await admin.job("long-1").tasks.running + admin.job("long-2").tasks.running == 2
        }
        _ = try await admin.cancelJob("long-1")
        _ = try await admin.cancelJob("long-2")
        await cluster.shutdown()
    }

    func testDeletingAQueueLiftsItsQuotaAndIsAnEvent() async throws {
        let cluster = try InProcessCluster()
        cluster.startWorker(name: "w1", cpuMillis: 2000, maxTasks: 2)
        let admin = cluster.admin
        _ = try await admin.submit([
            Self.queue("team", cpuQuota: 1), Self.sleepJob("held-1", queue: "team", seconds: 30),
            Self.sleepJob("held-2", queue: "team", seconds: 30),
        ])
        try await waitUntil("one runs, the other waits on the quota", timeoutSeconds: 30, intervalSeconds: 0.1) {
            try await admin.job("held-1").tasks.running + admin.job("held-2").tasks.running == 1
        }
        // Deleting the configuration: the queue goes on unconfigured (weight 1, no quota), so the second runs.
        let after = try await admin.deleteQueue("team")
        XCTAssertEqual(after.configured, false)
        XCTAssertNil(after.quota)
        XCTAssertEqual(after.weight, 1)
        XCTAssertEqual(after.runningTasks + after.pendingTasks, 2)
        try await waitUntil("both run", timeoutSeconds: 30, intervalSeconds: 0.1) {
            try await admin.job("held-1").tasks.running + admin.job("held-2").tasks.running == 2
        }
        let listed = try await admin.queues()
        XCTAssertEqual(listed.first { $0.name == "team" }?.configured, false)
        let types = try await admin.events().filter { $0.type.hasPrefix("queue.") }.map(\.type)
        XCTAssertEqual(types, ["queue.deleted", "queue.configured"], "newest first")
        // Nothing configured by that name any more: 404 naming what to do.
        do {
            _ = try await admin.deleteQueue("team")
            XCTFail("a second delete must be refused")
        } catch {
            guard case .rejected(_, let status, let body) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(status, 404)
            XCTAssertTrue(
                body?.error.message.contains("no configured queue named team") ?? false, "\(String(describing: body))")
        }
        _ = try await admin.cancelJob("held-1")
        _ = try await admin.cancelJob("held-2")
        await cluster.shutdown()
    }
}
