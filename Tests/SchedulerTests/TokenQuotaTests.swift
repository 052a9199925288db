import ClusterModel
// Quotas in training tokens per day (issue 20): a queue over its `tokensPerDay` admits no new train work (other
// kinds go on), and tokens consumed today are a dimension of the fair-share order.
import XCTest

@testable import Scheduler

final class TokenQuotaTests: XCTestCase {
    private func trainJob(_ id: Int64, queue: String, _ perTask: Resources) -> PendingJob {
        var j = job(id, queue: queue, perTask)
        j.trainsTokens = true
        return j
    }

    func testATrainJobOfAQueueOverItsTokensPerDayWaitsAndSaysWhy() {
        let queues = [QueueSpec(name: "research", tokensPerDay: 1_000_000), QueueSpec(name: "prod")]
        let pending = [
            trainJob(1, queue: "research", cpu(1)), job(2, queue: "research", cpu(1)),
            trainJob(3, queue: "prod", cpu(1)),
        ]
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 0, workers: [worker(1, cpu(8))], pendingJobs: pending, queues: queues,
                tokensConsumedToday: ["research": 1_200_000, "prod": 5_000_000]))
        XCTAssertEqual(Set(d.placements.map(\.job.rawValue)), [2, 3], "other kinds and other queues go on")
        XCTAssertEqual(
            d.reasonText(1),
            "queue research has used its quota of 1000000 training tokens per day (1200000 consumed today); new train work waits for the next day"
        )
        // Under the quota the same job runs.
        let under = Scheduler().schedule(
            ClusterSnapshot(
                now: 0, workers: [worker(1, cpu(8))], pendingJobs: pending, queues: queues,
                tokensConsumedToday: ["research": 999_999]))
        XCTAssertEqual(Set(under.placements.map(\.job.rawValue)), [1, 2, 3])
    }

    /// Room for one job, two queues of equal weight holding nothing: the one that trained fewer tokens today goes
    /// first (without tokens in the order, queue "a" would, by name).
    func testTokensConsumedTodayCountInFairShare() {
        let queues = [QueueSpec(name: "a"), QueueSpec(name: "b")]
        let pending = [trainJob(1, queue: "a", cpu(8)), trainJob(2, queue: "b", cpu(8))]
        let tokens = Scheduler().schedule(
            ClusterSnapshot(
                now: 0, workers: [worker(1, cpu(8))], pendingJobs: pending, queues: queues,
                tokensConsumedToday: ["a": 900, "b": 100]))
        XCTAssertEqual(tokens.placements.map(\.job), [JobID(2)])
        let none = Scheduler().schedule(
            ClusterSnapshot(now: 0, workers: [worker(1, cpu(8))], pendingJobs: pending, queues: queues))
        XCTAssertEqual(none.placements.map(\.job), [JobID(1)])
    }
}
