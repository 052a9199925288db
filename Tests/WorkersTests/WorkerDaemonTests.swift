// A real WorkerDaemon against a real HTTP endpoint on 127.0.0.1 (MiniControlPlane) through the libcurl transport.

import APIClient
import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class WorkerDaemonTests: XCTestCase {
    private var plane: MiniControlPlane!
    private var directory: URL!

    override func setUpWithError() throws {
        plane = try MiniControlPlane()
        directory = temporaryDirectory()
    }

    override func tearDown() {
        plane.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private func makeDaemon(
        maxTasks: Int = 4, backoff: Backoff = Backoff(initialSeconds: 0.05, maximumSeconds: 0.2),
        grace: Double = 2
    ) -> WorkerDaemon {
        let configuration = WorkerConfiguration(
            name: "test-worker", resources: Resources(cpuMillis: 4000, memoryBytes: 1 << 30),
            labels: ["zone": "a"], maxConcurrentTasks: maxTasks, pollWaitSeconds: 1,
            workDirectory: directory.appendingPathComponent("work"), flushIntervalSeconds: 0.05,
            backoff: backoff, shutdownGraceSeconds: grace)
        let api = HTTPControlPlaneAPI(baseURL: plane.url, token: plane.joinToken, transport: CurlTransport())
        return WorkerDaemon(
            configuration: configuration, api: api, registry: .builtins(),
            artifactStore: FileArtifactStore(root: directory.appendingPathComponent("artifacts")), log: { _ in })
    }

    private func stop(_ daemon: WorkerDaemon, _ run: Task<Void, Error>) async throws {
        daemon.requestShutdown()
        try await run.value
    }

    func testRegistersRunsTasksAndCompletesEachExactlyOnce() async throws {
        let ids = plane.addTasks(40, type: "noop", spec: ["result": "x"])
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        await eventually("40 completions") { plane.withState { $0.completions.count } == 40 }
        try await stop(daemon, run)

        plane.withState { plane in
            XCTAssertEqual(plane.registrations.count, 1)
            XCTAssertEqual(plane.registrations.first?.kinds, ["fail", "noop", "shell", "sleep"])
            XCTAssertEqual(plane.registrations.first?.labels, ["zone": "a"])
            XCTAssertEqual(Set(plane.completions.map(\.taskID)), Set(ids), "every task completed")
            XCTAssertEqual(plane.completions.count, 40, "no task completed twice")
            XCTAssertEqual(plane.completions.first?.result["result"], "x")
            XCTAssertTrue(plane.failures.isEmpty)
            // Each attempt logged its start, numbered from 1.
            XCTAssertTrue(
                plane.logs.contains { $0.sequence == 1 && $0.stream == .system && $0.message.contains("started") })
            XCTAssertEqual(plane.deregistrations.count, 1, "clean shutdown deregisters")
        }
        let snapshot = await daemon.snapshot()
        XCTAssertEqual(snapshot.completedAttempts, 40)
        XCTAssertTrue(snapshot.runningAttempts.isEmpty)
    }

    func testKeepsWorkingThroughAnOutageAndDeliversTheCompletionAfterwards() async throws {
        plane.addTasks(1, type: "sleep", spec: ["seconds": 0.6])
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        await eventually("the task is leased") { await daemon.snapshot().runningAttempts.count == 1 }
        plane.withState { $0.unavailable = true }
        // The executor finishes while the control plane answers 503: the completion waits in the queue.
        await eventually("the attempt finished locally") { await daemon.snapshot().completedAttempts == 1 }
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertTrue(plane.withState { $0.completions.isEmpty })
        let pending = await daemon.snapshot().pendingReports
        XCTAssertTrue(pending, "the completion is kept while the control plane is down")
        plane.withState { $0.unavailable = false }
        await eventually("the completion arrives after the outage") { plane.withState { $0.completions.count } == 1 }
        // Heartbeats during the outage listed the finished attempt so its lease would stay alive.
        try await stop(daemon, run)
        XCTAssertEqual(plane.withState { $0.completions.count }, 1)
        XCTAssertEqual(plane.withState { $0.registrations.count }, 1, "an outage is not a reason to register again")
    }

    func testStaleAttemptIsStoppedAndItsWorkDropped() async throws {
        plane.addTasks(1, type: "sleep", spec: ["seconds": 30])
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        await eventually("the task is leased") { await daemon.snapshot().runningAttempts.count == 1 }
        let running = await daemon.snapshot().runningAttempts
        let attempt = try XCTUnwrap(running.first)
        plane.expire(attempt) // the next heartbeat says stale
        await eventually(timeoutSeconds: 5, "the stale attempt stopped") {
            await daemon.snapshot().droppedAttempts == 1
        }
        // The task was requeued as a new attempt and leased again by the same worker.
        await eventually("a new attempt runs") {
            await daemon.snapshot().runningAttempts.first.map { $0 != attempt } ?? false
        }
        try await stop(daemon, run)
        plane.withState { plane in
            XCTAssertFalse(plane.completions.contains { $0.attemptID == attempt })
            XCTAssertFalse(plane.failures.contains { $0.attemptID == attempt }, "a stale attempt reports nothing")
            // The new attempt was handed back on shutdown as preempted (requeued without using up an attempt).
            XCTAssertEqual(plane.failures.last?.reason, .preempted)
        }
    }

    func testRegistersAgainWhenTheControlPlaneMarkedItLost() async throws {
        plane.addTasks(1, type: "sleep", spec: ["seconds": 30])
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        await eventually("the task is leased") { await daemon.snapshot().runningAttempts.count == 1 }
        let first = await daemon.snapshot()
        let attempt = try XCTUnwrap(first.runningAttempts.first)
        plane.forget(try XCTUnwrap(first.workerID))
        await eventually(timeoutSeconds: 5, "registered again") { await daemon.snapshot().registrations == 2 }
        await eventually("the old attempt was dropped and the task leased again") {
            let now = await daemon.snapshot()
            return now.droppedAttempts >= 1 && now.runningAttempts.count == 1 && now.runningAttempts.first != attempt
        }
        let second = await daemon.snapshot()
        XCTAssertNotEqual(second.workerID, first.workerID)
        try await stop(daemon, run)
        XCTAssertFalse(
            plane.withState { $0.failures.contains { $0.attemptID == attempt } },
            "the lost incarnation's attempt reports nothing")
    }

    func testCancelSignalStopsTheAttemptAndReportsItCancelled() async throws {
        plane.addTasks(1, type: "sleep", spec: ["seconds": 30])
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        await eventually("the task is leased") { await daemon.snapshot().runningAttempts.count == 1 }
        let running = await daemon.snapshot().runningAttempts
        let attempt = try XCTUnwrap(running.first)
        plane.withState { $0.pendingCancel = [attempt] }
        await eventually(timeoutSeconds: 5, "the cancellation is reported") {
            plane.withState { $0.failures.count } == 1
        }
        try await stop(daemon, run)
        let failure = try XCTUnwrap(plane.withState { $0.failures.first })
        XCTAssertEqual(failure.attemptID, attempt)
        XCTAssertEqual(failure.reason, .cancelled)
        XCTAssertFalse(failure.retryable)
    }

    func testPreemptionWithGraceReportsPreempted() async throws {
        plane.addTasks(1, type: "sleep", spec: ["seconds": 30])
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        await eventually("the task is leased") { await daemon.snapshot().runningAttempts.count == 1 }
        let running = await daemon.snapshot().runningAttempts
        let attempt = try XCTUnwrap(running.first)
        plane.withState { $0.pendingPreempt = [(attempt, Date().addingTimeInterval(2))] }
        await eventually(timeoutSeconds: 5, "the preemption is reported") { plane.withState { $0.failures.count } == 1 }
        try await stop(daemon, run)
        let failure = try XCTUnwrap(plane.withState { $0.failures.first })
        XCTAssertEqual(failure.reason, .preempted)
        XCTAssertTrue(failure.retryable)
        XCTAssertEqual(failure.message, "preempted by test")
    }

    func testFailingExecutorAndUnknownKindReportFailures() async throws {
        plane.addTasks(1, type: "fail", spec: ["message": "disk full", "retryable": false])
        plane.addTasks(1, type: "tokenize")
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        await eventually("two failures") { plane.withState { $0.failures.count } == 2 }
        try await stop(daemon, run)
        let failures = plane.withState { $0.failures }
        let diskFull = try XCTUnwrap(failures.first { $0.message == "disk full" })
        XCTAssertFalse(diskFull.retryable)
        XCTAssertEqual(diskFull.reason, .error)
        let unknown = try XCTUnwrap(failures.first { $0.message.contains("no executor") })
        XCTAssertTrue(unknown.message.contains("\"tokenize\""), unknown.message)
        // The failing attempt's stderr line arrived before its failure.
        XCTAssertTrue(plane.withState { $0.logs.contains { $0.stream == .stderr && $0.message.contains("disk full") } })
    }

    func testSplitsBatchesThatExceedTheBodyLimitAndLosesNoLine() async throws {
        plane.stop()
        plane = try MiniControlPlane(maxBodyBytes: 48 * 1024)
        // 3,000 lines of 100 characters: about 750 KB of reports against a 48 KiB body limit.
        plane.addTasks(
            1, type: "shell",
            spec: ["command": ["sh", "-c", "i=0; while [ $i -lt 3000 ]; do printf '%0100d\\n' $i; i=$((i+1)); done"]])
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        await eventually(timeoutSeconds: 20, "the completion arrives") { plane.withState { $0.completions.count } == 1 }
        try await stop(daemon, run)
        plane.withState { plane in
            let output = plane.logs.filter { $0.stream == .stdout }
            XCTAssertEqual(output.count, 3000, "every line arrived")
            XCTAssertEqual(Set(output.map(\.sequence)).count, 3000, "each once")
            XCTAssertGreaterThanOrEqual(plane.reportCalls, 16, "~750 KB went out in batches under the 48 KiB limit")
            XCTAssertTrue(plane.failures.isEmpty)
        }
    }

    func testRegistrationWaitsForAnUnreachableControlPlane() async throws {
        plane.withState { $0.unavailable = true }
        let daemon = makeDaemon()
        let run = Task { try await daemon.run() }
        try await Task.sleep(nanoseconds: 300_000_000)
        let registered = await daemon.snapshot().workerID
        XCTAssertNil(registered)
        plane.withState { $0.unavailable = false }
        await eventually("registered after the outage") { await daemon.snapshot().workerID != nil }
        try await stop(daemon, run)
    }

    func testBadJoinTokenStopsTheDaemonWithAClearError() async throws {
        let configuration = WorkerConfiguration(
            name: "w", resources: Resources(cpuMillis: 1000), workDirectory: directory)
        let api = HTTPControlPlaneAPI(baseURL: plane.url, token: "wrong", transport: CurlTransport())
        let daemon = WorkerDaemon(
            configuration: configuration, api: api, registry: .builtins(),
            artifactStore: FileArtifactStore(root: directory), log: { _ in })
        do {
            try await daemon.run()
            XCTFail("registration with a bad token must fail")
        } catch let error as ControlPlaneError {
            XCTAssertEqual(error.status, 401)
            XCTAssertFalse(error.isRetryable)
        }
    }
}
