// The pool scaler's decisions, table-driven, without Slurm (issue 19; docs/worker-pools.md): each row is a pool,
// the work waiting, the pool's workers and Slurm jobs, and the actions expected.
import ClusterModel
import XCTest

@testable import Scheduler

final class PoolScalerTests: XCTestCase {
    static let node = Resources(cpuMillis: 2000, memoryBytes: 4 << 30)
    static let pool = WorkerPoolSpec(
        name: "cpu", slurm: SlurmPoolSettings(partition: "ops", timeLimitMinutes: 60), minNodes: 0, maxNodes: 3,
        idleTimeoutSeconds: 30, nodeResources: node, worker: PoolWorkerCommand(command: ["opsctl", "worker"]))
    static let oneCPU = Resources(cpuMillis: 1000, memoryBytes: 1 << 30)

    /// What a row expects, without the reasons' wording: `submit 3`, `cancel 12`, `ended 7`.
    static func summary(_ plan: PoolScalingPlan) -> [String] {
        plan.actions.map {
            switch $0 {
            case .submit(let nodes, _): "submit \(nodes)"
            case .cancel(let id, _, _): "cancel \(id)"
            case .ended(let id, _): "ended \(id)"
            }
        }
    }

    struct Row {
        var name: String
        var pool = PoolScalerTests.pool
        var now: Double = 100
        var demand: [PoolDemand] = []
        var workers: [PoolWorker] = []
        var slurmJobs: [PoolSlurmJob] = []
        var recorded: [String] = []
        var expected: [String]
        var desired: Int
    }

    static func withPool(_ change: (inout WorkerPoolSpec) -> Void) -> WorkerPoolSpec {
        var pool = PoolScalerTests.pool
        change(&pool)
        return pool
    }

    static let rows: [Row] = [
        Row(name: "nothing waits, nothing runs: nothing to do", expected: [], desired: 0),
        Row(
            name: "scale up from zero: two 1-cpu tasks fill one 2-cpu node",
            demand: [PoolDemand(job: JobID(1), tasks: 2, perTask: oneCPU)], expected: ["submit 1"], desired: 1),
        Row(
            name: "five 1-cpu tasks want three nodes, one job each",
            demand: [PoolDemand(job: JobID(1), tasks: 5, perTask: oneCPU)],
            expected: ["submit 1", "submit 1", "submit 1"], desired: 3),
        Row(
            name: "capped at maxNodes, and says so",
            demand: [PoolDemand(job: JobID(1), tasks: 20, perTask: oneCPU)],
            expected: ["submit 1", "submit 1", "submit 1"], desired: 3),
        Row(
            name: "a gang of 3 is one Slurm job of 3 nodes",
            demand: [PoolDemand(job: JobID(2), tasks: 3, isGang: true, perTask: oneCPU)], expected: ["submit 3"],
            desired: 3),
        Row(
            name: "a gang larger than maxNodes is never asked for",
            demand: [PoolDemand(job: JobID(2), tasks: 4, isGang: true, perTask: oneCPU)], expected: [], desired: 0),
        Row(
            name: "a gang whose Slurm job is still starting is not asked for again",
            demand: [PoolDemand(job: JobID(2), tasks: 3, isGang: true, perTask: oneCPU)],
            workers: [PoolWorker(id: WorkerID(1), slurmJob: "10", idleSince: 90)],
            slurmJobs: [PoolSlurmJob(id: "10", nodes: 3, state: .running)], expected: [], desired: 3),
        Row(
            name: "a node queued in Slurm covers the waiting task",
            demand: [PoolDemand(job: JobID(1), tasks: 1, perTask: oneCPU)],
            slurmJobs: [PoolSlurmJob(id: "11", nodes: 1, state: .pending)], expected: [], desired: 1),
        Row(
            name: "work that does not fit a node is not this pool's",
            demand: [PoolDemand(job: JobID(1), tasks: 1, perTask: Resources(cpuMillis: 8000))], expected: [],
            desired: 0),
        Row(
            name: "work selecting another label is not this pool's",
            demand: [PoolDemand(job: JobID(1), tasks: 1, perTask: oneCPU, nodeSelector: ["zone": "b"])],
            expected: [], desired: 0),
        Row(
            name: "work selecting the pool by its label is",
            demand: [PoolDemand(job: JobID(1), tasks: 1, perTask: oneCPU, nodeSelector: ["slurm-pool": "cpu"])],
            expected: ["submit 1"], desired: 1),
        Row(
            name: "scale down: a job whose worker was idle past the timeout is cancelled",
            workers: [PoolWorker(id: WorkerID(1), slurmJob: "12", idleSince: 60)],
            slurmJobs: [PoolSlurmJob(id: "12", nodes: 1, state: .running)], expected: ["cancel 12"], desired: 0),
        Row(
            name: "idle, but not yet for the timeout: kept",
            workers: [PoolWorker(id: WorkerID(1), slurmJob: "12", idleSince: 80)],
            slurmJobs: [PoolSlurmJob(id: "12", nodes: 1, state: .running)], expected: [], desired: 1),
        Row(
            name: "a gang's job is released only when every member is idle",
            workers: [
                PoolWorker(id: WorkerID(1), slurmJob: "13", idleSince: 10),
                PoolWorker(id: WorkerID(2), slurmJob: "13", idleSince: nil),
            ], slurmJobs: [PoolSlurmJob(id: "13", nodes: 2, state: .running)], expected: [], desired: 2),
        Row(
            name: "minNodes is kept though idle",
            pool: withPool { $0.minNodes = 1 },
            workers: [PoolWorker(id: WorkerID(1), slurmJob: "12", idleSince: 0)],
            slurmJobs: [PoolSlurmJob(id: "12", nodes: 1, state: .running)], expected: [], desired: 1),
        Row(
            name: "minNodes is started without work", pool: withPool { $0.minNodes = 2 },
            expected: ["submit 1", "submit 1"], desired: 2),
        Row(
            name: "a queued Slurm job nothing waits for any more is cancelled",
            slurmJobs: [PoolSlurmJob(id: "14", nodes: 1, state: .pending)], expected: ["cancel 14"], desired: 0),
        Row(
            name: "a recorded job squeue no longer lists ended outside the pool; its task is asked for again",
            demand: [PoolDemand(job: JobID(1), tasks: 1, perTask: oneCPU)], recorded: ["15"],
            expected: ["ended 15", "submit 1"], desired: 1),
    ]

    func testEveryRow() {
        for row in Self.rows {
            let plan = PoolScaler.decide(
                PoolScalerInput(
                    pool: row.pool, now: row.now, demand: row.demand, workers: row.workers, slurmJobs: row.slurmJobs,
                    recordedSlurmJobs: row.recorded))
            XCTAssertEqual(Self.summary(plan), row.expected, row.name)
            XCTAssertEqual(plan.desiredNodes, row.desired, row.name)
            XCTAssertTrue(plan.actions.allSatisfy { !$0.reason.isEmpty }, row.name)
        }
    }

    func testReasonsSayWhy() {
        let capped = PoolScaler.decide(
            PoolScalerInput(
                pool: Self.pool, now: 0, demand: [PoolDemand(job: JobID(1), tasks: 20, perTask: Self.oneCPU)],
                workers: [], slurmJobs: []))
        XCTAssertEqual(capped.blockedReason, "7 more nodes wanted; the pool is at maxNodes 3")
        XCTAssertEqual(
            capped.actions.first?.reason,
            "job 1: 20 tasks wait and no worker can take them; 10 nodes wanted, 0 on the way")
        let idle = PoolScaler.decide(
            PoolScalerInput(
                pool: Self.pool, now: 100, demand: [],
                workers: [PoolWorker(id: WorkerID(1), slurmJob: "12", idleSince: 55)],
                slurmJobs: [PoolSlurmJob(id: "12", nodes: 1, state: .running)]))
        XCTAssertEqual(idle.actions.first?.reason, "its 1 worker idle for 45s (idle timeout 30s)")
        let gang = PoolScaler.decide(
            PoolScalerInput(
                pool: Self.pool, now: 0,
                demand: [PoolDemand(job: JobID(9), tasks: 4, isGang: true, perTask: Self.oneCPU)],
                workers: [], slurmJobs: []))
        XCTAssertEqual(gang.blockedReason, "gang job 9 needs 4 nodes, more than maxNodes 3")
    }

    func testSubmissionsPerDecisionAreBounded() {
        var pool = Self.pool
        pool.maxNodes = 1000
        let plan = PoolScaler.decide(
            PoolScalerInput(
                pool: pool, now: 0, demand: [PoolDemand(job: JobID(1), tasks: 1000, perTask: Self.node)], workers: [],
                slurmJobs: []))
        XCTAssertEqual(plan.actions.count, PoolScaler.maxSubmissionsPerDecision)
    }
}
