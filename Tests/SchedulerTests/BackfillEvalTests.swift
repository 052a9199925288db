// Per-checkpoint evals are backfill (`BackfillPriority`, docs/training.md "Evals on every checkpoint"): a pending
// train task always wins over them, in its own queue or another, even where the evals' queue holds less than its
// share; evals run where capacity is idle, never preempt, never hold a reservation, and give way to training.
import ClusterModel
import XCTest

@testable import Scheduler

final class BackfillEvalTests: XCTestCase {
    private let eval = BackfillPriority.value

    func testAPendingTrainTaskWinsOverPendingEvalsOfAnEarlierSubmission() {
        // One worker, room for one task. The evals were submitted first, in a queue that runs nothing (share 0%),
        // and the train task is in a queue with a higher share: fair share alone would place an eval first.
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: [worker(1, cpu(2))],
                allocations: [running(1, job: 1, on: 1, cpu(1), queue: "research")],
                pendingJobs: [
                    job(10, queue: "evals", priority: eval, sequence: 1, cpu(1)),
                    job(11, queue: "evals", priority: eval, sequence: 2, cpu(1)),
                    job(20, queue: "research", priority: -1_000_000, sequence: 3, cpu(1)),
                ],
                queues: [QueueSpec(name: "evals"), QueueSpec(name: "research")]))
        XCTAssertEqual(d.placements.map(\.job), [JobID(20)], "the train task, though the lowest a manifest may give")
        XCTAssertTrue(d.preemptions.isEmpty)
        XCTAssertTrue(d.reservations.isEmpty, "a waiting eval holds nothing back: \(d.reservations)")
        XCTAssertEqual(d.reasonText(10), d.reasonText(11))
        XCTAssertNotNil(d.reasonText(10))
    }

    func testEvalsFillIdleCapacity() {
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: [worker(1, cpu(2)), worker(2, cpu(2))],
                allocations: [running(1, job: 1, on: 1, cpu(2))],
                pendingJobs: (10..<14).map { job(Int64($0), priority: eval, cpu(1)) },
                queues: [QueueSpec(name: "default")]))
        XCTAssertEqual(d.placements.map(\.job), [JobID(10), JobID(11)], "both idle cores of worker 2, in order")
        XCTAssertEqual(Set(d.workers(of: 10) + d.workers(of: 11)), [2])
        XCTAssertTrue(d.preemptions.isEmpty, "an eval never preempts, not even another eval")
    }

    func testATrainTaskPreemptsRunningEvalsInAnotherQueueWithinItsShare() {
        // The evals' queue is under its share (1 of 4 cores, weight 3 of 4): by the queue rules nothing of it could
        // be taken; backfill gives way anyway. The eval that started last goes first.
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 10, workers: [worker(1, cpu(4))],
                allocations: [
                    running(1, job: 1, on: 1, cpu(3), queue: "research"),
                    running(2, job: 2, on: 1, cpu(1), queue: "evals", priority: eval, startedAt: 5),
                ],
                pendingJobs: [job(20, queue: "research", priority: -5, cpu(1))],
                queues: [QueueSpec(name: "evals", weight: 3), QueueSpec(name: "research")]))
        XCTAssertEqual(d.preemptions.map(\.victim), [TaskID(2)])
        XCTAssertEqual(d.reservations.map(\.job), [JobID(20)], "the freed room waits for the train task")
    }

    func testNothingButBackfillIsEverTakenForAnEval() {
        // Lowest-priority user work (-1,000,000) in the same queue is never a victim of an eval.
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 10, workers: [worker(1, cpu(1))],
                allocations: [running(1, job: 1, on: 1, cpu(1), priority: -1_000_000)],
                pendingJobs: [job(10, priority: eval, cpu(1))], queues: [QueueSpec(name: "default")]))
        XCTAssertTrue(d.placements.isEmpty)
        XCTAssertTrue(d.preemptions.isEmpty)
        XCTAssertTrue(d.reservations.isEmpty)
    }

    func testOverManyPassesTrainingIsNeverDelayedAndEveryEvalRunsInTheGaps() {
        // Two workers of one core. A train job of 3 tasks arrives while 4 evals are pending; the evals run only
        // when a core is idle, and every one runs by the end.
        var cluster = MiniCluster(workers: [worker(1, cpu(1)), worker(2, cpu(1))])
        for e in 0..<4 { cluster.submit(job(Int64(10 + e), priority: eval, sequence: Int64(e), cpu(1)), duration: 2) }
        cluster.submit(job(1, sequence: 9, tasks: 3, cpu(1)), duration: 3)
        var trainStarts: [Double] = []
        var evalStarts: [Double] = []
        for _ in 0..<20 {
            let d = cluster.step()
            XCTAssertTrue(d.preemptions.isEmpty, "nothing to preempt: training was placed first")
            for p in d.placements {
                if p.job == JobID(1) { trainStarts.append(cluster.now) } else { evalStarts.append(cluster.now) }
            }
        }
        XCTAssertEqual(trainStarts, [1, 1, 4], "the train tasks start at once and the third as soon as a core frees")
        XCTAssertEqual(evalStarts.count, 4, "every eval ran")
        XCTAssertTrue(evalStarts.allSatisfy { $0 >= 4 }, "evals only after the train tasks: \(evalStarts)")
    }
}
