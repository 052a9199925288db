// `after:` edges: release on success, fail/cancel by policy (transitively), cycles; retry timing.
import XCTest
import Foundation
import ClusterModel
@testable import Scheduler

final class DependencyTests: XCTestCase {
    func node(_ id: Int64, _ state: JobState, waiting: Bool = true, after: [Int64] = [], policy: DependencyFailurePolicy = .fail) -> DependencyNode {
        DependencyNode(job: JobID(id), state: state, isWaitingOnDependencies: waiting, dependsOn: after.map(JobID.init),
                       onDependencyFailure: policy)
    }

    func testReleasedOnlyWhenEveryDependencySucceeded() {
        let graph = DependencyGraph(nodes: [
            node(1, .succeeded, waiting: false), node(2, .running, waiting: false),
            node(3, .pending, after: [1]), node(4, .pending, after: [1, 2]), node(5, .pending, waiting: false, after: [1]),
        ])
        let r = graph.resolve()
        XCTAssertEqual(r.released, [JobID(3)], "4 still waits for 2; 5 was released earlier")
        XCTAssertTrue(r.failed.isEmpty && r.cancelled.isEmpty && r.cycles.isEmpty)
    }

    func testFailurePropagatesByEachDependentsPolicy() {
        let graph = DependencyGraph(nodes: [
            node(1, .failed, waiting: false),
            node(2, .pending, after: [1], policy: .fail),
            node(3, .pending, after: [2], policy: .cancel),
            node(4, .pending, after: [3], policy: .fail),
            node(5, .pending, after: [9]),
            node(6, .cancelled, waiting: false),
            node(7, .pending, after: [6], policy: .cancel),
        ])
        let r = graph.resolve()
        XCTAssertEqual(r.failed, [JobID(2), JobID(4), JobID(5)])
        XCTAssertEqual(r.cancelled, [JobID(3), JobID(7)])
        XCTAssertEqual(r.verdicts[JobID(2)], .fail(because: .dependencyFailed(JobID(1), .failed)))
        XCTAssertEqual(r.verdicts[JobID(4)], .fail(because: .dependencyFailed(JobID(3), .cancelled)))
        XCTAssertEqual(r.verdicts[JobID(5)], .fail(because: .unknownDependency(JobID(9))))
        XCTAssertEqual(DependencyProblem.dependencyFailed(JobID(1), .failed).description, "dependency job 1 failed")
    }

    func testCyclesAreFoundAndTheirMembersFail() {
        let graph = DependencyGraph(nodes: [
            node(1, .pending, after: [3]), node(2, .pending, after: [1]), node(3, .pending, after: [2]),
            node(4, .pending, after: [4], policy: .cancel), node(5, .pending, after: [1]), node(6, .succeeded, waiting: false),
        ])
        XCTAssertEqual(graph.cycles(), [[JobID(1), JobID(2), JobID(3)], [JobID(4)]])
        let r = graph.resolve()
        XCTAssertEqual(r.failed, [JobID(1), JobID(2), JobID(3), JobID(5)])
        XCTAssertEqual(r.cancelled, [JobID(4)])
        XCTAssertTrue(graph.wouldCreateCycle(job: JobID(6), dependsOn: [JobID(6)]))
        XCTAssertTrue(DependencyGraph(nodes: [node(1, .pending, after: [2]), node(2, .pending)])
            .wouldCreateCycle(job: JobID(2), dependsOn: [JobID(1)]))
        XCTAssertFalse(graph.wouldCreateCycle(job: JobID(6), dependsOn: [JobID(5)]))
    }

    func testDeepChainsDoNotOverflowTheStack() {
        let n = 50_000
        var nodes = [node(0, .succeeded, waiting: false)]
        for i in 1...n { nodes.append(node(Int64(i), .pending, waiting: i == 1, after: [Int64(i - 1)])) }
        // On a 256 KiB stack, smaller than any thread the control plane runs on: recursion would crash here.
        let graph = DependencyGraph(nodes: nodes)
        nonisolated(unsafe) var result: DependencyResolution? = nil
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            result = graph.resolve()
            done.signal()
        }
        thread.stackSize = 256 << 10
        thread.start()
        done.wait()
        XCTAssertEqual(result?.released, [JobID(1)])
        XCTAssertEqual(result?.cycles, [])
    }

    func testRetryBackoffTiming() {
        let policy = RetryPolicy(maxAttempts: 4, initialBackoffSeconds: 2, maxBackoffSeconds: 5, multiplier: 2)
        XCTAssertEqual(policy.decision(afterFailedAttempt: 1, failedAt: 100), .retry(attempt: 2, notBefore: 102))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 2, failedAt: 100), .retry(attempt: 3, notBefore: 104))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 3, failedAt: 100), .retry(attempt: 4, notBefore: 105))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 4, failedAt: 100), .giveUp(attempts: 4))
    }
}
