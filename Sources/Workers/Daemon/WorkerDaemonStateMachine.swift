// The worker daemon's decisions as a value: each event (registration answered, poll answered or failed,
// heartbeat answered, report answered or refused, attempt finished, control plane forgot the worker, stop
// requested, drain tick) is a `mutating func` that updates the state and returns what the daemon must do.
// It performs no I/O, reads no clock and never sleeps: time and random numbers come in as values, so every
// decision is tested by a table (`WorkerDaemonStateMachineTests`) instead of by waiting on real sockets.
// `WorkerDaemon` (an actor) owns the I/O: the HTTP calls, the executors' tasks and contexts, the `ReportQueue`,
// the wakeups and the log; it feeds the machine events and performs the actions it returns.
// Heartbeat and report decisions are in `WorkerDaemonStateMachine+Heartbeat.swift` and `+Reports.swift`.

import APIClient
import APITypes
import ClusterModel
import Foundation

struct WorkerDaemonStateMachine {
    /// Where the daemon is in its life. Each case says who moves it out.
    enum Phase: Equatable {
        /// Before the first registration is answered: nothing to poll, heartbeat or flush for.
        /// Moved out by `registered` (→ `serving`) or `stopRequested` (→ `draining(.stopRequested)`).
        case unregistered
        /// Registered: polls while it has free slots, heartbeats, delivers reports.
        /// Moved out by `controlPlaneForgotWorker` (→ `reregistering`) or `stopRequested`.
        case serving
        /// The control plane forgot this worker (it was marked lost): everything held was dropped as stale and the
        /// daemon registers again; a second "unknown worker" meanwhile is ignored.
        /// Moved out by `registered` or `registrationFailed` (→ `serving`) or `stopRequested`.
        case reregistering
        /// Shutting down: no new work (fresh assignments are handed straight back), heartbeats say `draining`.
        /// Moved on by `startHandingBack` and `drainTick`, out by `drainTick` (→ `finished`).
        case draining(Drain)
        /// The heartbeat and flush loops end and `run()` deregisters. Terminal.
        case finished
    }

    enum Drain: Equatable {
        /// The stop was requested; running attempts are not yet asked to stop (the daemon may still be registering).
        case stopRequested
        /// Running attempts were asked to checkpoint and stop; wait for them until `until` (the grace plus 2 s,
        /// for the executors' own cancellation to land).
        case handingBack(until: Date)
        /// Deliver what is queued until `until` (another grace), then finish even if the control plane is down.
        case delivering(until: Date)
    }

    /// Heartbeat intervals below 50 ms would turn the heartbeat loop into a busy loop.
    static let minimumHeartbeatIntervalSeconds = 0.05
    /// Report batches never shrink below 4 KiB after 413s: one item of a few KB must still fit.
    static let minimumBatchBytes = 4096

    /// The slots, resources, poll wait, flush interval, backoff and shutdown grace the decisions rest on.
    let configuration: WorkerConfiguration
    private(set) var phase: Phase = .unregistered
    private(set) var workerID: WorkerID?
    private(set) var registrations = 0
    /// The attempts whose executors run, by attempt; the daemon keeps their tasks and contexts under the same keys.
    private(set) var running: [AttemptID: TaskAssignment] = [:]
    private(set) var completed = 0
    private(set) var failed = 0
    private(set) var dropped = 0
    /// Polls failed in a row (reset by an answer); sets the backoff.
    private(set) var pollFailures = 0
    /// Slots asked for by claims in flight (a poll, a report's `next`), counted as taken until the claim ends: the
    /// control plane does not know the worker's slots, so two claims at once must not ask for more than are free.
    private(set) var slotsAsked = 0
    // The rest are set by the events in the +Heartbeat and +Reports files (hence not `private(set)`); nothing
    // outside the machine writes them.
    /// The interval the control plane asked for (2 s until it says).
    var heartbeatIntervalSeconds: Double = 2
    /// Report deliveries failed in a row (reset by a delivery); sets the flush loop's backoff.
    var flushFailures = 0
    /// Largest report batch to send, in (estimated) JSON bytes; halved when the control plane answers 413.
    var batchByteBudget = 512 * 1024
    /// The cached-shard list the control plane has acknowledged; a heartbeat sends the list only when it changed.
    /// Nil after each registration: a new registration starts with no list on record.
    var reportedCachedShards: [String]?

    init(configuration: WorkerConfiguration) { self.configuration = configuration }

    /// Shutting down or done: stop polling, hand fresh work back, ignore a forgotten registration.
    var isStopping: Bool {
        switch phase {
        case .draining, .finished: return true
        case .unregistered, .serving, .reregistering: return false
        }
    }

    var isFinished: Bool { phase == .finished }

    /// The attempts handed back on deregistration: those still running.
    var runningAttemptIDs: [AttemptID] { running.keys.sorted() }

    // MARK: Registration

    /// The control plane registered the worker (first time or again): its identity and heartbeat interval.
    mutating func registered(_ response: RegisterWorkerResponse) {
        workerID = response.workerID
        reportedCachedShards = nil
        heartbeatIntervalSeconds = max(Self.minimumHeartbeatIntervalSeconds, response.heartbeatIntervalSeconds)
        registrations += 1
        if phase == .unregistered || phase == .reregistering { phase = .serving }
    }

    /// Registering again failed for good (or was stopped): back to serving with the old identity, so the next
    /// "unknown worker" answer tries again.
    mutating func registrationFailed() {
        if phase == .reregistering { phase = .serving }
    }

    /// A call was answered "unknown worker". Returns the running attempts to drop as stale before registering again,
    /// or nil when nothing is to be done (shutting down, or already registering again).
    mutating func controlPlaneForgotWorker() -> [AttemptID]? {
        guard !isStopping, phase != .reregistering else { return nil }
        phase = .reregistering
        return runningAttemptIDs
    }

    // MARK: Poll

    enum PollDecision: Equatable {
        /// Shutting down: the poll loop ends.
        case stop
        /// No free slot or no identity yet: wait for capacity (an attempt finishing wakes it early).
        case waitForCapacity(seconds: Double)
        case poll(PollRequest)
    }

    /// Whether and what to poll for next: up to the free slots (and `maxTasksPerPoll`), offering what the running
    /// attempts leave free of the worker's resources.
    func nextPoll() -> PollDecision {
        if isStopping { return .stop }
        let slots = configuration.maxConcurrentTasks - running.count - slotsAsked
        guard slots > 0, let workerID else { return .waitForCapacity(seconds: 1) }
        let held = running.values.reduce(Resources.zero) { $0 + $1.resources }
        return .poll(
            PollRequest(
                workerID: workerID, maxTasks: min(slots, configuration.maxTasksPerPoll),
                waitSeconds: configuration.pollWaitSeconds, available: configuration.resources - held))
    }

    /// The claim a report of finished attempts carries (`ReportBatch.next`): what `nextPoll` would ask, without
    /// waiting, so the slots those attempts freed are filled in the same exchange that reports them. Nil when no
    /// poll is due (stopping, no free slot, not registered).
    func claimWithReport() -> PollRequest? {
        guard case .poll(var request) = nextPoll() else { return nil }
        request.waitSeconds = 0
        return request
    }

    /// A claim (`nextPoll`'s or `claimWithReport`'s request) is about to be sent: its slots are asked for.
    mutating func claimSent(_ request: PollRequest) {
        precondition(request.maxTasks >= 1, "a claim asks for at least one slot")
        slotsAsked += request.maxTasks
    }

    /// A claim sent with `claimSent` was answered or failed: its slots are free again, or taken by what
    /// `pollAnswered` starts.
    mutating func claimEnded(_ request: PollRequest) {
        precondition(
            slotsAsked >= request.maxTasks, "claim ended twice: \(slotsAsked) slots asked, \(request.maxTasks) ending")
        slotsAsked -= request.maxTasks
    }

    enum AssignmentAction: Equatable {
        /// Run an executor for it (the attempt is now in `running`).
        case start(TaskAssignment)
        /// Shutting down: report it preempted at once, so it is requeued without using up an attempt.
        case handBack(FailureReport)
    }

    mutating func pollAnswered(_ assignments: [TaskAssignment]) -> [AssignmentAction] {
        pollFailures = 0
        return assignments.map { assignment in
            if isStopping {
                return .handBack(
                    FailureReport(
                        taskID: assignment.taskID, attemptID: assignment.attemptID,
                        message: "worker \(configuration.name) is shutting down", retryable: true, reason: .preempted))
            }
            running[assignment.attemptID] = assignment
            return .start(assignment)
        }
    }

    enum PollRetry: Equatable {
        /// The control plane forgot the worker: handle that (`controlPlaneForgotWorker`), then poll again after a
        /// short wait, as the registration may still be in progress elsewhere.
        case reregister(thenWaitSeconds: Double)
        /// Wait this long (woken early by freed capacity); `log` is set on the first failure and every tenth.
        case backoff(seconds: Double, failures: Int, log: Bool)
    }

    /// A poll failed. `jitterUnit` is a random number in [0, 1) for the backoff's jitter. A non-retryable error
    /// waits at least 5 s: asking again at once would only be refused again.
    mutating func pollFailed(_ error: ControlPlaneError, jitterUnit: Double) -> PollRetry {
        if error.isUnknownWorker { return .reregister(thenWaitSeconds: 0.1) }
        pollFailures += 1
        let delay = configuration.backoff.delay(afterFailures: pollFailures, unit: jitterUnit)
        return .backoff(
            seconds: error.isRetryable ? delay : max(delay, 5), failures: pollFailures,
            log: pollFailures == 1 || pollFailures % 10 == 0)
    }

    // MARK: Attempts

    enum AttemptEnd: Equatable {
        case enqueueCompletion(CompletionReport)
        case enqueueFailure(FailureReport)
        /// Stale: nothing is reported and whatever it queued is dropped.
        case markStale(AttemptID)
    }

    /// An executor ended. Returns the report to queue, or nil if the attempt was not running (already finished).
    mutating func attemptFinished(_ attemptID: AttemptID, outcome: AttemptOutcome) -> AttemptEnd? {
        guard let assignment = running.removeValue(forKey: attemptID) else { return nil }
        switch outcome {
        case .completed(let result):
            completed += 1
            return .enqueueCompletion(
                CompletionReport(
                    taskID: assignment.taskID, attemptID: attemptID,
                    result: result.result, artifacts: result.artifacts))
        case .failed(var report):
            failed += 1
            report.message = StorableText.escapingNUL(report.message)
            return .enqueueFailure(report)
        case .dropped:
            dropped += 1
            return .markStale(attemptID)
        }
    }

    // MARK: Shutdown

    /// Stop was requested. True the first time only: the daemon then logs it and wakes its loops.
    mutating func stopRequested() -> Bool {
        guard !isStopping else { return false }
        phase = .draining(.stopRequested)
        return true
    }

    struct HandBack: Equatable {
        var attempts: [AttemptID]
        /// Each attempt is cancelled if still running at this moment.
        var deadline: Date
        var reason: String
    }

    /// The drain begins (after registration): every running attempt is asked to checkpoint and stop within the grace.
    mutating func startHandingBack(now: Date) -> HandBack {
        let deadline = now.addingTimeInterval(configuration.shutdownGraceSeconds)
        phase = .draining(.handingBack(until: deadline.addingTimeInterval(2)))
        return HandBack(
            attempts: runningAttemptIDs, deadline: deadline, reason: "worker \(configuration.name) is shutting down")
    }

    enum DrainStep: Equatable {
        /// Attempts still run: wait for one to finish (or this long).
        case waitForAttempts(seconds: Double)
        /// Reports are pending: flush now, then wait this long.
        case deliverReports(waitSeconds: Double)
        /// Done: the loops end (`finished`); the daemon says so if reports stay undelivered.
        case finish
    }

    /// One step of the drain at `now`. `reportsPending`: the queue holds reports, or final reports are not yet acknowledged.
    mutating func drainTick(now: Date, reportsPending: Bool) -> DrainStep {
        assert(phase != .draining(.stopRequested), "drainTick before startHandingBack would skip handing attempts back")
        if case .draining(.handingBack(let until)) = phase {
            if !running.isEmpty && now < until { return .waitForAttempts(seconds: 0.1) }
            phase = .draining(.delivering(until: now.addingTimeInterval(configuration.shutdownGraceSeconds)))
        }
        if case .draining(.delivering(let until)) = phase, now < until, reportsPending {
            return .deliverReports(waitSeconds: 0.05)
        }
        phase = .finished
        return .finish
    }
}
