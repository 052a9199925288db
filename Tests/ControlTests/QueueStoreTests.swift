import ClusterModel
import Foundation
import Postgres
import Scheduler
import TestSupport
import XCTest

@testable import Control

/// The queues table: upsert and list round trip, atomicity with the jobs of the same submission, the
/// scheduling snapshot's weights and quotas, the lease fast path leaving quota-limited queues alone, and
/// deletion and the events queue changes leave.
final class QueueStoreTests: StoreTestCase {
    var queues: QueueStore { QueueStore(pool: pool) }

    func testUpsertAndListRoundTrip() throws {
        let quota = Resources(cpuMillis: 2000, memoryBytes: 4 << 30, accelerators: ["gpu-h100": 8])
        let first = try queues.upsert([
            QueueSpec(name: "research", weight: 2.5, quota: quota),
            QueueSpec(name: "batch"),
        ])
        XCTAssertEqual(
            first.map(\.configuration),
            [
                QueueSpec(name: "research", weight: 2.5, quota: quota),
                QueueSpec(name: "batch", weight: 1, quota: nil),
            ])
        XCTAssertEqual(
            try queues.list().map(\.configuration),
            [
                QueueSpec(name: "batch", weight: 1, quota: nil),
                QueueSpec(name: "research", weight: 2.5, quota: quota),
            ])
        // Replacing: the quota goes away, the weight changes; nothing else is touched.
        try queues.upsert([QueueSpec(name: "research", weight: 1, quota: nil)])
        XCTAssertEqual(
            try queues.queue(named: "research")?.configuration, QueueSpec(name: "research", weight: 1, quota: nil))
        XCTAssertEqual(try queues.list().count, 2)
        // A cpu-only quota keeps zero (unlimited) memory and no accelerators.
        try queues.upsert([QueueSpec(name: "batch", weight: 1, quota: Resources(cpuMillis: 500))])
        XCTAssertEqual(try queues.queue(named: "batch")?.configuration.quota, Resources(cpuMillis: 500))
    }

    func testChangesAndDeletionsAreEventsAndReapplyingTheSameIsNot() throws {
        try queues.upsert([QueueSpec(name: "research", weight: 2)])
        try queues.upsert([QueueSpec(name: "research", weight: 2)]) // the same again: no event
        try queues.upsert([QueueSpec(name: "research", weight: 3, quota: Resources(cpuMillis: 1500))])
        try jobs.submit(NewJob(name: "j", type: "t", queue: "research"))
        let removed = try queues.delete(named: "research")
        XCTAssertEqual(
            removed?.configuration, QueueSpec(name: "research", weight: 3, quota: Resources(cpuMillis: 1500)))
        XCTAssertEqual(try queues.list(), [])
        XCTAssertNil(try queues.delete(named: "research"), "nothing configured is left to delete")
        XCTAssertNil(try queues.delete(named: "never-configured"))

        let events = try EventStore(pool: pool).list().filter { $0.entity == "queue" }
        XCTAssertEqual(events.map(\.oldState), [nil, "configured", "configured"])
        XCTAssertEqual(events.map(\.newState), ["configured", "configured", "deleted"])
        XCTAssertEqual(Set(events.map(\.entityID)).count, 1, "one queue")
        XCTAssertEqual(events[0].reason, "queue research configured: weight 2, no quota")
        XCTAssertTrue(
            events[1].reason.hasPrefix("queue research changed: weight 2, no quota -> weight 3, quota cpu=1.5"),
            events[1].reason)
        XCTAssertTrue(
            events[2].reason.hasPrefix("queue research deleted (was weight 3, quota cpu=1.5"), events[2].reason)
        // The job naming it goes on under the defaults.
        let snapshot = try pool.withConnection { try SchedulingStore.snapshot($0, previousReservations: []) }
        XCTAssertEqual(snapshot.queues, [QueueSpec(name: "research", weight: 1, quota: nil)])
        // Configured again: a new queue (new id), announced like the first time.
        try queues.upsert([QueueSpec(name: "research")])
        let again = try EventStore(pool: pool).list().filter { $0.entity == "queue" }
        XCTAssertEqual(again.count, 4)
        XCTAssertNotEqual(again[3].entityID, again[0].entityID)
        XCTAssertNil(again[3].oldState)
    }

    func testBadConfigurationsAreRefusedWithTheField() throws {
        XCTAssertThrowsError(try queues.upsert([QueueSpec(name: "q", weight: 0)])) { error in
            XCTAssertEqual(
                error as? StoreError, .invalid(field: "queues[0].weight", message: "expected a number > 0, got 0.0"))
        }
        XCTAssertThrowsError(try queues.upsert([QueueSpec(name: "q"), QueueSpec(name: "q")])) { error in
            guard case .invalid(let field, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "queues[1].name")
        }
        XCTAssertEqual(try queues.list(), [])
    }

    func testQueuesAndJobsOfOneSubmissionAreAllOrNothing() throws {
        XCTAssertThrowsError(
            try jobs.submit(
                [NewJob(name: "late", type: "t", after: [NewJob.Dependency("missing")])],
                configuring: [QueueSpec(name: "research", weight: 3)]))
        XCTAssertEqual(try queues.list(), [], "a refused job leaves the queues unchanged")
        _ = try jobs.submit(
            [NewJob(name: "ok", type: "t", queue: "research")], configuring: [QueueSpec(name: "research", weight: 3)])
        XCTAssertEqual(try queues.list().map(\.configuration), [QueueSpec(name: "research", weight: 3)])
    }

    func testSnapshotUsesConfiguredWeightsAndQuotasAndDefaultsForTheRest() throws {
        _ = try worker("w")
        try queues.upsert([
            QueueSpec(name: "capped", weight: 4, quota: Resources(cpuMillis: 1000)),
            QueueSpec(name: "unused", weight: 7),
        ])
        try jobs.submit(NewJob(name: "a", type: "t", queue: "capped", resources: Resources(cpuMillis: 1000)))
        try jobs.submit(NewJob(name: "b", type: "t", queue: "adhoc", resources: Resources(cpuMillis: 1000)))
        let snapshot = try pool.withConnection { try SchedulingStore.snapshot($0, previousReservations: []) }
        XCTAssertEqual(
            snapshot.queues,
            [
                QueueSpec(name: "adhoc", weight: 1, quota: nil),
                QueueSpec(name: "capped", weight: 4, quota: Resources(cpuMillis: 1000)),
            ],
            "queues with work: configured ones with their settings, others with the defaults")
    }

    func testLeaseFastPathSkipsConfiguredQueues() throws {
        let w = try worker("w", cpus: 8)
        try queues.upsert([
            QueueSpec(name: "capped", weight: 1, quota: Resources(cpuMillis: 1000)),
            QueueSpec(name: "weighted", weight: 3),
        ])
        let capped = try jobs.submit(
            NewJob(
                name: "capped-job", type: "t", queue: "capped", priority: 5, resources: Resources(cpuMillis: 1000),
                tasks: [NewTask(), NewTask()]))
        try jobs.submit(
            NewJob(name: "weighted-job", type: "t", queue: "weighted", resources: Resources(cpuMillis: 1000)))
        try jobs.submit(NewJob(name: "plain-job", type: "t", queue: "default", resources: Resources(cpuMillis: 1000)))
        XCTAssertEqual(
            try leases.claimNext(for: w, limit: 10).map(\.jobName), ["plain-job"],
            "an unconfigured queue is claimed directly; configured ones (weight, quota) wait for the scheduler")
        let weighted = try XCTUnwrap(jobs.tasks(of: try XCTUnwrap(jobs.job(named: "weighted-job")).id).first)
        XCTAssertEqual(try PlacementStore(pool: pool).place([weighted.id: w]), [weighted.id])
        XCTAssertEqual(try leases.claimNext(for: w, limit: 10).map(\.task), [weighted.id])
        // Once the scheduler places a task of the capped queue on this worker, the worker claims it.
        let task = try XCTUnwrap(jobs.tasks(of: capped.id).first)
        XCTAssertEqual(try PlacementStore(pool: pool).place([task.id: w]), [task.id])
        XCTAssertEqual(try leases.claimNext(for: w, limit: 10).map(\.task), [task.id])
        XCTAssertEqual(try leases.claimNext(for: w, limit: 10), [])
    }
}
