import ClusterModel
// Resource fit, selectors, affinity, locality, gangs, backoff: one small cluster per policy.
import XCTest

@testable import Scheduler

final class PlacementPolicyTests: XCTestCase {
    let queues = [QueueSpec(name: "default")]

    func testAcceleratorsAreMatchedByType() {
        let snapshot = ClusterSnapshot(
            now: 1,
            workers: [
                worker(1, cpu(8, gpus: 8)),
                worker(2, cpu(8, gpus: 8, gpuType: "gpu-a100")),
                worker(3, cpu(8)),
            ],
            pendingJobs: [
                job(10, cpu(4, gpus: 2, gpuType: "gpu-a100")),
                job(11, cpu(1, gpus: 2)),
                job(12, cpu(16)),
                job(13, cpu(1, gpus: 1, gpuType: "tpu-v5e")),
            ], queues: queues)
        let d = Scheduler().schedule(snapshot)
        XCTAssertEqual(d.workers(of: 10), [2])
        XCTAssertEqual(d.workers(of: 11), [1])
        XCTAssertEqual(d.reasonText(12), "needs 1 worker with cpu >= 16; no alive worker could ever match")
        XCTAssertEqual(d.reasonText(13), "needs 1 worker with tpu-v5e >= 1, cpu >= 1; no alive worker could ever match")
    }

    func testWorkersAreNeverOvercommittedAndDeadWorkersGetNothing() {
        let snapshot = ClusterSnapshot(
            now: 1, workers: [worker(1, cpu(4)), worker(2, cpu(100), alive: false)],
            allocations: [running(1, job: 1, on: 1, cpu(1))],
            pendingJobs: (10..<20).map { job($0, cpu(1)) }, queues: queues)
        let d = Scheduler().schedule(snapshot)
        XCTAssertEqual(d.placements.count, 3)
        XCTAssertTrue(d.placements.allSatisfy { $0.worker == WorkerID(1) })
        XCTAssertEqual(d.placements.map(\.job), [10, 11, 12].map(JobID.init), "submission order within the queue")
        XCTAssertEqual(
            d.reasonText(13),
            "needs 1 worker with cpu >= 1; 0 free match; holding 1 worker while running work there finishes",
            "the first blocked job holds the worker against backfill")
        XCTAssertEqual(d.reasonText(17), "needs 1 worker with cpu >= 1; 0 free match")
        XCTAssertEqual(
            d.reservations.map(\.job), (13...16).map(JobID.init),
            "the next four in line hold the worker (maxTaskReservations)")
    }

    func testNodeSelectorIsRequiredAndAffinityPreferred() {
        let snapshot = ClusterSnapshot(
            now: 1,
            workers: [
                worker(1, cpu(4), labels: ["pool": "a", "zone": "x"]),
                worker(2, cpu(4), labels: ["pool": "b", "zone": "x"]),
                worker(3, cpu(4), labels: ["pool": "b", "zone": "y"]),
            ],
            pendingJobs: [
                job(10, cpu(1), selector: ["pool": "b"], preferred: [PreferredLabel(key: "zone", value: "y")]),
                job(11, cpu(1), selector: ["pool": "b"]),
                job(12, cpu(1), selector: ["pool": "c"]),
                job(13, cpu(4), selector: ["pool": "a"], preferred: [PreferredLabel(key: "zone", value: "y")]),
            ], queues: queues)
        let d = Scheduler().schedule(snapshot)
        XCTAssertEqual(d.workers(of: 10), [3], "preferred zone=y wins among pool=b")
        XCTAssertEqual(d.workers(of: 11), [2], "first pool=b worker in order")
        XCTAssertEqual(d.reasonText(12), "needs 1 worker with cpu >= 1 and pool=c; no alive worker could ever match")
        XCTAssertEqual(d.workers(of: 13), [1], "a preference never overrides the selector")
    }

    func testLocalityPrefersWorkersCachingTheWantedShards() {
        let snapshot = ClusterSnapshot(
            now: 1,
            workers: [
                worker(1, cpu(4)),
                worker(2, cpu(4), shards: ["s1"]),
                worker(3, cpu(4), shards: ["s1", "s2"]),
                worker(4, cpu(4), labels: ["pool": "x"], shards: ["s1", "s2", "s3"]),
            ],
            pendingJobs: [
                job(10, cpu(1), shards: ["s1", "s2", "s3", "s9"]),
                job(11, cpu(1), shards: ["s1"]),
                job(12, cpu(1), shards: ["nowhere"]),
                job(13, cpu(4), selector: ["pool": "y"], shards: ["s3"]),
            ], queues: queues)
        let d = Scheduler().schedule(snapshot)
        XCTAssertEqual(d.workers(of: 10), [4], "most wanted shards cached")
        XCTAssertEqual(d.workers(of: 11), [2], "ties go to worker order")
        XCTAssertEqual(d.workers(of: 12), [1], "no cached shard: normal placement")
        XCTAssertEqual(d.workers(of: 13), [], "locality never overrides the selector")
    }

    func testGangMembersGoToWorkersCachingTheirShardsFirst() {
        let workers = [
            worker(1, cpu(8)), worker(2, cpu(8)), worker(3, cpu(8), shards: ["s1"]),
            worker(4, cpu(8), shards: ["s1", "s2"]),
        ]
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: workers,
                pendingJobs: [
                    job(10, tasks: 3, gang: true, cpu(8), shards: ["s1", "s2"])
                ], queues: [QueueSpec(name: "default")]))
        XCTAssertEqual(d.workers(of: 10), [4, 3, 1], "most shards cached first, then worker order")
    }

    func testGangIsAllOrNothingOnDistinctWorkersPackedInOneRack() {
        let workers = (1...6).map { worker(Int64($0), cpu(8, gpus: 8), labels: ["rack": $0 <= 3 ? "r1" : "r2"]) }
        let snapshot = ClusterSnapshot(
            now: 1, workers: workers,
            allocations: [running(1, job: 1, on: 1, cpu(0, gpus: 8))],
            pendingJobs: [
                job(10, tasks: 3, gang: true, cpu(0, gpus: 8), packBy: "rack"),
                job(11, tasks: 3, gang: true, cpu(0, gpus: 8), packBy: "rack"),
                job(12, tasks: 4, gang: true, cpu(0, gpus: 1), selector: ["rack": "r1"]),
            ], queues: queues)
        let d = Scheduler(configuration: SchedulerConfiguration(maxReservations: 0)).schedule(snapshot)
        XCTAssertEqual(d.workers(of: 10), [4, 5, 6], "rack r1 has only two free workers")
        XCTAssertEqual(d.workers(of: 11), [], "no partial gang")
        XCTAssertEqual(d.reasonText(11), "needs 3 workers with gpu-h100 >= 8 in one rack; 2 free match")
        XCTAssertEqual(d.workers(of: 12), [], "four tasks need four distinct workers")
        XCTAssertEqual(
            d.reasonText(12), "needs 4 workers with gpu-h100 >= 1 and rack=r1; only 3 alive workers could ever match")
    }

    func testTasksInBackoffWaitAndSayUntilWhen() {
        let snapshot = ClusterSnapshot(
            now: 5, workers: [worker(1, cpu(4))],
            pendingJobs: [job(10, cpu(1), notBefore: 12.5), job(11, cpu(1), notBefore: 5)],
            queues: queues)
        let d = Scheduler().schedule(snapshot)
        XCTAssertEqual(d.workers(of: 10), [])
        XCTAssertEqual(d.reasonText(10), "retrying after backoff at t=12.5")
        XCTAssertEqual(d.workers(of: 11), [1])
    }

    func testUnknownQueueIsReported() {
        let d = Scheduler().schedule(
            ClusterSnapshot(
                now: 1, workers: [worker(1, cpu(4))],
                pendingJobs: [job(10, queue: "nope", cpu(1))], queues: queues))
        XCTAssertEqual(d.reasonText(10), "queue nope does not exist")
    }

    func testSameSnapshotSameDecisionsWhateverTheInputOrder() {
        var workers = (1...20).map {
            worker(Int64($0), cpu(8, gpus: $0 % 2 == 0 ? 8 : 0), labels: ["rack": "r\($0 % 3)"])
        }
        var jobs = (1...40).map { i in
            job(
                Int64(i), queue: i % 2 == 0 ? "a" : "b", priority: i % 3, tasks: i % 5 == 0 ? 3 : 1, gang: i % 5 == 0,
                cpu(Int64(1 + i % 4), gpus: i % 7 == 0 ? 4 : 0), packBy: i % 10 == 0 ? "rack" : nil)
        }
        let queues = [QueueSpec(name: "a", weight: 2), QueueSpec(name: "b")]
        let first = Scheduler().schedule(ClusterSnapshot(now: 1, workers: workers, pendingJobs: jobs, queues: queues))
        workers.reverse()
        jobs.reverse()
        let second = Scheduler().schedule(
            ClusterSnapshot(now: 1, workers: workers, pendingJobs: jobs, queues: queues.reversed()))
        XCTAssertFalse(first.placements.isEmpty)
        XCTAssertEqual(first.placements, second.placements)
        XCTAssertEqual(first.reservations, second.reservations)
        XCTAssertEqual(Set(first.pending), Set(second.pending))
    }
}
