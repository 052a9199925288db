import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class ReportBatchSplitTests: XCTestCase {
    private let worker = WorkerID(1)

    private func batch(logs: Int, metrics: Int, completions: Int) -> ReportBatch {
        let attempt = AttemptID(7)
        let task = TaskID(3)
        return ReportBatch(
            workerID: worker,
            logs: (0..<logs).map {
                LogLineReport(
                    taskID: task, attemptID: attempt, sequence: Int64($0 + 1), time: Date(), stream: .stdout,
                    message: "\($0)")
            },
            metrics: (0..<metrics).map {
                MetricReport(taskID: task, attemptID: attempt, name: "m", step: Int64($0), value: 1, time: Date())
            },
            completions: (0..<completions).map {
                CompletionReport(taskID: TaskID(Int64(10 + $0)), attemptID: AttemptID(Int64(100 + $0)))
            })
    }

    func testHalvesKeepEveryItemOnceAndInApplyOrder() {
        let whole = batch(logs: 5, metrics: 2, completions: 3)
        let (first, second) = whole.halves()
        XCTAssertEqual(first.itemCount, 5)
        XCTAssertEqual(second.itemCount, 5)
        XCTAssertEqual(first.logs.map(\.sequence), [1, 2, 3, 4, 5])
        XCTAssertTrue(first.metrics.isEmpty && first.completions.isEmpty, "logs come first")
        XCTAssertEqual(second.metrics.count, 2)
        XCTAssertEqual(second.completions.map(\.attemptID), whole.completions.map(\.attemptID))
        XCTAssertEqual(first.workerID, worker)
        XCTAssertEqual(second.workerID, worker)
        // Cutting again until one item is left reaches every item.
        var parts = [whole]
        var singles: [ReportBatch] = []
        while let part = parts.popLast() {
            if part.itemCount == 1 {
                singles.append(part)
                continue
            }
            let halves = part.halves()
            XCTAssertFalse(halves.first.isEmpty || halves.second.isEmpty)
            parts += [halves.second, halves.first]
        }
        XCTAssertEqual(singles.count, 10)
        XCTAssertEqual(singles.first?.itemSummary, "log line 1 of attempt 7")
        XCTAssertEqual(singles.last?.itemSummary, "completion of attempt 102")
    }

    func testNULsInCapturedTextBecomeTheReplacementCharacter() {
        XCTAssertEqual(StorableText.escapingNUL("before\u{0}after\u{0}"), "before\u{FFFD}after\u{FFFD}")
        XCTAssertEqual(StorableText.escapingNUL("plain ü"), "plain ü")
        let reports = ReportQueue()
        let task = TaskAssignment(
            taskID: TaskID(5), attemptID: AttemptID(50), attemptNumber: 1, maxAttempts: 3,
            leaseDeadline: Date().addingTimeInterval(60), jobID: JobID(1), jobName: "j", jobType: "noop",
            spec: ["type": "noop"], resources: .zero)
        let context = ExecutionContext(
            task: task, workDirectory: URL(fileURLWithPath: NSTemporaryDirectory()), workerResources: .zero,
            artifactStore: FileArtifactStore(root: URL(fileURLWithPath: NSTemporaryDirectory())), reports: reports)
        context.log("a\u{0}b\nc")
        context.progress(0.5, message: "half\u{0}way")
        let sent = try? XCTUnwrap(reports.takeBatch(workerID: worker))
        XCTAssertEqual(sent?.logs.map(\.message), ["a\u{FFFD}b", "c"])
        XCTAssertEqual(sent?.progress.first?.message, "half\u{FFFD}way")
    }
}
