import APITypes
import Checksum
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class ExecutorTests: XCTestCase {
    private var directory: URL!

    override func setUp() { directory = temporaryDirectory("executors") }
    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private func assignment(_ type: String, spec: AnyJSON = [:], attempt: Int = 1) -> TaskAssignment {
        TaskAssignment(
            taskID: TaskID(7), attemptID: AttemptID(70 + Int64(attempt)), attemptNumber: attempt, maxAttempts: 3,
            leaseDeadline: Date().addingTimeInterval(60), jobID: JobID(1), jobName: "j", jobType: type, taskIndex: 2,
            spec: spec, resources: Resources(cpuMillis: 100))
    }

    private func context(for task: TaskAssignment, reports: ReportQueue = ReportQueue()) -> ExecutionContext {
        ExecutionContext(
            task: task, workDirectory: directory, workerResources: Resources(cpuMillis: 1000),
            artifactStore: FileArtifactStore(root: directory.appendingPathComponent("store")), reports: reports)
    }

    func testRegistryKnowsTheBuiltinsAndAcceptsNewKinds() {
        struct Echo: JobExecutor {
            func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
                TaskResult(result: task.spec)
            }
        }
        var registry = ExecutorRegistry.builtins()
        XCTAssertEqual(registry.kinds, ["fail", "noop", "shell", "sleep"])
        XCTAssertNil(registry.executor(for: "train"))
        registry.register(kind: "echo", Echo())
        XCTAssertEqual(registry.kinds, ["echo", "fail", "noop", "shell", "sleep"])
        XCTAssertNotNil(registry.executor(for: "echo"))
    }

    func testNoopReturnsTheTaskIndexAndExtraResult() async throws {
        let task = assignment("noop", spec: ["result": [1, 2]])
        let result = try await NoopExecutor().run(task, context: context(for: task))
        XCTAssertEqual(result.result, ["task": 2, "result": [1, 2]])
    }

    func testSleepReportsProgressAndRejectsBadSpecs() async throws {
        let reports = ReportQueue()
        let task = assignment("sleep", spec: ["seconds": 0.2])
        let started = Date()
        let result = try await SleepExecutor().run(task, context: context(for: task, reports: reports))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.2)
        XCTAssertEqual(result.result["sleptSeconds"]?.doubleValue, 0.2)
        let batch = try XCTUnwrap(reports.takeBatch(workerID: WorkerID(1)))
        XCTAssertEqual(batch.progress.last?.fraction, 1)
        XCTAssertEqual(batch.logs.first?.message, "sleeping 0.2s")

        let bad = assignment("sleep", spec: ["seconds": "soon"])
        do {
            _ = try await SleepExecutor().run(bad, context: context(for: bad))
            XCTFail("a string is not a duration")
        } catch let failure as TaskFailure {
            XCTAssertEqual(failure.message, #"spec.sleep.seconds: expected a number >= 0, got "soon""#)
            XCTAssertFalse(failure.retryable)
        }
    }

    func testSleepStopsPromptlyWhenCancelled() async throws {
        let task = assignment("sleep", spec: ["seconds": 30])
        let ctx = context(for: task)
        let run = Task { try await SleepExecutor().run(task, context: ctx) }
        try await Task.sleep(nanoseconds: 100_000_000)
        let started = Date()
        ctx.signalStop(.cancelled(reason: "user"))
        run.cancel()
        do {
            _ = try await run.value
            XCTFail("a cancelled sleep must not succeed")
        } catch {
            XCTAssertLessThan(Date().timeIntervalSince(started), 2)
            guard case .failed(let report) = WorkerDaemon.classify(error, context: ctx, assignment: task) else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(report.reason, .cancelled)
            XCTAssertEqual(report.message, "user")
        }
    }

    func testFailSucceedsFromTheGivenAttempt() async throws {
        let first = assignment("fail", spec: ["succeedOnAttempt": 2], attempt: 1)
        do {
            _ = try await FailExecutor().run(first, context: context(for: first))
            XCTFail("attempt 1 fails")
        } catch let failure as TaskFailure {
            XCTAssertTrue(failure.retryable)
        }
        let second = assignment("fail", spec: ["succeedOnAttempt": 2], attempt: 2)
        let result = try await FailExecutor().run(second, context: context(for: second))
        XCTAssertEqual(result.result, ["attempt": 2])
    }

    func testClassificationOfExecutorErrors() {
        let task = assignment("x")
        func classify(_ error: Error, _ prepare: (ExecutionContext) -> Void = { _ in }) -> AttemptOutcome {
            let ctx = context(for: task)
            prepare(ctx)
            return WorkerDaemon.classify(error, context: ctx, assignment: task)
        }
        guard case .failed(let plain) = classify(TaskFailure("bad input", retryable: false)) else { return XCTFail() }
        XCTAssertEqual(plain.reason, .error)
        XCTAssertFalse(plain.retryable)
        struct Weird: Error {}
        guard case .failed(let other) = classify(Weird()) else { return XCTFail() }
        XCTAssertTrue(other.retryable, "unexplained errors may be transient")
        XCTAssertTrue(other.message.contains("Weird"))
        guard
            case .failed(let preempted) = classify(
                CancellationError(), { $0.signalPreemption(PreemptionRequest(deadline: Date(), reason: "make room")) })
        else { return XCTFail() }
        XCTAssertEqual(preempted.reason, .preempted)
        XCTAssertEqual(preempted.message, "make room")
        guard case .dropped = classify(CancellationError(), { $0.signalStop(.stale) }) else {
            return XCTFail("stale work is dropped")
        }
        guard case .failed(let shutdown) = classify(CancellationError()) else { return XCTFail() }
        XCTAssertEqual(shutdown.reason, .preempted)
    }

    func testContextNumbersLogLinesAndRegistersArtifacts() throws {
        let reports = ReportQueue()
        let task = assignment("x")
        let ctx = context(for: task, reports: reports)
        ctx.log("one\ntwo")
        ctx.log("three", stream: .stderr)
        ctx.metric("loss", step: 10, value: 1.5)
        ctx.progress(1.7)
        let file = directory.appendingPathComponent("ckpt.bin")
        try Data("weights".utf8).write(to: file)
        let record = try ctx.registerArtifact(file: file, name: "checkpoint-10", kind: "checkpoint")
        XCTAssertEqual(record.sha256, SHA256.hex(of: Array("weights".utf8)))
        XCTAssertEqual(record.kind, "checkpoint")
        XCTAssertEqual(record.bytes, 7)
        XCTAssertTrue(FileManager.default.fileExists(atPath: record.location))
        XCTAssertEqual(try String(contentsOfFile: record.location, encoding: .utf8), "weights")
        let again = try ctx.registerArtifact(file: file, name: "checkpoint-10-copy")
        XCTAssertEqual(again.location, record.location, "content-addressed: the same bytes are stored once")
        let batch = try XCTUnwrap(reports.takeBatch(workerID: WorkerID(1)))
        XCTAssertEqual(batch.logs.map(\.sequence), [1, 2, 3])
        XCTAssertEqual(batch.logs.map(\.message), ["one", "two", "three"])
        XCTAssertEqual(batch.metrics.first?.value, 1.5)
        XCTAssertEqual(batch.progress.first?.fraction, 1, "progress is clamped to 0...1")
        XCTAssertEqual(batch.artifacts.map(\.artifact.name), ["checkpoint-10", "checkpoint-10-copy"])
        XCTAssertThrowsError(try ctx.registerArtifact(file: directory.appendingPathComponent("missing"), name: "m"))
    }

    func testWorkDirectoryIsCreatedOnFirstUseAndRemovedAfterwards() throws {
        let task = assignment("x")
        let place = directory.appendingPathComponent("attempt-71")
        let ctx = ExecutionContext(
            task: task, workDirectory: place, workerResources: .zero,
            artifactStore: FileArtifactStore(root: directory), reports: ReportQueue())
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: place.path),
            "nothing is created for executors that need no scratch space")
        try Data("x".utf8).write(to: ctx.workDirectory.appendingPathComponent("scratch"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: place.appendingPathComponent("scratch").path))
        ctx.removeWorkDirectory()
        XCTAssertFalse(FileManager.default.fileExists(atPath: place.path))
    }

    func testRunBlockingRunsOffTheCooperativePool() async throws {
        let task = assignment("x")
        let ctx = context(for: task)
        let isMain = try await ctx.runBlocking { Thread.isMainThread }
        XCTAssertFalse(isMain)
        do {
            _ = try await ctx.runBlocking { () throws -> Int in throw TaskFailure("inner") }
            XCTFail("errors propagate")
        } catch let failure as TaskFailure {
            XCTAssertEqual(failure.message, "inner")
        }
    }
}
