import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import APITypes
@testable import Control

/// A claim and a completion write one event per job naming the tasks they moved (`EventSQL.batchOfTasks`,
/// docs/leases.md "Events per batch"), and a task's own events still include them.
final class BatchEventTests: StoreTestCase {
    func testAClaimAndACompletionWriteOneEventPerJobNamingItsTasks() throws {
        let w = try worker()
        let a = try jobs.submit(NewJob(name: "a", type: "t", tasks: (0..<2).map { _ in NewTask() }))
        let b = try jobs.submit(NewJob(name: "b", type: "t", tasks: (0..<3).map { _ in NewTask() }))
        let claimed = try leases.claimNext(for: w, limit: 10)
        XCTAssertEqual(claimed.count, 5)
        let tasksOf = { (job: JobID) in claimed.filter { $0.job == job }.map(\.task.rawValue).sorted() }

        let leased = try batchEvents(newState: "running")
        XCTAssertEqual(leased.map(\.entityID), [a.id.rawValue, b.id.rawValue], "one per job, not one per task")
        XCTAssertEqual(leased.map(\.taskIDs), [tasksOf(a.id), tasksOf(b.id)])
        XCTAssertEqual(
            leased.map(\.reason),
            ["leased to worker \(w.rawValue) (2 tasks)", "leased to worker \(w.rawValue) (3 tasks)"])

        // One task of each job: neither job finishes, so the batch completes in one statement.
        let done = [claimed.first { $0.job == a.id }!, claimed.first { $0.job == b.id }!]
        let outcomes = try leases.complete(done.map { AttemptCompletion(attempt: $0.attempt) }, by: w)
        XCTAssertTrue(outcomes.values.allSatisfy { $0 == .applied })
        let completed = try batchEvents(newState: "succeeded")
        XCTAssertEqual(completed.map(\.taskIDs), done.map { [$0.task.rawValue] })
        XCTAssertEqual(completed.map(\.reason), ["completed (1 task)", "completed (1 task)"])

        // A task's events: its submission, and the two batches that named it.
        let first = done[0].task
        XCTAssertEqual(
            try events.list(entity: "task", id: first.rawValue).map { "\($0.entity).\($0.newState)" },
            ["task.queued", "tasks.running", "tasks.succeeded"])
        let view = EventView(try XCTUnwrap(completed.first))
        XCTAssertEqual(view.type, "tasks.succeeded")
        XCTAssertEqual(view.taskIDs, [first])
        XCTAssertNil(view.taskID, "a batch names its tasks in taskIDs")
    }

    func testAnEventWithoutTaskIDsCannotClaimToBeABatchNorABatchLackThem() throws {
        XCTAssertThrowsError(
            try execute("INSERT INTO events (entity, entity_id, new_state) VALUES ('tasks', 1, 'running')"))
        XCTAssertThrowsError(
            try execute(
                "INSERT INTO events (entity, entity_id, new_state, task_ids) VALUES ('task', 1, 'running', '{1}')"))
    }

    private func execute(_ sql: String) throws {
        try pool.withConnection { try $0.execute(sql) }
    }

    private func batchEvents(newState: String) throws -> [EventRecord] {
        try events.list(afterID: 0).filter { $0.entity == "tasks" && $0.newState == newState }
    }
}
