import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class ReportQueueTests: XCTestCase {
    let worker = WorkerID(1)
    let t = Date(timeIntervalSince1970: 1_800_000_000)

    private func log(_ attempt: Int64, _ sequence: Int64) -> LogLineReport {
        LogLineReport(
            taskID: TaskID(attempt), attemptID: AttemptID(attempt), sequence: sequence, time: t, stream: .stdout,
            message: "line \(sequence)")
    }

    private func completion(_ attempt: Int64) -> CompletionReport {
        CompletionReport(taskID: TaskID(attempt), attemptID: AttemptID(attempt), result: ["a": .int(attempt)])
    }

    func testBatchCarriesEverythingAndProgressIsCoalesced() throws {
        let queue = ReportQueue()
        XCTAssertNil(queue.takeBatch(workerID: worker))
        queue.enqueue(ProgressReport(taskID: TaskID(1), attemptID: AttemptID(1), fraction: 0.1))
        queue.enqueue(ProgressReport(taskID: TaskID(1), attemptID: AttemptID(1), fraction: 0.7))
        queue.enqueue(log(1, 1))
        queue.enqueue(
            MetricReport(taskID: TaskID(1), attemptID: AttemptID(1), name: "loss", step: 1, value: 2, time: t))
        queue.enqueue(completion(1))
        queue.enqueue(FailureReport(taskID: TaskID(2), attemptID: AttemptID(2), message: "x", retryable: true))
        let batch = try XCTUnwrap(queue.takeBatch(workerID: worker))
        XCTAssertEqual(batch.progress.map(\.fraction), [0.7], "only the latest progress is sent")
        XCTAssertEqual(batch.logs.count, 1)
        XCTAssertEqual(batch.metrics.count, 1)
        XCTAssertEqual(batch.completions.count, 1)
        XCTAssertEqual(batch.failures.count, 1)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertEqual(
            queue.unacknowledgedFinalAttempts, [AttemptID(1), AttemptID(2)],
            "finals stay unacknowledged until the server confirms")
        queue.acknowledge(batch, staleAttempts: [])
        XCTAssertTrue(queue.unacknowledgedFinalAttempts.isEmpty)
    }

    func testFailedDeliveryPutsTheBatchBackInOrder() throws {
        let queue = ReportQueue()
        for i in 1...3 { queue.enqueue(log(1, Int64(i))) }
        queue.enqueue(completion(1))
        let first = try XCTUnwrap(queue.takeBatch(workerID: worker))
        queue.enqueue(log(2, 1)) // arrives while the first batch is in flight
        queue.enqueue(ProgressReport(taskID: TaskID(1), attemptID: AttemptID(1), fraction: 0.9))
        queue.putBack(first)
        let retry = try XCTUnwrap(queue.takeBatch(workerID: worker))
        XCTAssertEqual(retry.logs.map { "\($0.attemptID)/\($0.sequence)" }, ["1/1", "1/2", "1/3", "2/1"])
        XCTAssertEqual(retry.completions, first.completions, "the completion is resent until acknowledged")
        XCTAssertEqual(retry.progress.map(\.fraction), [0.9], "newer progress is not overwritten by the old one")
    }

    func testCompletionWaitsUntilItsLogsAreInTheSameBatch() throws {
        let queue = ReportQueue(limits: ReportQueue.Limits(maxBufferedLogLines: 100, maxItemsPerKind: 2))
        for i in 1...3 { queue.enqueue(log(1, Int64(i))) }
        queue.enqueue(completion(1))
        queue.enqueue(completion(9)) // an attempt without pending logs
        let first = try XCTUnwrap(queue.takeBatch(workerID: worker))
        XCTAssertEqual(first.logs.count, 2)
        XCTAssertEqual(first.completions.map(\.attemptID), [AttemptID(9)], "attempt 1 still has a log line queued")
        let second = try XCTUnwrap(queue.takeBatch(workerID: worker))
        XCTAssertEqual(second.logs.map(\.sequence), [3])
        XCTAssertEqual(second.completions.map(\.attemptID), [AttemptID(1)])
    }

    func testBatchesStayUnderTheByteBudgetButAlwaysMakeProgress() throws {
        let queue = ReportQueue()
        for i in 1...100 {
            queue.enqueue(
                LogLineReport(
                    taskID: TaskID(1), attemptID: AttemptID(1), sequence: Int64(i), time: t, stream: .stdout,
                    message: String(repeating: "x", count: 850)))
        }
        let first = try XCTUnwrap(queue.takeBatch(workerID: worker, maxBytes: 10_000))
        XCTAssertEqual(first.logs.count, 10, "10 lines of ~1,000 bytes fit in 10,000")
        XCTAssertLessThanOrEqual(try WireCoding.encode(first).count, 12_000)
        let tiny = try XCTUnwrap(queue.takeBatch(workerID: worker, maxBytes: 10))
        XCTAssertEqual(tiny.logs.count, 1, "one item always goes, however small the budget")
        queue.enqueue(
            CompletionReport(
                taskID: TaskID(2), attemptID: AttemptID(2), result: .string(String(repeating: "r", count: 5000))))
        var total = first.logs.count + tiny.logs.count
        while let batch = queue.takeBatch(workerID: worker, maxBytes: 10_000) {
            total += batch.logs.count
            if !batch.completions.isEmpty {
                XCTAssertEqual(total, 100, "the completion goes out only after every log line")
            }
        }
        XCTAssertEqual(total, 100)
    }

    func testStaleAttemptsAreDroppedAndRefusedLater() throws {
        let queue = ReportQueue()
        queue.enqueue(log(1, 1))
        queue.enqueue(completion(1))
        queue.enqueue(log(2, 1))
        queue.markStale(AttemptID(1))
        queue.enqueue(log(1, 2))
        let batch = try XCTUnwrap(queue.takeBatch(workerID: worker))
        XCTAssertEqual(batch.attemptIDs, [AttemptID(2)])
        XCTAssertTrue(batch.completions.isEmpty)
        XCTAssertFalse(queue.unacknowledgedFinalAttempts.contains(AttemptID(1)))
        // A batch that comes back after its attempt went stale loses that attempt's items.
        queue.enqueue(completion(3))
        let inFlight = try XCTUnwrap(queue.takeBatch(workerID: worker))
        queue.markStale(AttemptID(3))
        queue.putBack(inFlight)
        XCTAssertNil(queue.takeBatch(workerID: worker))
        XCTAssertTrue(queue.isStale(AttemptID(3)))
    }

    func testLogBufferIsBoundedAndCountsWhatItDropped() throws {
        let queue = ReportQueue(limits: ReportQueue.Limits(maxBufferedLogLines: 5, maxItemsPerKind: 100))
        for i in 1...8 { queue.enqueue(log(1, Int64(i))) }
        XCTAssertEqual(queue.droppedLogLines, 3)
        XCTAssertEqual(
            try XCTUnwrap(queue.takeBatch(workerID: worker)).logs.map(\.sequence), [4, 5, 6, 7, 8],
            "the oldest lines go first")
    }

    func testWakeHandlerIsUrgentOnlyForFinalReports() {
        let queue = ReportQueue()
        let seen = Locked<[Bool]>([])
        queue.setWakeHandler { urgent in seen.mutate { $0.append(urgent) } }
        queue.enqueue(log(1, 1))
        queue.enqueue(completion(1))
        queue.enqueue(FailureReport(taskID: TaskID(2), attemptID: AttemptID(2), message: "m", retryable: false))
        XCTAssertEqual(seen.value, [false, true, true])
    }
}

final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
