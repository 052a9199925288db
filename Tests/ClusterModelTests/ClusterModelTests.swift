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
