// Every decision of the worker daemon as a table: a `WorkerDaemonStateMachine` in a given phase gets one event and
// the test asserts the actions it returns and the phase it moves to. No sockets, clocks or sleeps: time and the
// backoff's jitter are values. `WorkerDaemonTests` keep testing the I/O (a real daemon over real HTTP).

import APIClient
import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class WorkerDaemonStateMachineTests: XCTestCase {
    typealias Machine = WorkerDaemonStateMachine

    private static let backoff = Backoff(initialSeconds: 0.2, maximumSeconds: 10, multiplier: 2, jitter: 0.5)
    private let t0 = Date(timeIntervalSince1970: 1_000_000)

    private func machine(maxTasks: Int = 4, maxPerPoll: Int = 3, grace: Double = 10) -> Machine {
        let configuration = WorkerConfiguration(
            name: "w1", resources: Resources(cpuMillis: 4000, memoryBytes: 1 << 30),
            maxConcurrentTasks: maxTasks, maxTasksPerPoll: maxPerPoll, pollWaitSeconds: 20,
            workDirectory: URL(fileURLWithPath: "/tmp/unused"), flushIntervalSeconds: 0.25,
            backoff: Self.backoff, shutdownGraceSeconds: grace)
        return Machine(configuration: configuration)
    }

    private func assignment(_ n: Int64, cpuMillis: Int64 = 1000) -> TaskAssignment {
        TaskAssignment(
            taskID: TaskID(n * 10), attemptID: AttemptID(n), attemptNumber: 1, maxAttempts: 3, leaseDeadline: t0,
            jobID: JobID(1), jobName: "j", jobType: "noop", spec: [:], resources: Resources(cpuMillis: cpuMillis))
    }

    private func registration(_ id: Int64, heartbeat: Double = 2) -> RegisterWorkerResponse {
        RegisterWorkerResponse(workerID: WorkerID(id), heartbeatIntervalSeconds: heartbeat, leaseDurationSeconds: 30)
    }

    private static func rejected(_ status: Int, _ code: APIErrorCode? = nil) -> ControlPlaneError {
        .rejected(route: "r", status: status, body: code.map { APIErrorBody(code: $0, message: "said \(status)") })
    }

    /// The phases a machine can be in, built through events only.
    private enum Fixture: String, CaseIterable {
        case unregistered, serving, servingFull, reregistering, stopRequested, handingBack, delivering, finished
    }

    /// A machine in `fixture`, registered as worker 7 (except `unregistered`) with attempts 1 and 2 running
    /// (4 in `servingFull`).
    private func machine(_ fixture: Fixture) -> Machine {
        var m = machine()
        if fixture == .unregistered { return m }
        m.registered(registration(7))
        _ = m.pollAnswered(fixture == .servingFull ? (1...4).map { assignment($0) } : [assignment(1), assignment(2)])
        switch fixture {
        case .unregistered, .serving, .servingFull: break
        case .reregistering: _ = m.controlPlaneForgotWorker()
        case .stopRequested: _ = m.stopRequested()
        case .handingBack, .delivering, .finished:
            _ = m.stopRequested()
            _ = m.startHandingBack(now: t0)
            if fixture == .delivering { _ = m.drainTick(now: t0.addingTimeInterval(100), reportsPending: true) }
            if fixture == .finished { _ = m.drainTick(now: t0.addingTimeInterval(100), reportsPending: false) }
        }
        return m
    }

    // MARK: Phases

    func testFixturesAreInThePhasesTheyAreNamedFor() {
        let expected: [Fixture: Machine.Phase] = [
            .unregistered: .unregistered, .serving: .serving, .servingFull: .serving, .reregistering: .reregistering,
            .stopRequested: .draining(.stopRequested),
            .handingBack: .draining(.handingBack(until: t0.addingTimeInterval(12))),
            .delivering: .draining(.delivering(until: t0.addingTimeInterval(110))), .finished: .finished,
        ]
        for fixture in Fixture.allCases { XCTAssertEqual(machine(fixture).phase, expected[fixture], fixture.rawValue) }
    }

    func testRegistrationMovesToServingExceptWhileDraining() {
        let table: [(Fixture, Machine.Phase)] = [
            (.unregistered, .serving), (.serving, .serving), (.reregistering, .serving),
            (.stopRequested, .draining(.stopRequested)), (.finished, .finished),
        ]
        for (fixture, phase) in table {
            var m = machine(fixture)
            let before = m.registrations
            m.reportedCachedShards = ["s3://a"]
            m.registered(registration(9, heartbeat: 0.01))
            XCTAssertEqual(m.phase, phase, fixture.rawValue)
            XCTAssertEqual(m.workerID, WorkerID(9), fixture.rawValue)
            XCTAssertEqual(m.registrations, before + 1, fixture.rawValue)
            XCTAssertEqual(m.heartbeatIntervalSeconds, 0.05, "an interval under 50 ms is raised to 50 ms")
            XCTAssertNil(m.reportedCachedShards, "a new registration has no cached-shard list on record")
        }
    }

    func testForgottenWorkerDropsEverythingOnceAndNotWhileStopping() {
        let table: [(Fixture, [AttemptID]?, Machine.Phase)] = [
            (.unregistered, [], .reregistering),
            (.serving, [AttemptID(1), AttemptID(2)], .reregistering),
            (.reregistering, nil, .reregistering),
            (.stopRequested, nil, .draining(.stopRequested)),
            (.finished, nil, .finished),
        ]
        for (fixture, dropped, phase) in table {
            var m = machine(fixture)
            XCTAssertEqual(m.controlPlaneForgotWorker(), dropped, fixture.rawValue)
            XCTAssertEqual(m.phase, phase, fixture.rawValue)
        }
        // A failed registration goes back to serving under the old identity, so the next "unknown worker" retries.
        var m = machine(.reregistering)
        m.registrationFailed()
        XCTAssertEqual(m.phase, .serving)
        XCTAssertEqual(m.workerID, WorkerID(7))
        XCTAssertEqual(m.controlPlaneForgotWorker(), [AttemptID(1), AttemptID(2)])
        var stopping = machine(.stopRequested)
        stopping.registrationFailed()
        XCTAssertEqual(stopping.phase, .draining(.stopRequested))
    }

    // MARK: Poll

    func testPollDecisionPerPhase() {
        let request = { (maxTasks: Int, cpuMillis: Int64) in
            Machine.PollDecision.poll(
                PollRequest(
                    workerID: WorkerID(7), maxTasks: maxTasks, waitSeconds: 20,
                    available: Resources(cpuMillis: 4000, memoryBytes: 1 << 30) - Resources(cpuMillis: cpuMillis)))
        }
        let table: [(Fixture, Machine.PollDecision)] = [
            (.unregistered, .waitForCapacity(seconds: 1)),
            (.serving, request(2, 2000)), // 2 of 4 slots free, 2 × 1000 mCPU held
            (.servingFull, .waitForCapacity(seconds: 1)),
            (.reregistering, request(2, 2000)), // keeps polling under the old identity
            (.stopRequested, .stop), (.handingBack, .stop), (.delivering, .stop), (.finished, .stop),
        ]
        for (fixture, decision) in table { XCTAssertEqual(machine(fixture).nextPoll(), decision, fixture.rawValue) }
        var fresh = machine()
        fresh.registered(registration(7))
        XCTAssertEqual(fresh.nextPoll(), request(3, 0), "no more than maxTasksPerPoll (3) of the 4 free slots")
    }

    /// A report that ends attempts carries the claim a poll would make now, without waiting; the slots of a claim
    /// in flight are taken until it ends, so a poll and a report's claim at once never ask for more than are free.
    func testAReportClaimsWhatAPollWouldAndClaimsInFlightHoldTheirSlots() {
        let table: [(Fixture, Int?)] = [
            (.unregistered, nil), (.serving, 2), (.servingFull, nil), (.reregistering, 2), (.stopRequested, nil),
            (.handingBack, nil), (.delivering, nil), (.finished, nil),
        ]
        for (fixture, maxTasks) in table {
            let m = machine(fixture)
            XCTAssertEqual(m.claimWithReport()?.maxTasks, maxTasks, fixture.rawValue)
            XCTAssertEqual(
                m.claimWithReport()?.waitSeconds ?? 0, 0, "\(fixture.rawValue): a report's claim never waits")
        }
        var m = machine(.serving) // 2 of 4 slots free
        guard case .poll(let poll) = m.nextPoll() else { return XCTFail("a serving machine with free slots polls") }
        m.claimSent(poll)
        XCTAssertEqual(m.slotsAsked, 2)
        XCTAssertNil(m.claimWithReport(), "both free slots are asked for by the claim in flight")
        XCTAssertEqual(m.nextPoll(), .waitForCapacity(seconds: 1))
        _ = m.attemptFinished(AttemptID(1), outcome: .completed(TaskResult()))
        XCTAssertEqual(m.claimWithReport()?.maxTasks, 1, "the slot the finished attempt left, not the asked ones")
        m.claimEnded(poll)
        XCTAssertEqual(m.slotsAsked, 0)
        XCTAssertEqual(m.pollAnswered([assignment(3)]), [.start(assignment(3))])
        XCTAssertEqual(m.claimWithReport()?.maxTasks, 2, "4 slots, 2 running: attempts 2 and 3")
    }

    func testAssignmentsStartWhileServingAndAreHandedBackWhileStopping() {
        var serving = machine(.serving)
        XCTAssertEqual(serving.pollAnswered([assignment(3)]), [.start(assignment(3))])
        XCTAssertEqual(serving.runningAttemptIDs, [AttemptID(1), AttemptID(2), AttemptID(3)])

        var stopping = machine(.stopRequested)
        let handBack = FailureReport(
            taskID: TaskID(30), attemptID: AttemptID(3), message: "worker w1 is shutting down",
            retryable: true, reason: .preempted)
        XCTAssertEqual(stopping.pollAnswered([assignment(3)]), [.handBack(handBack)])
        XCTAssertEqual(
            stopping.runningAttemptIDs, [AttemptID(1), AttemptID(2)], "a handed-back assignment does not run")
    }

    func testPollFailuresBackOffAndLogOnTheFirstAndEveryTenth() {
        var m = machine(.serving)
        let transient = ControlPlaneError.unreachable(url: "u", reason: "refused")
        for failures in 1...11 {
            let expected = Self.backoff.delay(afterFailures: failures, unit: 0.5)
            XCTAssertEqual(
                m.pollFailed(transient, jitterUnit: 0.5),
                .backoff(seconds: expected, failures: failures, log: failures == 1 || failures == 10),
                "failure \(failures)")
        }
        XCTAssertEqual(
            m.pollFailed(Self.rejected(404, .unknownWorker), jitterUnit: 0.5), .reregister(thenWaitSeconds: 0.1))
        XCTAssertEqual(m.pollFailures, 11, "an unknown worker is not a failure to back off from")
        _ = m.pollAnswered([])
        XCTAssertEqual(m.pollFailures, 0, "an answer resets the backoff")
        // Not retryable (a 400 on poll is a bug somewhere): wait at least 5 s rather than ask again at once.
        XCTAssertEqual(
            m.pollFailed(Self.rejected(400, .badRequest), jitterUnit: 0), .backoff(seconds: 5, failures: 1, log: true))
        XCTAssertEqual(
            m.pollFailed(Self.rejected(503), jitterUnit: 0),
            .backoff(seconds: Self.backoff.delay(afterFailures: 2, unit: 0), failures: 2, log: false))
    }

    // MARK: Attempts

    func testFinishedAttemptsAreCountedAndReportedOnce() {
        var m = machine(.serving)
        let result = TaskResult(result: ["x": 1])
        XCTAssertEqual(
            m.attemptFinished(AttemptID(1), outcome: .completed(result)),
            .enqueueCompletion(CompletionReport(taskID: TaskID(10), attemptID: AttemptID(1), result: ["x": 1])))
        XCTAssertNil(m.attemptFinished(AttemptID(1), outcome: .completed(result)), "finished already")
        let failure = FailureReport(taskID: TaskID(20), attemptID: AttemptID(2), message: "a\u{0}b", retryable: true)
        var storable = failure
        storable.message = "a\u{FFFD}b"
        XCTAssertEqual(m.attemptFinished(AttemptID(2), outcome: .failed(failure)), .enqueueFailure(storable))
        _ = m.pollAnswered([assignment(3)])
        XCTAssertEqual(m.attemptFinished(AttemptID(3), outcome: .dropped), .markStale(AttemptID(3)))
        XCTAssertNil(m.attemptFinished(AttemptID(99), outcome: .dropped), "never ran here")
        XCTAssertEqual([m.completed, m.failed, m.dropped], [1, 1, 1])
        XCTAssertTrue(m.runningAttemptIDs.isEmpty)
    }

    // MARK: Heartbeat

    func testHeartbeatListsRunningAndUnacknowledgedFinishedAttempts() throws {
        XCTAssertNil(
            machine(.unregistered).heartbeatRequest(progress: { _ in nil }, unacknowledgedFinals: [:], cachedShards: [])
        )
        let m = machine(.serving)
        let request = try XCTUnwrap(
            m.heartbeatRequest(
                progress: { $0 == AttemptID(1) ? 0.5 : nil },
                unacknowledgedFinals: [AttemptID(2): TaskID(20), AttemptID(5): TaskID(50)],
                cachedShards: []))
        XCTAssertEqual(
            request,
            HeartbeatRequest(
                workerID: WorkerID(7),
                attempts: [
                    HeldAttempt(taskID: TaskID(10), attemptID: AttemptID(1), progress: 0.5),
                    HeldAttempt(taskID: TaskID(20), attemptID: AttemptID(2)), // still running: listed once, as running
                    HeldAttempt(taskID: TaskID(50), attemptID: AttemptID(5), finished: true),
                ], draining: false, cachedShards: []),
            "the first heartbeat after registering sends the shard list, even empty")
        let draining = machine(.stopRequested).heartbeatRequest(
            progress: { _ in nil }, unacknowledgedFinals: [:], cachedShards: [])
        XCTAssertEqual(draining?.draining, true)
    }

    func testCachedShardsAreSentUntilAcknowledged() throws {
        var m = machine(.serving)
        let none: (AttemptID) -> Double? = { _ in nil }
        let first = try XCTUnwrap(m.heartbeatRequest(progress: none, unacknowledgedFinals: [:], cachedShards: ["a"]))
        XCTAssertEqual(first.cachedShards, ["a"])
        XCTAssertEqual(
            m.heartbeatRequest(progress: none, unacknowledgedFinals: [:], cachedShards: ["a"])?.cachedShards, ["a"],
            "not acknowledged yet (the heartbeat may fail): sent again")
        _ = m.heartbeatAnswered(HeartbeatResponse(heartbeatIntervalSeconds: 2), to: first)
        XCTAssertNil(
            m.heartbeatRequest(progress: none, unacknowledgedFinals: [:], cachedShards: ["a"])?.cachedShards,
            "unchanged")
        XCTAssertEqual(
            m.heartbeatRequest(progress: none, unacknowledgedFinals: [:], cachedShards: ["b", "a"])?.cachedShards,
            ["b", "a"])
        m.registered(registration(8))
        XCTAssertEqual(
            m.heartbeatRequest(progress: none, unacknowledgedFinals: [:], cachedShards: ["a"])?.cachedShards, ["a"],
            "a new registration starts with no list on record")
    }

    func testHeartbeatAnswerSignalsOnlyRunningAttemptsExceptStaleOnes() throws {
        var m = machine(.serving)
        let request = try XCTUnwrap(
            m.heartbeatRequest(progress: { _ in nil }, unacknowledgedFinals: [:], cachedShards: []))
        let cancel = CancelSignal(taskID: TaskID(10), attemptID: AttemptID(1), reason: "job cancelled")
        let preempt = PreemptSignal(taskID: TaskID(20), attemptID: AttemptID(2), graceDeadline: t0, reason: "priority")
        let gone = AttemptID(9)
        let response = HeartbeatResponse(
            leases: [
                LeaseExtension(attemptID: AttemptID(1), leaseDeadline: t0),
                LeaseExtension(attemptID: gone, leaseDeadline: t0),
            ],
            cancel: [cancel, CancelSignal(taskID: TaskID(90), attemptID: gone, reason: "x")],
            preempt: [preempt, PreemptSignal(taskID: TaskID(90), attemptID: gone, graceDeadline: t0, reason: "x")],
            staleAttempts: [AttemptID(2), gone], heartbeatIntervalSeconds: 3)
        XCTAssertEqual(
            m.heartbeatAnswered(response, to: request),
            [
                .extendLease(AttemptID(1), until: t0), .cancel(cancel), .preempt(preempt),
                .dropStale(AttemptID(2), isRunning: true), .dropStale(gone, isRunning: false),
            ])
        XCTAssertEqual(m.heartbeatIntervalSeconds, 3)
        _ = m.heartbeatAnswered(HeartbeatResponse(heartbeatIntervalSeconds: 0), to: request)
        XCTAssertEqual(m.heartbeatIntervalSeconds, 3, "0 keeps the interval")
    }

    func testHeartbeatFailures() {
        let m = machine(.serving)
        let table: [(ControlPlaneError, Machine.CallFailureReaction)] = [
            (Self.rejected(404, .unknownWorker), .reregister),
            (Self.rejected(404, .notFound), .log),
            (Self.rejected(503), .log),
            (.unreachable(url: "u", reason: "r"), .log),
        ]
        for (error, reaction) in table { XCTAssertEqual(m.heartbeatFailed(error), reaction, "\(error)") }
    }

    // MARK: Reports

    private func batch(logs: Int = 0, completions: [Int64] = [], failures: [FailureReport] = []) -> ReportBatch {
        ReportBatch(
            workerID: WorkerID(7),
            logs: (0..<logs).map {
                LogLineReport(
                    taskID: TaskID(10), attemptID: AttemptID(1), sequence: Int64($0 + 1), time: t0, stream: .stdout,
                    message: "l")
            },
            completions: completions.map { CompletionReport(taskID: TaskID($0 * 10), attemptID: AttemptID($0)) },
            failures: failures)
    }

    func testReportRefusalsInTheOrderTheDaemonChecksThem() {
        let oneCompletion = batch(completions: [1])
        let refusedCompletion = FailureReport(
            taskID: TaskID(10), attemptID: AttemptID(1),
            message: "the control plane refused this attempt's report (said 400); its result cannot be stored",
            retryable: false)
        let tooLargeCompletion = FailureReport(
            taskID: TaskID(10), attemptID: AttemptID(1),
            message:
                "the task's result is larger than the control plane accepts (HTTP 413); store large outputs as artifacts and return their names",
            retryable: false)
        let table: [(String, ControlPlaneError, ReportBatch, Machine.DeliveryStep)] = [
            (
                "409 stale", Self.rejected(409, .staleAttempt), batch(completions: [3, 1]),
                .dropStale(
                    [AttemptID(1), AttemptID(3)],
                    signals: [.dropStale(AttemptID(1), isRunning: true), .dropStale(AttemptID(3), isRunning: false)])
            ),
            (
                "409 without a body is stale", Self.rejected(409), oneCompletion,
                .dropStale([AttemptID(1)], signals: [.dropStale(AttemptID(1), isRunning: true)])
            ),
            ("409 conflict, several items", Self.rejected(409, .conflict), batch(logs: 3), .split),
            ("400, several items", Self.rejected(400, .badRequest), batch(logs: 2), .split),
            (
                "422 refused content comes before unknown worker", Self.rejected(422, .unknownWorker), batch(logs: 2),
                .split
            ),
            (
                "400, one completion", Self.rejected(400, .badRequest), oneCompletion,
                .quarantine(replacement: refusedCompletion)
            ),
            ("400, one log line", Self.rejected(400, .badRequest), batch(logs: 1), .quarantine(replacement: nil)),
            ("404 unknown worker", Self.rejected(404, .unknownWorker), oneCompletion, .reregister),
            ("503", Self.rejected(503, .unavailable), oneCompletion, .retryLater),
            ("429", Self.rejected(429), oneCompletion, .retryLater),
            ("unreachable", .unreachable(url: "u", reason: "r"), oneCompletion, .retryLater),
            (
                "413, several items", Self.rejected(413, .payloadTooLarge), batch(logs: 2),
                .shrinkBatches(batchBytes: 256 * 1024)
            ),
            (
                "413, one completion", Self.rejected(413, .payloadTooLarge), oneCompletion,
                .dropTooLarge(replacement: tooLargeCompletion)
            ),
            (
                "413, one log line", Self.rejected(413, .payloadTooLarge), batch(logs: 1),
                .dropTooLarge(replacement: nil)
            ),
            ("401", Self.rejected(401, .unauthorized), oneCompletion, .dropRefused),
            ("invalid response", .invalidResponse(route: "r", reason: "x"), oneCompletion, .dropRefused),
        ]
        for (name, error, part, step) in table {
            var m = machine(.serving)
            XCTAssertEqual(m.reportRefused(part, error), step, name)
        }
    }

    func testRefusedFailuresAreRewrittenOnceAndTooLargeOnesCut() {
        var m = machine(.serving)
        let failure = FailureReport(
            taskID: TaskID(10), attemptID: AttemptID(1), message: "bad\u{0}", retryable: true,
            details: ["k": "v"])
        guard
            case .quarantine(let rewritten?) = m.reportRefused(
                batch(failures: [failure]), Self.rejected(400, .badRequest))
        else {
            return XCTFail("a refused failure is rewritten")
        }
        XCTAssertEqual(
            rewritten.message, "the control plane refused this attempt's report (said 400); it said: bad\u{FFFD}")
        XCTAssertNil(rewritten.details)
        XCTAssertTrue(rewritten.retryable)
        XCTAssertEqual(
            m.reportRefused(batch(failures: [rewritten]), Self.rejected(400, .badRequest)),
            .quarantine(replacement: nil),
            "a rewritten failure refused again is dropped")

        let long = FailureReport(
            taskID: TaskID(10), attemptID: AttemptID(1), message: String(repeating: "x", count: 5000), retryable: true)
        guard case .dropTooLarge(let cut?) = m.reportRefused(batch(failures: [long]), Self.rejected(413)) else {
            return XCTFail("a too-large failure is cut")
        }
        XCTAssertEqual(cut.message, String(repeating: "x", count: 2000) + " …[cut: too large for the control plane]")
    }

    func testBatchBudgetHalvesOnEach413DownTo4KiB() {
        var m = machine(.serving)
        var budgets: [Int] = []
        for _ in 0..<10 {
            guard case .shrinkBatches(let bytes) = m.reportRefused(batch(logs: 2), Self.rejected(413)) else {
                return XCTFail("not shrunk")
            }
            budgets.append(bytes)
        }
        XCTAssertEqual(budgets, [262_144, 131_072, 65_536, 32_768, 16_384, 8192, 4096, 4096, 4096, 4096])
        XCTAssertEqual(m.batchByteBudget, 4096)
    }

    func testAcceptedReportsDropTheStaleAttemptsTheyName() {
        let m = machine(.serving)
        XCTAssertEqual(m.reportAccepted(staleAttempts: []), .acknowledge(stale: [], signals: []))
        XCTAssertEqual(
            m.reportAccepted(staleAttempts: [AttemptID(2), AttemptID(8)]),
            .acknowledge(
                stale: [AttemptID(2), AttemptID(8)],
                signals: [.dropStale(AttemptID(2), isRunning: true), .dropStale(AttemptID(8), isRunning: false)]))
    }

    func testFlushWaitsTheIntervalOrTheBackoffAfterFailures() {
        var m = machine(.serving)
        XCTAssertEqual(m.flushWaitSeconds(jitterUnit: 0.3), 0.25)
        m.flushEnded(delivered: false)
        m.flushEnded(delivered: false)
        XCTAssertEqual(m.flushWaitSeconds(jitterUnit: 0.3), Self.backoff.delay(afterFailures: 2, unit: 0.3))
        m.flushEnded(delivered: true)
        XCTAssertEqual(m.flushWaitSeconds(jitterUnit: 0.3), 0.25)
    }

    // MARK: Shutdown

    func testStopIsRequestedOnceFromAnyPhaseBeforeDraining() {
        let table: [(Fixture, Bool)] = [
            (.unregistered, true), (.serving, true), (.reregistering, true),
            (.stopRequested, false), (.handingBack, false), (.finished, false),
        ]
        for (fixture, first) in table {
            var m = machine(fixture)
            XCTAssertEqual(m.stopRequested(), first, fixture.rawValue)
            XCTAssertTrue(m.isStopping, fixture.rawValue)
        }
    }

    func testDrainHandsBackRunningAttemptsThenDeliversThenFinishes() {
        var m = machine(.stopRequested)
        XCTAssertEqual(
            m.startHandingBack(now: t0),
            Machine.HandBack(
                attempts: [AttemptID(1), AttemptID(2)], deadline: t0.addingTimeInterval(10),
                reason: "worker w1 is shutting down"))
        // (seconds after t0, reports pending, step, phase after)
        let steps: [(Double, Bool, Machine.DrainStep, Machine.Phase)] = [
            (1, true, .waitForAttempts(seconds: 0.1), .draining(.handingBack(until: t0.addingTimeInterval(12)))),
            (11.9, false, .waitForAttempts(seconds: 0.1), .draining(.handingBack(until: t0.addingTimeInterval(12)))),
            // Grace plus 2 s passed with attempts still running: deliver what is queued regardless.
            (12, true, .deliverReports(waitSeconds: 0.05), .draining(.delivering(until: t0.addingTimeInterval(22)))),
            (21.9, true, .deliverReports(waitSeconds: 0.05), .draining(.delivering(until: t0.addingTimeInterval(22)))),
            (22, true, .finish, .finished),
        ]
        for (seconds, pending, step, phase) in steps {
            XCTAssertEqual(
                m.drainTick(now: t0.addingTimeInterval(seconds), reportsPending: pending), step, "at \(seconds) s")
            XCTAssertEqual(m.phase, phase, "at \(seconds) s")
        }
        XCTAssertTrue(m.isFinished)
        XCTAssertEqual(m.nextPoll(), .stop)
    }

    func testDrainEndsAsSoonAsAttemptsAreBackAndReportsDelivered() {
        var m = machine(.stopRequested)
        _ = m.startHandingBack(now: t0)
        _ = m.attemptFinished(AttemptID(1), outcome: .dropped)
        XCTAssertEqual(
            m.drainTick(now: t0, reportsPending: true), .waitForAttempts(seconds: 0.1), "attempt 2 still runs")
        _ = m.attemptFinished(
            AttemptID(2),
            outcome: .failed(FailureReport(taskID: TaskID(20), attemptID: AttemptID(2), message: "p", retryable: true)))
        XCTAssertEqual(
            m.drainTick(now: t0.addingTimeInterval(1), reportsPending: true), .deliverReports(waitSeconds: 0.05))
        XCTAssertEqual(
            m.phase, .draining(.delivering(until: t0.addingTimeInterval(11))),
            "the delivery grace starts when the attempts are back")
        XCTAssertEqual(m.drainTick(now: t0.addingTimeInterval(2), reportsPending: false), .finish)
        XCTAssertEqual(m.runningAttemptIDs, [], "nothing left to release on deregistration")
    }
}
