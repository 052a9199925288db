import ClusterModel
import Foundation
// Fair share between queues, quotas, borrowing and reclaiming, and the choice of preemption victims.
import XCTest

@testable import Scheduler

final class QueueAndPreemptionTests: XCTestCase {
    func testWeightedFairShareSplitsAFullClusterByWeight() {
        let workers = (1...9).map { worker(Int64($0), cpu(1)) }
        let jobs =
            (1...9).map { job(Int64($0), queue: "a", cpu(1)) } + (11...19).map { job(Int64($0), queue: "b", cpu(1)) }
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: workers, pendingJobs: jobs,
                queues: [QueueSpec(name: "a", weight: 2), QueueSpec(name: "b", weight: 1)]))
        XCTAssertEqual(d.placements.filter { $0.job.rawValue < 10 }.count, 6)
        XCTAssertEqual(d.placements.filter { $0.job.rawValue > 10 }.count, 3)
        XCTAssertEqual(
            d.placements.filter { $0.job.rawValue > 10 }.map(\.job.rawValue), [11, 12, 13], "submission order in b")
    }

    func testDominantResourceDecidesTheShare() {
        // Queue a runs GPU work: 4 of 8 GPUs is a 50% dominant share though it holds little CPU.
        let workers = [worker(1, cpu(64, gpus: 8)), worker(2, cpu(64))]
        let allocations = [running(1, job: 1, on: 1, cpu(2, gpus: 4), queue: "a")]
        let jobs = [job(10, queue: "a", cpu(8)), job(20, queue: "b", cpu(8))]
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: workers, allocations: allocations,
                pendingJobs: jobs + [job(21, queue: "b", cpu(100))],
                queues: [QueueSpec(name: "a"), QueueSpec(name: "b")]))
        XCTAssertEqual(d.placements.first?.job, JobID(20), "b (0%) goes before a (50% of GPUs)")
        XCTAssertEqual(d.workers(of: 10).count, 1)
    }

    func testPriorityThenSubmissionOrderWithinAQueue() {
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: [worker(1, cpu(2))],
                pendingJobs: [
                    job(1, priority: 0, sequence: 1, cpu(1)), job(2, priority: 5, sequence: 3, cpu(1)),
                    job(3, priority: 5, sequence: 2, cpu(1)),
                ], queues: [QueueSpec(name: "default")]))
        XCTAssertEqual(d.placements.map(\.job), [JobID(3), JobID(2)])
    }

    func testQuotaCapsAQueueEvenWhenTheClusterIsIdle() {
        let workers = (1...4).map { worker(Int64($0), cpu(1, gpus: 1)) }
        let jobs = (1...4).map { job(Int64($0), queue: "b", cpu(1, gpus: 1)) }
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: workers, pendingJobs: jobs,
                queues: [QueueSpec(name: "b", quota: Resources(accelerators: ["gpu-h100": 2]))]))
        XCTAssertEqual(d.placements.count, 2)
        XCTAssertEqual(d.reasonText(3), "queue b would exceed its quota of 2 gpu-h100 (2 used + 1 requested)")
    }

    func testIdleShareIsBorrowedAndReclaimedByPreemption() {
        var cluster = MiniCluster(
            workers: (1...4).map { worker(Int64($0), cpu(1)) },
            queues: [QueueSpec(name: "a"), QueueSpec(name: "b")])
        cluster.scheduler = Scheduler(configuration: SchedulerConfiguration(preemptionGracePeriodSeconds: 2))
        for i in 1...4 { cluster.submit(job(Int64(10 + i), queue: "b", cpu(1)), duration: 1000) }
        cluster.step()
        XCTAssertEqual(cluster.allocations.filter { $0.queue == "b" }.count, 4, "b borrows a's idle share")

        cluster.submit(job(1, queue: "a", cpu(1)), duration: 1000)
        cluster.submit(job(2, queue: "a", cpu(1)), duration: 1000)
        cluster.submit(job(3, queue: "a", cpu(1)), duration: 1000)
        let reclaim = cluster.step()
        XCTAssertEqual(reclaim.preemptions.count, 2, "a reclaims exactly its half, no more")
        for p in reclaim.preemptions {
            guard case .reclaim(let claiming, let victimQueue, let share, let fair) = p.reason else {
                return XCTFail("\(p.reason)")
            }
            XCTAssertEqual([claiming, victimQueue], ["a", "b"])
            XCTAssertGreaterThan(share, fair)
            XCTAssertEqual(p.gracePeriodEndsAt, 4)
        }
        XCTAssertEqual(
            reclaim.preemptions.map(\.victim), [TaskID(1100), TaskID(1200)], "equal victims: worker order decides")
        XCTAssertEqual(
            reclaim.reasonText(1),
            "preempted 1 task to make room; waiting for it to checkpoint (grace period ends at t=4)")

        for _ in 0..<3 { cluster.step() }
        XCTAssertEqual(cluster.allocations.filter { $0.queue == "a" }.count, 2)
        XCTAssertEqual(cluster.allocations.filter { $0.queue == "b" }.count, 2)
        XCTAssertTrue(cluster.pending.contains { $0.id == JobID(11) }, "victims are requeued, not failed")
        XCTAssertTrue(cluster.isRunning(1) && cluster.isRunning(2))
        XCTAssertFalse(cluster.isRunning(3), "at its fair share, a waits like everyone else")
    }

    func testPreemptionPicksFewestThenLowestPriorityThenMostRecentVictims() {
        let workers = (1...7).map { worker(Int64($0), cpu(8)) }
        let allocations = [
            running(1, job: 1, on: 1, cpu(8), priority: 3, startedAt: 0),
            running(2, job: 2, on: 2, cpu(4), priority: 1, startedAt: 5),
            running(3, job: 3, on: 2, cpu(4), priority: 0, startedAt: 6),
            running(6, job: 6, on: 4, cpu(8), priority: 1, startedAt: 0),
            running(7, job: 7, on: 5, cpu(8), priority: 1, startedAt: 9),
            running(8, job: 8, on: 6, cpu(8), priority: 5, startedAt: 1),
            running(9, job: 9, on: 7, cpu(8), priority: 0, startedAt: 1, preemptible: false),
            running(10, job: 10, on: 3, cpu(8), priority: 1, startedAt: 8),
        ]
        let snapshot = ClusterSnapshot(
            now: 1, workers: workers, allocations: allocations,
            pendingJobs: [job(50, priority: 5, cpu(8))], queues: [QueueSpec(name: "default")])
        let d = Scheduler().schedule(snapshot)
        XCTAssertEqual(
            d.preemptions,
            [
                Preemption(
                    victim: TaskID(7), victimJob: JobID(7), worker: WorkerID(5), preemptor: JobID(50),
                    reason: .higherPriority(preemptorPriority: 5, victimPriority: 1), gracePeriodEndsAt: 31)
            ])
        XCTAssertEqual(
            d.reservations,
            [Reservation(job: JobID(50), workers: [WorkerID(5)], perTask: cpu(8), kind: .waitingForPreemptedTasks)])
        XCTAssertTrue(d.placements.isEmpty)

        // Equal priority is never preempted.
        var equal = snapshot
        equal.pendingJobs = [job(50, priority: 1, cpu(8))]
        let e = Scheduler().schedule(equal)
        XCTAssertTrue(
            e.preemptions.isEmpty,
            "the only lower-priority tasks share a worker with priority-1 work or are not preemptible")
        XCTAssertEqual(
            e.reasonText(50),
            "needs 1 worker with cpu >= 8; 0 free match; holding 1 worker while running work there finishes")
    }

    func testAGangMemberIsOnlyPreemptedWithItsWholeGang() {
        let workers = (1...3).map { worker(Int64($0), cpu(8)) }
        let gang = [
            running(500, job: 5, on: 1, cpu(8), startedAt: 9, gang: true),
            running(501, job: 5, on: 2, cpu(8), startedAt: 9, gang: true),
        ]
        let single = running(600, job: 6, on: 3, cpu(8), startedAt: 0)
        let snapshot = ClusterSnapshot(
            now: 10, workers: workers, allocations: gang + [single],
            pendingJobs: [job(50, priority: 1, cpu(8))], queues: [QueueSpec(name: "default")])
        let d1 = Scheduler(configuration: SchedulerConfiguration(victimPolicy: .priorityOnly)).schedule(snapshot)
        XCTAssertEqual(
            d1.preemptions.map(\.victim), [TaskID(600)], "one task beats a two-task gang though it started earlier")
        // Checkpoint-aware (the default) weighs the work instead: 2 × 1 s since the gang started against 10 s.
        XCTAssertEqual(Scheduler().schedule(snapshot).preemptions.map(\.victim), [TaskID(500), TaskID(501)])

        let d2 = Scheduler().schedule(
            ClusterSnapshot(
                now: 10, workers: Array(workers.prefix(2)), allocations: gang,
                pendingJobs: [job(50, priority: 1, cpu(8))], queues: [QueueSpec(name: "default")]))
        XCTAssertEqual(d2.preemptions.map(\.victim), [TaskID(500), TaskID(501)])
        XCTAssertEqual(
            d2.reasonText(50),
            "preempted 2 tasks to make room; waiting for them to checkpoint (grace period ends at t=40)")
    }

    func testAHigherPriorityGangPreemptsAcrossWorkersAndRunsAfterTheGracePeriod() {
        var cluster = MiniCluster(
            workers: (1...4).map { worker(Int64($0), cpu(8, gpus: 8), labels: ["rack": $0 <= 2 ? "r1" : "r2"]) })
        cluster.scheduler = Scheduler(configuration: SchedulerConfiguration(preemptionGracePeriodSeconds: 3))
        for i in 1...8 { cluster.submit(job(Int64(i), cpu(1, gpus: 4)), duration: 1000) }
        cluster.step()
        XCTAssertEqual(cluster.allocations.count, 8)
        cluster.submit(job(100, priority: 10, tasks: 2, gang: true, cpu(1, gpus: 8), packBy: "rack"), duration: 5)
        let d = cluster.step()
        XCTAssertEqual(d.preemptions.count, 4)
        XCTAssertEqual(Set(d.preemptions.map(\.worker)).count, 2)
        XCTAssertEqual(
            Set(d.preemptions.map { cluster.workers[Int($0.worker.rawValue) - 1].labels["rack"]! }).count, 1, "one rack"
        )
        var placedAt: Double? = nil
        for _ in 0..<6 where placedAt == nil {
            let step = cluster.step()
            XCTAssertTrue(step.preemptions.isEmpty, "no second round of preemption while victims checkpoint")
            if !step.workers(of: 100).isEmpty { placedAt = cluster.now }
        }
        XCTAssertEqual(placedAt, 5, "placed once the grace period (t=5) ended")
    }
}

final class ReservationCarryOverTests: XCTestCase {
    func testAJobHoldingADrainReservationPreemptsOnceEntitled() {
        let snapshot = ClusterSnapshot(
            now: 5, workers: [worker(1, cpu(8)), worker(2, cpu(8))],
            allocations: [
                running(1, job: 1, on: 1, cpu(8), priority: 0, startedAt: 1),
                running(2, job: 2, on: 2, cpu(8), priority: 9, startedAt: 1),
            ],
            pendingJobs: [job(50, priority: 5, cpu(8))], queues: [QueueSpec(name: "default")],
            previousReservations: [
                Reservation(
                    job: JobID(50), workers: [WorkerID(2)], perTask: cpu(8),
                    kind: .waitingForCapacity)
            ])
        let d = Scheduler().schedule(snapshot)
        XCTAssertEqual(d.preemptions.map(\.victim), [TaskID(1)])
        XCTAssertEqual(
            d.reservations,
            [Reservation(job: JobID(50), workers: [WorkerID(1)], perTask: cpu(8), kind: .waitingForPreemptedTasks)])
    }

    func testReservationsSurviveAJSONRoundTripAndStaleOnesAreDropped() throws {
        let workers = [worker(1, cpu(8)), worker(2, cpu(8))]
        let first = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: workers,
                allocations: [running(1, job: 1, on: 1, cpu(4)), running(2, job: 2, on: 2, cpu(4))],
                pendingJobs: [job(10, tasks: 2, gang: true, cpu(8))], queues: [QueueSpec(name: "default")]))
        XCTAssertEqual(first.reservations.count, 1)
        let stored = try JSONEncoder().encode(first)
        let loaded = try JSONDecoder().decode(SchedulingDecisions.self, from: stored)
        XCTAssertEqual(loaded, first)
        XCTAssertEqual(
            loaded.pending.first?.text,
            "needs 2 workers with cpu >= 8; 0 free match; holding 2 workers while running work there finishes")

        // Worker 2 died: the reservation is stale and is not honoured; small work may use worker 1 again.
        let next = Scheduler().schedule(
            ClusterSnapshot(
                now: 2, workers: [workers[0], worker(2, cpu(8), alive: false)],
                allocations: [running(1, job: 1, on: 1, cpu(4))],
                pendingJobs: [job(10, tasks: 2, gang: true, cpu(8)), job(11, cpu(4))],
                queues: [QueueSpec(name: "default")], previousReservations: loaded.reservations))
        XCTAssertEqual(next.workers(of: 11), [1])
        XCTAssertEqual(next.reasonText(10), "needs 2 workers with cpu >= 8; only 1 alive worker could ever match")
    }
}

final class PreemptionBoundaryTests: XCTestCase {
    let queues = [QueueSpec(name: "a"), QueueSpec(name: "b")]

    func testPriorityNeverReachesIntoAQueueWithinItsShare() {
        let workers = [worker(1, cpu(8)), worker(2, cpu(8))]
        let allocations = [
            running(1, job: 1, on: 1, cpu(8), queue: "a", priority: 0, startedAt: 5),
            running(2, job: 2, on: 2, cpu(8), queue: "b", priority: 1, startedAt: 0),
        ]
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 10, workers: workers, allocations: allocations,
                pendingJobs: [job(50, queue: "b", priority: 9, cpu(8))], queues: queues))
        XCTAssertEqual(
            d.preemptions.map(\.victim), [TaskID(2)], "b's own older, higher-priority task, not a's fair share")
    }

    func testPriorityMayTakeFromABorrowingQueue() {
        let workers = [worker(1, cpu(8)), worker(2, cpu(8))]
        let allocations = [
            running(1, job: 1, on: 1, cpu(8), queue: "a", priority: 5),
            running(2, job: 2, on: 2, cpu(8), queue: "a", priority: 0),
        ]
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 10, workers: workers, allocations: allocations,
                pendingJobs: [job(50, queue: "b", priority: 9, cpu(8))], queues: queues))
        XCTAssertEqual(d.preemptions.map(\.victim), [TaskID(2)])
        XCTAssertEqual(d.preemptions.first?.reason, .higherPriority(preemptorPriority: 9, victimPriority: 0))
    }

    func testReclaimNeverTakesHigherPriorityWork() {
        let workers = [worker(1, cpu(8)), worker(2, cpu(8))]
        let allocations = [
            running(1, job: 1, on: 1, cpu(8), queue: "a", priority: 5),
            running(2, job: 2, on: 2, cpu(8), queue: "a", priority: 5),
        ]
        let snapshot = ClusterSnapshot(
            now: 10, workers: workers, allocations: allocations,
            pendingJobs: [job(50, queue: "b", priority: 0, cpu(8))], queues: queues)
        let d = Scheduler().schedule(snapshot)
        XCTAssertTrue(d.preemptions.isEmpty)
        XCTAssertEqual(
            d.reasonText(50),
            "needs 1 worker with cpu >= 8; 0 free match; holding 1 worker while running work there finishes")

        var equal = snapshot
        equal.pendingJobs = [job(50, queue: "b", priority: 5, cpu(8))]
        let e = Scheduler().schedule(equal)
        XCTAssertEqual(e.preemptions.count, 1, "equal priority may reclaim borrowed capacity")
        guard case .reclaim("b", "a", let share, let fair)? = e.preemptions.first?.reason else {
            return XCTFail("\(e.preemptions)")
        }
        XCTAssertEqual(share, 1.0, accuracy: 1e-9)
        XCTAssertEqual(fair, 0.5, accuracy: 1e-9)
    }

    func testNothingIsPreemptedWhenTheWholeGangStillCouldNotFit() {
        let workers = [worker(1, cpu(8)), worker(2, cpu(8)), worker(3, cpu(8))]
        let allocations = [
            running(1, job: 1, on: 1, cpu(8), priority: 0), running(2, job: 2, on: 2, cpu(8), priority: 9),
            running(3, job: 3, on: 3, cpu(8), priority: 9),
        ]
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 10, workers: workers, allocations: allocations,
                pendingJobs: [job(50, priority: 5, tasks: 2, gang: true, cpu(8))],
                queues: [QueueSpec(name: "default")]))
        XCTAssertTrue(d.preemptions.isEmpty, "one victim would free one of the two workers the gang needs: pointless")
    }
}
