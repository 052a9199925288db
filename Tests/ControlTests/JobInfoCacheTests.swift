// The job facts every assignment carries: read in one index probe (not the job's task counts by state, which took
// 2.1 s per call at 1,000,000 tasks), and loaded once per job however many polls ask at the same time.
import ClusterModel
import Foundation
import Postgres
import Primitives
import TestSupport
import XCTest

@testable import Control

final class JobInfoCacheTests: StoreTestCase {
    func testAssignmentFactsAreTheJobsRetryLimitGangSizeAndTaskCount() throws {
        let many = try jobs.submit(
            NewJob(
                name: "many", type: "t", retryPolicy: RetryPolicy(maxAttempts: 4),
                tasks: (0..<7).map { _ in NewTask() }))
        let gang = try jobs.submit(NewJob(name: "gang", type: "t", replicas: 3))
        XCTAssertEqual(
            try jobs.assignmentFacts(many.id), JobAssignmentFacts(maxAttempts: 4, replicas: 1, taskCount: 7))
        XCTAssertEqual(
            try jobs.assignmentFacts(gang.id), JobAssignmentFacts(maxAttempts: 3, replicas: 3, taskCount: 3))
        XCTAssertNil(try jobs.assignmentFacts(JobID(999_999)))
        let cache = JobInfoCache(jobs: jobs)
        XCTAssertEqual(try cache.info(many.id).taskCount, 7)
        XCTAssertThrowsError(try cache.info(JobID(999_999))) { error in
            guard case StoreError.unknownJob = error else { return XCTFail("\(error)") }
        }
    }

    func testConcurrentMissesOfOneJobLoadItOnce() throws {
        let loads = Primitives.Locked<Int>(0)
        let facts = JobAssignmentFacts(maxAttempts: 3, replicas: 1, taskCount: 1_000_000)
        let cache = JobInfoCache(load: { _ in
            loads.withLock { $0 += 1 }
            // Long enough that every thread below asks while the first load is still running.
            Thread.sleep(forTimeInterval: 0.3)
            return facts
        })
        let answers = Primitives.Locked<[Int]>([])
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            Thread {
                defer { group.leave() }
                if let info = try? cache.info(JobID(1)) { answers.withLock { $0.append(info.taskCount) } }
            }.start()
        }
        group.wait()
        XCTAssertEqual(answers.current, Array(repeating: 1_000_000, count: 8))
        XCTAssertEqual(loads.current, 1, "one load for eight concurrent misses")
        _ = try cache.info(JobID(2))
        XCTAssertEqual(loads.current, 2, "another job is its own load")
    }

    func testAFailedLoadIsRetriedByTheNextCaller() throws {
        let attempts = Primitives.Locked<Int>(0)
        let cache = JobInfoCache(load: { _ in
            let n = attempts.withLock { n -> Int in
                n += 1
                return n
            }
            if n == 1 { throw StoreError.unknownJob("first try") }
            return JobAssignmentFacts(maxAttempts: 1, replicas: 1, taskCount: 2)
        })
        XCTAssertThrowsError(try cache.info(JobID(1)))
        XCTAssertEqual(try cache.info(JobID(1)).taskCount, 2, "a failed load leaves no entry behind")
        XCTAssertEqual(cache.cachedCount, 1)
    }
}
