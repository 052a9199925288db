import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// Issue 15: a job failed (or cancelled) by a dependency says which dependency and why, in the job's
/// `failureMessage` (what `opsctl describe job` and `get jobs -o wide` show) and in its tasks' events.
final class DependencyFailureReasonTests: StoreTestCase {
    /// prep fails with "out of memory"; train (`onFailure: fail`) fails naming prep and its error; eval
    /// (`onFailure: cancel`, after train) is cancelled naming train, whose reason carries prep's.
    func testAFailedDependencyIsNamedWithItsError() throws {
        let worker = try worker()
        let prep = try jobs.submit(NewJob(name: "prep", type: "t")).id
        let train = try jobs.submit(NewJob(name: "train", type: "t", after: [.init("prep", onFailure: .fail)])).id
        let eval = try jobs.submit(
            NewJob(name: "eval", type: "t", replicas: 2, after: [.init("train", onFailure: .cancel)])
        ).id
        let lease = try leases.claimNext(for: worker, limit: 1)
        XCTAssertEqual(lease.map(\.job), [prep])
        try leases.fail(attempt: lease[0].attempt, by: worker, error: "out of memory", retryable: false)

        let trainRecord = try XCTUnwrap(try jobs.job(train))
        XCTAssertEqual(trainRecord.state, .failed)
        XCTAssertEqual(trainRecord.endReason, "dependency prep failed: out of memory")
        let evalRecord = try XCTUnwrap(try jobs.job(eval))
        XCTAssertEqual(evalRecord.state, .cancelled)
        XCTAssertEqual(evalRecord.endReason, "dependency train failed: dependency prep failed: out of memory")
        XCTAssertEqual(try XCTUnwrap(try jobs.job(prep)).endReason, "out of memory")

        // What the API renders, in listings and in the detail.
        XCTAssertEqual(JobView(evalRecord).failureMessage, evalRecord.endReason)
        let listed = try jobs.list(limit: 10).first { $0.id == train }
        XCTAssertEqual(listed?.endReason, "dependency prep failed: out of memory")

        // Every task of eval has an event that says why it ended.
        let reasons = try events.list(job: eval).filter { $0.entity == "task" && $0.newState == "cancelled" }
            .map(\.reason)
        XCTAssertEqual(reasons.count, 2)
        XCTAssertEqual(Set(reasons), ["dependency train failed: dependency prep failed: out of memory"])
    }

    /// A user's cancel is the reason of the job cancelled and, through it, of its dependent.
    func testACancelledDependencyIsNamedWithTheCancelsReason() throws {
        let upstream = try jobs.submit(NewJob(name: "tokenize", type: "t")).id
        let downstream = try jobs.submit(
            NewJob(name: "train", type: "t", after: [.init("tokenize", onFailure: .cancel)])
        ).id
        try jobs.cancel(upstream)
        XCTAssertEqual(try jobs.job(upstream)?.endReason, "cancelled by user")
        let record = try XCTUnwrap(try jobs.job(downstream))
        XCTAssertEqual(record.state, .cancelled)
        XCTAssertEqual(record.endReason, "dependency tokenize cancelled: cancelled by user")
    }

    /// A job that succeeded or still runs has no end reason.
    func testOnlyFailedOrCancelledJobsHaveAnEndReason() throws {
        let worker = try worker()
        let job = try jobs.submit(NewJob(name: "fine", type: "t")).id
        let lease = try leases.claimNext(for: worker, limit: 1)
        XCTAssertNil(try jobs.job(job)?.endReason)
        try leases.complete(attempt: lease[0].attempt, by: worker)
        XCTAssertEqual(try jobs.job(job)?.state, .succeeded)
        XCTAssertNil(try jobs.job(job)?.endReason)
    }
}
