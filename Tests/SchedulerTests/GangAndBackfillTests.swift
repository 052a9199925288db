import ClusterModel
// Gangs that could deadlock each other, a big gang starved by small work, backfill around a reservation,
// and the why-pending texts.
import XCTest

@testable import Scheduler

final class GangAndBackfillTests: XCTestCase {
    func testTwoGangsThatCouldDeadlockEachOtherBothRunInTurn() {
        // Partial placement would give each gang two of four workers and neither could ever start.
        var cluster = MiniCluster(workers: (1...4).map { worker(Int64($0), cpu(8, gpus: 8)) })
        cluster.submit(job(1, tasks: 3, gang: true, cpu(1, gpus: 8)), duration: 3)
        cluster.submit(job(2, tasks: 3, gang: true, cpu(1, gpus: 8)), duration: 3)
        var started: [Int64: Double] = [:]
        for _ in 0..<10 {
            let d = cluster.step()
            for id: Int64 in [1, 2] {
                let placed = d.workers(of: id)
                XCTAssertTrue(placed.isEmpty || placed.count == 3, "gang \(id) placed partially: \(placed)")
                XCTAssertEqual(Set(placed).count, placed.count, "distinct workers")
                if !placed.isEmpty { started[id] = cluster.now }
            }
            if cluster.now == 1 {
                XCTAssertEqual(
                    d.reasonText(2),
                    "needs 3 workers with gpu-h100 >= 8, cpu >= 1; 1 free match; holding 3 workers while running work there finishes"
                )
            }
        }
        XCTAssertEqual(started, [1: 1, 2: 4])
    }

    func testALargeGangIsNotStarvedByAStreamOfSmallJobs() {
        func run(reservations: Int) -> Double? {
            var cluster = MiniCluster(workers: (1...4).map { worker(Int64($0), cpu(8)) })
            cluster.scheduler = Scheduler(configuration: SchedulerConfiguration(maxReservations: reservations))
            var next: Int64 = 1
            var gangStart: Double? = nil
            for step in 0..<40 {
                // Small jobs keep arriving, each running 3 steps: enough to keep every worker partly busy.
                for _ in 0..<6 {
                    cluster.submit(job(next, sequence: next, cpu(2)), duration: 3)
                    next += 1
                }
                if step == 2 { cluster.submit(job(10_000, sequence: 0, tasks: 4, gang: true, cpu(8)), duration: 2) }
                let d = cluster.step()
                if !d.workers(of: 10_000).isEmpty {
                    gangStart = cluster.now
                    break
                }
            }
            return gangStart
        }
        XCTAssertNil(run(reservations: 0), "without a reservation backfill starves the gang (the test can fail)")
        let start = run(reservations: 8)
        XCTAssertNotNil(start)
        XCTAssertLessThanOrEqual(start ?? .infinity, 7, "placed as soon as the reserved workers drained")
    }

    func testSmallBlockedJobsAheadInLineDoNotUseUpTheGangsReservations() {
        let workers = (1...8).map { worker(Int64($0), cpu(8)) }
        let allocations = (1...8).map { running(Int64($0), job: Int64($0), on: Int64($0), cpu(7)) }
        let small = (10..<30).map { job(Int64($0), cpu(2)) }
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: workers, allocations: allocations,
                pendingJobs: small + [job(100, tasks: 4, gang: true, cpu(8))],
                queues: [QueueSpec(name: "default")]))
        XCTAssertEqual(
            d.reservations.filter { $0.job != JobID(100) }.count, 4, "single tasks: up to maxTaskReservations")
        XCTAssertEqual(
            d.reservations.filter { $0.job != JobID(100) }.flatMap(\.workers), [1, 2, 3, 4].map(WorkerID.init),
            "each goes to the worker closest to having room for it")
        XCTAssertEqual(
            d.reservations.last,
            Reservation(
                job: JobID(100), workers: [5, 6, 7, 8].map(WorkerID.init), perTask: cpu(8),
                kind: .waitingForCapacity), "the gang, last in line, still holds its workers")
    }

    func testBackfillUsesOnlyRoomTheReservationDoesNotNeed() {
        let workers = (1...3).map { worker(Int64($0), cpu(8)) }
        let allocations = [running(1, job: 1, on: 1, cpu(6)), running(2, job: 2, on: 2, cpu(6))]
        let jobs = [job(10, tasks: 2, gang: true, cpu(4)), job(11, cpu(2)), job(12, cpu(4)), job(13, cpu(2))]
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: workers, allocations: allocations, pendingJobs: jobs,
                queues: [QueueSpec(name: "default")]))
        XCTAssertEqual(
            d.reservations,
            [
                Reservation(
                    job: JobID(10), workers: [WorkerID(3), WorkerID(1)], perTask: cpu(4), kind: .waitingForCapacity),
                Reservation(job: JobID(13), workers: [WorkerID(2)], perTask: cpu(2), kind: .waitingForCapacity),
            ], "the gang holds the workers closest to free; job 13 then holds the next one")
        XCTAssertEqual(d.workers(of: 11), [2], "fits beside the running work on the unreserved worker")
        XCTAssertEqual(d.workers(of: 12), [3], "uses the half of worker 3 the gang does not need")
        XCTAssertEqual(d.workers(of: 13), [], "the rest is held for the gang")
        XCTAssertEqual(
            d.reasonText(13),
            "needs 1 worker with cpu >= 2; 0 free match (2 more held for other waiting jobs); holding 1 worker while running work there finishes"
        )
        XCTAssertEqual(
            d.reasonText(10),
            "needs 2 workers with cpu >= 4; 1 free match; holding 2 workers while running work there finishes")

        // Next pass: worker 1's task finished; the gang takes its reserved room although job 13 is older in line.
        let next = Scheduler().schedule(
            ClusterSnapshot(
                now: 2, workers: workers,
                allocations: [
                    allocations[1], running(1100, job: 11, on: 2, cpu(2)),
                    running(1200, job: 12, on: 3, cpu(4)),
                ],
                pendingJobs: [job(13, sequence: 1, cpu(2)), job(10, tasks: 2, gang: true, cpu(4))],
                queues: [QueueSpec(name: "default")], previousReservations: d.reservations))
        XCTAssertEqual(next.workers(of: 10).sorted(), [1, 3])
        XCTAssertEqual(next.workers(of: 13), [1], "backfill into what is left on worker 1")
    }

    func testWhyPendingNamesTheShortfallAndTheQueueShare() {
        var workers = (1...4).map { worker(Int64($0), cpu(10, gpus: 8), labels: ["rack": "r1"]) }
        workers += (5...6).map { worker(Int64($0), cpu(10, gpus: 8), labels: ["rack": "r2"]) }
        workers.append(worker(7, cpu(40)))
        let allocations = [
            running(1, job: 1, on: 7, cpu(41), queue: "research"), // 41 of 100 cores
            running(2, job: 2, on: 1, cpu(0, gpus: 8), queue: "prod"),
            running(3, job: 2, on: 2, cpu(0, gpus: 8), queue: "prod"),
        ]
        let snapshot = ClusterSnapshot(
            now: 1, workers: workers, allocations: allocations,
            pendingJobs: [job(10, queue: "research", tasks: 4, gang: true, cpu(0, gpus: 8), packBy: "rack")],
            queues: [QueueSpec(name: "research", weight: 3), QueueSpec(name: "prod", weight: 7)])
        let d = Scheduler(configuration: SchedulerConfiguration(maxReservations: 0)).schedule(snapshot)
        XCTAssertEqual(
            d.reasonText(10),
            "needs 4 workers with gpu-h100 >= 8 in one rack; 2 free match; queue research is over its share (41% vs 30%)"
        )
        let reason = d.pendingReason(for: JobID(10))!
        guard case .insufficientCapacity(let shortfall) = reason.causes[0] else { return XCTFail("\(reason.causes)") }
        XCTAssertEqual(shortfall.freeMatching, 2)
        XCTAssertEqual(shortfall.workersNeeded, 4)
        guard case .queueOverShare("research", let share, let fair) = reason.causes[1] else {
            return XCTFail("\(reason.causes)")
        }
        XCTAssertEqual(share, 0.41, accuracy: 1e-9)
        XCTAssertEqual(fair, 0.3, accuracy: 1e-9)
    }
}
