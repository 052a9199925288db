import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

final class StoreJobTests: StoreTestCase {
    func testSubmitCreatesJobTasksAndEvents() throws {
        let submitted = try jobs.submit(
            NewJob(
                name: "tok", type: "tokenize", spec: #"{"input": "a'b"}"#, priority: 5,
                resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30, accelerators: ["gpu-h100": 1]),
                tasks: [NewTask(spec: #"{"file": 1}"#), NewTask(spec: #"{"file": 2}"#)]))
        XCTAssertTrue(submitted.created)
        let job = try XCTUnwrap(try jobs.job(named: "tok"))
        XCTAssertEqual(job.id, submitted.id)
        XCTAssertEqual(job.state, .pending)
        XCTAssertEqual(job.priority, 5)
        XCTAssertEqual(job.resources.accelerators, ["gpu-h100": 1])
        XCTAssertEqual(job.taskCounts, ["queued": 2])
        XCTAssertTrue(
            String(decoding: try JSONEncoder().encode(job), as: UTF8.self).contains(#""taskCounts":{"queued":2}"#))
        let tasks = try jobs.tasks(of: job.id)
        XCTAssertEqual(tasks.map(\.index), [0, 1])
        XCTAssertEqual(tasks.map(\.state), [.queued, .queued])
        XCTAssertEqual(tasks[1].spec, #"{"file": 2}"#)
        let trail = try events.list(job: job.id)
        XCTAssertEqual(trail.filter { $0.entity == "job" }.map(\.newState), ["pending"])
        XCTAssertEqual(trail.filter { $0.entity == "task" }.count, 2)
    }

    func testEmptyTaskListMeansOneTaskPerReplica() throws {
        let gang = try jobs.submit(NewJob(name: "train", type: "train", replicas: 4))
        XCTAssertEqual(try jobs.tasks(of: gang.id).map(\.index), [0, 1, 2, 3])
    }

    func testResubmissionIsIdempotentButNameClashesAreRefused() throws {
        let first = try jobs.submit(NewJob(name: "same", type: "eval", spec: #"{"a": 1}"#))
        let again = try jobs.submit(NewJob(name: "same", type: "eval", spec: #"{ "a" : 1 }"#))
        XCTAssertEqual(again, StoredSubmission(id: first.id, name: "same", created: false))
        XCTAssertThrowsError(try jobs.submit(NewJob(name: "same", type: "eval", spec: #"{"a": 2}"#))) { error in
            XCTAssertEqual(error as? StoreError, .jobNameTaken("same"))
        }
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM tasks"), 1)
    }

    func testUnknownDependencyCycleAndBadFieldsChangeNothing() throws {
        XCTAssertThrowsError(
            try jobs.submit([NewJob(name: "a", type: "t"), NewJob(name: "b", type: "t", after: [.init("nope")])])
        ) { error in
            XCTAssertEqual(error as? StoreError, .unknownDependency(job: "b", after: "nope"))
        }
        XCTAssertThrowsError(
            try jobs.submit([
                NewJob(name: "a", type: "t", after: [.init("c")]),
                NewJob(name: "b", type: "t", after: [.init("a")]),
                NewJob(name: "c", type: "t", after: [.init("b")]),
            ])
        ) { error in
            guard case .dependencyCycle(let path)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path.first, path.last)
            XCTAssertEqual(Set(path), ["a", "b", "c"])
        }
        XCTAssertThrowsError(try jobs.submit(NewJob(name: "self", type: "t", after: [.init("self")]))) { error in
            XCTAssertEqual(
                error as? StoreError, .invalid(field: "job.after[0]", message: "a job cannot wait for itself"))
        }
        XCTAssertThrowsError(
            try jobs.submit([
                NewJob(name: "ok", type: "t"), NewJob(name: "bad", type: "t", tasks: [NewTask(spec: "{nope")]),
            ])
        ) { error in
            guard case .invalid(let field, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "jobs[1].tasks[0].spec")
        }
        XCTAssertThrowsError(try jobs.submit(NewJob(name: "zero", type: "t", replicas: 0))) { error in
            guard case .invalid(let field, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "job.replicas")
        }
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM jobs"), 0)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM tasks"), 0)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM events"), 0)
    }

    func testDependentIsReleasedWhenDependencySucceeds() throws {
        let w = try worker()
        let ids = try jobs.submit([
            NewJob(name: "prep", type: "tokenize"),
            NewJob(name: "train", type: "train", after: [.init("prep")], tasks: [NewTask(), NewTask()]),
        ])
        XCTAssertEqual(try taskStates(ids[1].id), [.blocked, .blocked])
        XCTAssertEqual(try jobs.job(ids[1].id)?.pendingReason, "waiting for prep")
        XCTAssertEqual(try jobs.job(ids[1].id)?.after, ["prep"])
        // Only the unblocked job's task is handed out.
        let first = try leases.claimNext(for: w, limit: 10)
        XCTAssertEqual(first.map(\.jobName), ["prep"])
        XCTAssertEqual(try jobs.job(ids[0].id)?.state, .running)
        try leases.complete(attempt: first[0].attempt, by: w)
        XCTAssertEqual(try jobs.job(ids[0].id)?.state, .succeeded)
        XCTAssertEqual(try taskStates(ids[1].id), [.queued, .queued])
        XCTAssertNil(try jobs.job(ids[1].id)?.pendingReason)
        XCTAssertEqual(try leases.claimNext(for: w, limit: 10).map(\.jobName), ["train", "train"])
        // A later job may depend on a finished one: it starts queued.
        let late = try jobs.submit(NewJob(name: "late", type: "eval", after: [.init("prep")]))
        XCTAssertEqual(try taskStates(late.id), [.queued])
    }

    func testFailureCancelsDependentsTransitivelyOrLetsThemProceed() throws {
        let w = try worker()
        let ids = try jobs.submit([
            NewJob(name: "a", type: "t", retryPolicy: RetryPolicy(maxAttempts: 1)),
            NewJob(name: "b", type: "t", after: [.init("a")]),
            NewJob(name: "c", type: "t", after: [.init("b")]),
            NewJob(name: "cleanup", type: "t", after: [.init("a", onFailure: .proceed)]),
        ])
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first)
        XCTAssertEqual(lease.jobName, "a")
        try leases.fail(attempt: lease.attempt, by: w, error: "boom")
        XCTAssertEqual(try jobs.job(ids[0].id)?.state, .failed)
        XCTAssertEqual(try jobs.job(ids[1].id)?.state, .cancelled)
        XCTAssertEqual(try jobs.job(ids[1].id)?.pendingReason, "dependency a failed: boom")
        XCTAssertEqual(try jobs.job(ids[2].id)?.state, .cancelled, "cancellation follows the chain")
        XCTAssertEqual(try taskStates(ids[3].id), [.queued], "proceed policy runs anyway")
        XCTAssertEqual(try leases.claimNext(for: w).map(\.jobName), ["cleanup"])
    }

    func testFailPolicyFailsDependentsTransitively() throws {
        let w = try worker()
        let ids = try jobs.submit([
            NewJob(name: "a", type: "t", retryPolicy: RetryPolicy(maxAttempts: 1)),
            NewJob(name: "b", type: "t", after: [.init("a", onFailure: .fail)], tasks: [NewTask(), NewTask()]),
            NewJob(name: "c", type: "t", after: [.init("b", onFailure: .fail)]),
        ])
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first)
        try leases.fail(attempt: lease.attempt, by: w, error: "boom")
        XCTAssertEqual(try jobs.job(ids[1].id)?.state, .failed)
        XCTAssertEqual(try taskStates(ids[1].id), [.failed, .failed])
        XCTAssertEqual(try jobs.job(ids[1].id)?.pendingReason, "dependency a failed: boom")
        XCTAssertEqual(try jobs.job(ids[2].id)?.state, .failed, "failure follows the chain")
        XCTAssertEqual(try leases.claimNext(for: w), [])
    }

    func testCancelStopsTasksAndRefusesLateReports() throws {
        let w = try worker()
        let job = try jobs.submit(NewJob(name: "long", type: "t", tasks: [NewTask(), NewTask(), NewTask()]))
        let held = try leases.claimNext(for: w, limit: 1)
        XCTAssertEqual(held.count, 1)
        let cancelled = try jobs.cancel(job.id, reason: "user asked")
        XCTAssertEqual(cancelled.state, .cancelled)
        XCTAssertTrue(cancelled.cancelRequested)
        XCTAssertEqual(try taskStates(job.id), [.cancelled, .cancelled, .cancelled])
        // The worker learns it from its heartbeat and its report is refused.
        let beat = try workers.heartbeat(w, holding: [held[0].attempt])
        XCTAssertEqual(beat.stopAttempts, [held[0].attempt])
        XCTAssertThrowsError(try leases.complete(attempt: held[0].attempt, by: w)) { error in
            XCTAssertEqual(error as? StoreError, .staleAttempt(held[0].attempt, state: "cancelled"))
        }
        XCTAssertEqual(try jobs.cancel(job.id).state, .cancelled, "cancelling again is a no-op")
        XCTAssertEqual(try leases.claimNext(for: w, limit: 5), [])
    }
}
