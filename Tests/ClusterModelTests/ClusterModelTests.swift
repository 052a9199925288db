import XCTest

@testable import ClusterModel

final class ClusterModelTests: XCTestCase {
    func testResourcesFitAndArithmetic() {
        let worker = Resources(cpuMillis: 8000, memoryBytes: 64 << 30, accelerators: ["gpu-h100": 8])
        let task = Resources(cpuMillis: 2000, memoryBytes: 8 << 30, accelerators: ["gpu-h100": 2])
        XCTAssertTrue(task.fits(in: worker))
        XCTAssertFalse(Resources(accelerators: ["tpu-v5e": 1]).fits(in: worker))
        let left = worker - task - task - task - task
        XCTAssertEqual(left.accelerators["gpu-h100"], nil, "zero counts are dropped")
        XCTAssertTrue(left.isNonNegative)
        XCTAssertFalse(task.fits(in: left))
        XCTAssertEqual(left + task, worker - task - task - task)
    }

    func testFitsTable() {
        let worker = Resources(cpuMillis: 4000, memoryBytes: 8 << 30, accelerators: ["gpu-h100": 2])
        let cases: [(task: Resources, fits: Bool, why: String)] = [
            (.zero, true, "nothing asked"),
            (worker, true, "exactly the worker: every component equal"),
            (Resources(cpuMillis: 4001), false, "one milli-cpu over"),
            (Resources(memoryBytes: (8 << 30) + 1), false, "one byte over"),
            (Resources(accelerators: ["gpu-h100": 2]), true, "all devices of the type"),
            (Resources(accelerators: ["gpu-h100": 3]), false, "one device over"),
            (
                Resources(accelerators: ["gpu-a100": 1]), false,
                "a type the worker lacks (h100 never stands in for a100)"
            ),
            (Resources(cpuMillis: 1, accelerators: ["gpu-h100": 1, "tpu-v5e": 1]), false, "one of two types missing"),
        ]
        for c in cases { XCTAssertEqual(c.task.fits(in: worker), c.fits, c.why) }
        XCTAssertFalse(
            Resources(cpuMillis: 1).fits(in: Resources(cpuMillis: -1)), "over-booked free capacity fits nothing")
        XCTAssertTrue(Resources.zero.fits(in: Resources(cpuMillis: 0, memoryBytes: 0)))
    }

    func testLabelsSatisfySelectorTable() {
        let labels: Labels = ["zone": "a", "pool": "gpu", "empty": ""]
        let cases: [(selector: Labels, satisfied: Bool, why: String)] = [
            ([:], true, "an empty selector asks nothing"),
            (["zone": "a"], true, "one matching term"),
            (["zone": "a", "pool": "gpu"], true, "every term matches"),
            (["zone": "b"], false, "same key, other value"),
            (["zone": "a", "pool": "cpu"], false, "one of two terms differs"),
            (["rack": "r1"], false, "a key the worker lacks"),
            (["empty": ""], true, "an empty value matches an empty value"),
            (["missing": ""], false, "an empty value does not match an absent key"),
            (["Zone": "a"], false, "keys are case-sensitive"),
        ]
        for c in cases { XCTAssertEqual(labels.satisfies(selector: c.selector), c.satisfied, c.why) }
        XCTAssertTrue(Labels().satisfies(selector: [:]))
        XCTAssertFalse(Labels().satisfies(selector: ["zone": "a"]))
    }

    func testTaskTransitions() throws {
        XCTAssertEqual(try TaskState.blocked.after(.dependenciesMet), .queued)
        XCTAssertEqual(try TaskState.queued.after(.leased), .running)
        XCTAssertEqual(try TaskState.running.after(.attemptFailed(retriesLeft: true)), .queued)
        XCTAssertEqual(try TaskState.running.after(.attemptFailed(retriesLeft: false)), .failed)
        XCTAssertEqual(try TaskState.running.after(.preempted), .queued)
        XCTAssertEqual(try TaskState.blocked.after(.dependencyFailed), .failed)
        XCTAssertThrowsError(try TaskState.running.after(.dependencyFailed))
        XCTAssertThrowsError(try TaskState.succeeded.after(.completed))
        XCTAssertThrowsError(try TaskState.cancelled.after(.cancelled))
        XCTAssertThrowsError(try TaskState.queued.after(.completed))
    }

    func testJobStateDerivation() {
        XCTAssertEqual(JobState.derived(from: [.queued, .blocked]), .pending)
        XCTAssertEqual(JobState.derived(from: [.running, .queued]), .running)
        XCTAssertEqual(JobState.derived(from: [.succeeded, .succeeded]), .succeeded)
        XCTAssertEqual(JobState.derived(from: [.succeeded, .failed, .running]), .failed)
    }

    func testBackoffIsExponentialAndCapped() {
        let policy = RetryPolicy(maxAttempts: 5, initialBackoffSeconds: 1, maxBackoffSeconds: 5, multiplier: 2)
        XCTAssertEqual(policy.backoffSeconds(afterAttempt: 1), 1)
        XCTAssertEqual(policy.backoffSeconds(afterAttempt: 2), 2)
        XCTAssertEqual(policy.backoffSeconds(afterAttempt: 3), 4)
        XCTAssertEqual(policy.backoffSeconds(afterAttempt: 4), 5)
        XCTAssertTrue(policy.allowsRetry(afterAttempt: 4))
        XCTAssertFalse(policy.allowsRetry(afterAttempt: 5))
    }

    func testIDsEncodeAsPlainIntegers() throws {
        let data = try JSONEncoder().encode([JobID(7)])
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "[7]")
        XCTAssertEqual(try JSONDecoder().decode([JobID].self, from: data), [JobID(7)])
    }
}

/// Issue 13.1: one vocabulary for attempts and workers, the database's, each transition in one table. Before,
/// the API mapped `preempted` to `cancelled` and never produced `draining`.
final class AttemptAndWorkerStateTests: XCTestCase {
    func testEveryAttemptTransition() throws {
        let expected: [AttemptEvent: AttemptState] = [
            .completed: .succeeded, .failed: .failed, .leaseExpired: .expired, .preempted: .preempted,
            .cancelled: .cancelled,
        ]
        for event in AttemptEvent.allCases {
            XCTAssertEqual(try AttemptState.active.after(event), expected[event], "\(event)")
            for final in AttemptState.allCases where final != .active {
                XCTAssertTrue(final.isTerminal)
                XCTAssertThrowsError(try final.after(event), "\(final) is final, \(event) must not move it")
            }
        }
        XCTAssertEqual(
            Set(AttemptState.allCases.map(\.rawValue)),
            ["active", "succeeded", "failed", "expired", "preempted", "cancelled"],
            "the values of the task_attempts.state CHECK")
    }

    func testEveryWorkerTransition() {
        // Rows: from; columns: registered, heartbeat, drainRequested, deregistered, heartbeatsMissed.
        let table: [WorkerState: [WorkerState]] = [
            .alive: [.alive, .alive, .draining, .drained, .lost],
            .draining: [.alive, .draining, .draining, .drained, .lost],
            .lost: [.alive, .alive, .draining, .drained, .lost],
            .drained: [.alive, .drained, .drained, .drained, .drained],
        ]
        XCTAssertEqual(
            WorkerEvent.allCases, [.registered, .heartbeat, .drainRequested, .deregistered, .heartbeatsMissed])
        for from in WorkerState.allCases {
            let row = WorkerEvent.allCases.map { from.after($0) }
            XCTAssertEqual(row, table[from], "from \(from)")
        }
        XCTAssertEqual(WorkerState.allCases.filter(\.takesWork), [.alive])
        XCTAssertEqual(
            Set(WorkerState.allCases.map(\.rawValue)), ["alive", "draining", "lost", "drained"],
            "the values of the workers.state CHECK (migration 12)")
    }
}
