// `opsctl describe job` says what preemptions cost a job (issue 20): how often, and the training tokens the next
// attempts recompute, summed from the attempts the API returns (`AttemptView.tokensLost`).

import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import OpsCommandLine

final class DescribePreemptionTests: XCTestCase {
    private let now = Date(timeIntervalSince1970: 1_767_000_000)

    private func attempt(_ number: Int, _ state: AttemptState, tokensLost: Int64? = nil) -> AttemptView {
        AttemptView(
            id: AttemptID(Int64(number)), number: number, workerID: WorkerID(1), workerName: "w1", state: state,
            leaseDeadline: now, startedAt: now, finishedAt: state == .active ? nil : now,
            message: state == .preempted ? "preempted for job urgent" : nil, tokensLost: tokensLost)
    }

    private func render(_ attempts: [AttemptView]) -> String {
        let job = JobView(
            id: JobID(1), name: "pretrain", type: "train", state: .running, tasks: TaskCounts(running: 1),
            submittedAt: now, startedAt: now)
        let task = TaskView(
            id: TaskID(2), jobID: JobID(1), jobName: "pretrain", index: 0, state: .running, attempts: attempts,
            createdAt: now, updatedAt: now)
        return DescribeCommand.render(job: job, tasks: [task], events: [])
    }

    func testPreemptionsAndTheTokensTheyLostAreShown() {
        let text = render([
            attempt(1, .preempted, tokensLost: 900), attempt(2, .preempted, tokensLost: 1_100), attempt(3, .active),
        ])
        XCTAssertTrue(
            text.contains("Preempted: 2 times, 2000 training tokens recomputed (consumed since the last checkpoint)\n"),
            text)
    }

    func testWorkThatTrainsNothingShowsOnlyTheCountAndUnpreemptedJobsNothing() {
        XCTAssertTrue(render([attempt(1, .preempted), attempt(2, .active)]).contains("Preempted: 1 time\n"))
        XCTAssertFalse(render([attempt(1, .active)]).contains("Preempted"))
    }
}
