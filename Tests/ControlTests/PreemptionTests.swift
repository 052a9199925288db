import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// A higher-priority job that cannot fit preempts lower-priority work: the victim's worker is told through
/// its heartbeat, hands the task back, and the task is requeued (not failed) while the preemptor runs.
final class PreemptionTests: XCTestCase {
    func testHigherPriorityJobPreemptsAndVictimIsRequeuedNotFailed() async throws {
        let cluster = try InProcessCluster()
        cluster.startWorker(name: "only-worker", cpuMillis: 1000)
        let admin = cluster.admin

        _ = try await admin.submit([InProcessCluster.sleepJob("low", priority: 0, seconds: 60)])
        try await waitUntil("the low-priority task runs", timeoutSeconds: 20) {
            try await admin.job("low").tasks.running == 1
        }

        _ = try await admin.submit([InProcessCluster.sleepJob("high", priority: 10, seconds: 0.2)])
        try await waitUntil("the high-priority job succeeds", timeoutSeconds: 30) {
            try await admin.job("high").state == .succeeded
        }

        let lowTasks = try await admin.tasks(job: "low")
        XCTAssertEqual(lowTasks.count, 1)
        let first = try XCTUnwrap(lowTasks[0].attempts.first { $0.number == 1 })
        XCTAssertNotEqual(first.state, .succeeded)
        XCTAssertNotEqual(lowTasks[0].state, .failed, "a preempted task is requeued, never failed")
        let events = try await admin.events(job: "low").map(\.type)
        XCTAssertTrue(events.contains("task.preempting"), "the victim was marked first: \(events)")

        // The victim's attempt ended as preempted and did not count against its retries.
        let pool = PostgresPool(conninfo: cluster.database, maxConnections: 1)
        defer { pool.close() }
        let states = try pool.withConnection { c in
            try c.query(
                """
                SELECT a.state FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'low' ORDER BY a.number
                """
            ).map { try $0.string("state") }
        }
        XCTAssertEqual(states.first, "preempted")
        try await waitUntil("the low-priority task runs again", timeoutSeconds: 20) {
            try await admin.job("low").tasks.running == 1
        }
        _ = try await admin.cancelJob("low")
        await cluster.shutdown()
    }

    func testRunningTasksShowTheirReportedProgress() async throws {
        let cluster = try InProcessCluster()
        cluster.startWorker(name: "w")
        _ = try await cluster.admin.submit([InProcessCluster.sleepJob("progressing", seconds: 3)])
        var seen: Double?
        try await waitUntil("progress between 0 and 1 is shown", timeoutSeconds: 20, intervalSeconds: 0.1) {
            seen = try await cluster.admin.tasks(job: "progressing").first?.progress
            return (seen ?? 0) > 0 && (seen ?? 1) < 1
        }
        try await waitUntil("the job succeeds", timeoutSeconds: 20) {
            try await cluster.admin.job("progressing").state == .succeeded
        }
        let finished = try await cluster.admin.tasks(job: "progressing").first
        XCTAssertNil(finished?.progress, "progress is shown only while running")
        await cluster.shutdown()
    }
}
