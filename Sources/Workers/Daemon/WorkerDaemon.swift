// The worker daemon: register, then three loops until shutdown —
//   heartbeat: extends the leases of what it holds, reacts to cancel / preempt / stale signals;
//   poll:      long-polls for work while it has free slots and resources, starts an executor per attempt;
//   flush:     delivers queued reports in batches (completions at once, the rest every flush interval).
// Every call retries with backoff while the control plane is unreachable; executors keep running meanwhile and
// their reports wait in the `ReportQueue` until acknowledged. A report refused as stale (409) drops that
// attempt's work. `requestShutdown()` (SIGINT/SIGTERM) preempts running attempts, delivers what is queued and
// deregisters.

import APIClient
import APITypes
import ClusterModel
import DataShards
import Foundation

/// How one attempt ended, as the daemon reports it.
enum AttemptOutcome: Sendable {
    case completed(TaskResult)
    case failed(FailureReport)
    /// The attempt is stale: no report.
    case dropped
}

/// A point-in-time view of the daemon, for `opsctl` output and tests.
public struct WorkerSnapshot: Sendable, Equatable {
    public var workerID: WorkerID?
    public var registrations: Int
    public var runningAttempts: [AttemptID]
    public var completedAttempts: Int
    public var failedAttempts: Int
    public var droppedAttempts: Int
    public var pendingReports: Bool
}

public actor WorkerDaemon {
    public nonisolated let configuration: WorkerConfiguration
    public nonisolated let reports: ReportQueue
    private let api: any ControlPlaneAPI
    private let registry: ExecutorRegistry
    private let artifactStore: any ArtifactStore
    private let log: @Sendable (String) -> Void
    /// Remote shards read by this worker's attempts (nil if its directory cannot be created: attempts then
    /// cache in their own directories and the worker reports nothing for locality).
    private let shardCache: ShardCache?
    /// The cached-shard list the control plane has acknowledged; a heartbeat sends the list only when it changed.
    private var reportedCachedShards: [String]?

    private var workerID: WorkerID?
    private var registrations = 0
    private var heartbeatInterval: Double = 2
    private var running: [AttemptID: RunningAttempt] = [:]
    private var stopping = false
    private var finished = false
    private var completed = 0
    private var failed = 0
    private var dropped = 0

    private let stopRequested = Wakeup(sticky: true)
    private let capacityFreed = Wakeup()
    private let flushNow = Wakeup()
    private let heartbeatNow = Wakeup()

    private struct RunningAttempt {
        var assignment: TaskAssignment
        var context: ExecutionContext
        var task: Task<Void, Never>?
    }

    public init(configuration: WorkerConfiguration, api: any ControlPlaneAPI, registry: ExecutorRegistry,
                artifactStore: any ArtifactStore, reportLimits: ReportQueue.Limits = ReportQueue.Limits(),
                log: @escaping @Sendable (String) -> Void = WorkerDaemon.standardErrorLog) {
        self.configuration = configuration
        self.api = api
        self.registry = registry
        self.artifactStore = artifactStore
        self.log = log
        self.reports = ReportQueue(limits: reportLimits)
        do {
            shardCache = try ShardCache(directory: configuration.shardCacheDirectory.path, capacityBytes: configuration.shardCacheBytes)
        } catch {
            log("shard cache \(configuration.shardCacheDirectory.path) unusable, attempts cache remote shards privately: \(error)")
            shardCache = nil
        }
    }

    public static let standardErrorLog: @Sendable (String) -> Void = { message in
        let line = "\(WireCoding.formatTimestamp(Date())) worker: \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Asks the daemon to stop; `run()` returns once running attempts are handed back and reports delivered.
    /// Safe to call from a signal handler's queue, any number of times.
    public nonisolated func requestShutdown() {
        stopRequested.signal()
    }

    public func snapshot() -> WorkerSnapshot {
        WorkerSnapshot(workerID: workerID, registrations: registrations, runningAttempts: running.keys.sorted(),
                       completedAttempts: completed, failedAttempts: failed, droppedAttempts: dropped,
                       pendingReports: !reports.isEmpty || !reports.unacknowledgedFinalAttempts.isEmpty)
    }

    // MARK: Run

    /// Registers and serves until `requestShutdown()`. Throws only when registration is refused for good
    /// (bad token, incompatible request) or the daemon is shut down before it could register.
    public func run() async throws {
        let flushNow = self.flushNow
        reports.setWakeHandler { urgent in if urgent { flushNow.signal() } }
        let stopWatcher = Task { [stopRequested] in
            await stopRequested.wait()
            self.beginShutdown()
        }
        defer { stopWatcher.cancel() }
        do {
            try await register()
        } catch is CancellationError {
            log("stopped before registering")
            return
        }
        let poller = Task { await self.pollLoop() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.flushLoop() }
            group.addTask { await self.drainWhenStopping() }
        }
        poller.cancel()
        await deregister()
        log("stopped (completed \(completed), failed \(failed), dropped \(dropped) attempts)")
    }

    private func beginShutdown() {
        guard !stopping else { return }
        stopping = true
        log("shutting down: handing back \(running.count) running attempt(s)")
        capacityFreed.signal()
        heartbeatNow.signal()
    }

    private func register() async throws {
        let request = RegisterWorkerRequest(name: configuration.name, resources: configuration.resources, labels: configuration.labels,
                                            version: configuration.version, kinds: registry.kinds,
                                            maxConcurrentTasks: configuration.maxConcurrentTasks)
        let api = self.api
        let response = try await withControlPlaneRetry("register", backoff: configuration.backoff, log: log,
                                                       shouldStop: { await self.isStopping }) { () async throws(ControlPlaneError) in
            try await api.register(request)
        }
        workerID = response.workerID
        reportedCachedShards = nil  // a new registration starts with no list on record
        heartbeatInterval = max(0.05, response.heartbeatIntervalSeconds)
        registrations += 1
        log("registered as worker \(response.workerID) (\(configuration.resources); kinds \(registry.kinds.joined(separator: ",")); heartbeat every \(response.heartbeatIntervalSeconds)s, leases \(response.leaseDurationSeconds)s)")
    }

    private var isStopping: Bool { stopping }

    private var reregistering = false
    /// Largest report batch to send, in (estimated) JSON bytes; halved when the control plane answers 413.
    private var batchByteBudget = 512 * 1024

    /// The control plane forgot this worker (it was marked lost): everything held is stale; register again.
    private func handleUnknownWorker() async {
        guard !stopping, !reregistering else { return }
        reregistering = true
        defer { reregistering = false }
        log("the control plane no longer knows worker \(workerID.map { "\($0)" } ?? "?"); dropping \(running.count) attempt(s) and registering again")
        for (id, attempt) in running {
            reports.markStale(id)
            attempt.context.signalStop(.stale)
            attempt.task?.cancel()
        }
        reports.unacknowledgedFinalAttempts.forEach(reports.markStale)
        do { try await register() } catch { log("registering again failed: \(error)") }
    }

    // MARK: Heartbeat

    private func heartbeatLoop() async {
        while !finished {
            await heartbeatNow.wait(timeoutSeconds: heartbeatInterval)
            if finished { break }
            await heartbeatOnce()
        }
    }

    /// Sends one heartbeat and applies the answer. Internal so tests can drive it.
    func heartbeatOnce() async {
        guard let workerID else { return }
        var held = running.values.map {
            HeldAttempt(taskID: $0.assignment.taskID, attemptID: $0.assignment.attemptID, progress: $0.context.latestProgress)
        }
        let runningIDs = Set(running.keys)
        for (attempt, task) in reports.unacknowledgedFinals where !runningIDs.contains(attempt) {
            held.append(HeldAttempt(taskID: task, attemptID: attempt, finished: true))
        }
        let cached = shardCache.map { ShardCacheChoice.cachedShardURLs($0) } ?? []
        let changedCache = cached == reportedCachedShards ? nil : cached
        do {
            let response = try await api.heartbeat(HeartbeatRequest(workerID: workerID, attempts: held, draining: stopping,
                                                                    cachedShards: changedCache))
            if let changedCache { reportedCachedShards = changedCache }
            apply(response)
        } catch {
            if error.isUnknownWorker { await handleUnknownWorker() }
            else { log("heartbeat failed: \(error)") }
        }
    }

    private func apply(_ response: HeartbeatResponse) {
        if response.heartbeatIntervalSeconds > 0 { heartbeatInterval = max(0.05, response.heartbeatIntervalSeconds) }
        for lease in response.leases { running[lease.attemptID]?.context.updateLeaseDeadline(lease.leaseDeadline) }
        for signal in response.cancel {
            guard let attempt = running[signal.attemptID] else { continue }
            log("cancelling attempt \(signal.attemptID) of task \(signal.taskID): \(signal.reason)")
            attempt.context.signalStop(.cancelled(reason: signal.reason))
            attempt.task?.cancel()
        }
        for signal in response.preempt {
            guard let attempt = running[signal.attemptID] else { continue }
            log("preempting attempt \(signal.attemptID) of task \(signal.taskID) by \(WireCoding.formatTimestamp(signal.graceDeadline)): \(signal.reason)")
            preempt(attempt, deadline: signal.graceDeadline, reason: signal.reason)
        }
        for stale in response.staleAttempts { dropStale(stale) }
    }

    /// Asks the executor to checkpoint and stop; cancels it if it is still running at the deadline.
    private func preempt(_ attempt: RunningAttempt, deadline: Date, reason: String) {
        attempt.context.signalPreemption(PreemptionRequest(deadline: deadline, reason: reason))
        let task = attempt.task
        Task {
            let wait = deadline.timeIntervalSinceNow
            if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
            task?.cancel()
        }
    }

    private func dropStale(_ attemptID: AttemptID) {
        reports.markStale(attemptID)
        guard let attempt = running[attemptID] else { return }
        log("attempt \(attemptID) is stale on the control plane; stopping it and dropping its work")
        attempt.context.signalStop(.stale)
        attempt.task?.cancel()
    }

    // MARK: Poll and run

    private func pollLoop() async {
        var failures = 0
        while !stopping {
            let slots = configuration.maxConcurrentTasks - running.count
            guard slots > 0, let workerID else {
                await capacityFreed.wait(timeoutSeconds: 1)
                continue
            }
            let held = running.values.reduce(Resources.zero) { $0 + $1.assignment.resources }
            let request = PollRequest(workerID: workerID, maxTasks: min(slots, configuration.maxTasksPerPoll),
                                      waitSeconds: configuration.pollWaitSeconds, available: configuration.resources - held)
            do {
                let response = try await api.poll(request)
                failures = 0
                for assignment in response.assignments { start(assignment) }
            } catch {
                if error.isUnknownWorker {
                    await handleUnknownWorker()
                    await capacityFreed.wait(timeoutSeconds: 0.1) // registration may still be in progress elsewhere
                    continue
                }
                failures += 1
                if failures == 1 || failures % 10 == 0 { log("poll failed (\(failures) tries): \(error)") }
                let delay = configuration.backoff.delay(afterFailures: failures)
                await capacityFreed.wait(timeoutSeconds: error.isRetryable ? delay : max(delay, 5))
            }
        }
    }

    /// Starts an executor for a fresh assignment (or hands it straight back while shutting down).
    private func start(_ assignment: TaskAssignment) {
        if stopping {
            reports.enqueue(FailureReport(taskID: assignment.taskID, attemptID: assignment.attemptID,
                                          message: "worker \(configuration.name) is shutting down", retryable: true, reason: .preempted))
            return
        }
        let directory = configuration.workDirectory.appendingPathComponent("attempts").appendingPathComponent("\(assignment.attemptID)")
        let context = ExecutionContext(task: assignment, workDirectory: directory, workerResources: configuration.resources,
                                       artifactStore: artifactStore, reports: reports, shardCache: shardCache)
        running[assignment.attemptID] = RunningAttempt(assignment: assignment, context: context, task: nil)
        let executor = registry.executor(for: assignment.jobType)
        let workerName = configuration.name
        let known = registry.kinds
        let logLifecycle = configuration.logAttemptLifecycle
        let task = Task.detached { [weak self] in
            let outcome = await WorkerDaemon.execute(assignment, executor: executor, knownKinds: known, workerName: workerName,
                                                     context: context, logLifecycle: logLifecycle)
            await self?.finish(assignment, outcome: outcome)
        }
        running[assignment.attemptID]?.task = task
    }

    static func execute(_ assignment: TaskAssignment, executor: (any JobExecutor)?, knownKinds: [String], workerName: String,
                        context: ExecutionContext, logLifecycle: Bool = true) async -> AttemptOutcome {
        func failure(_ message: String, retryable: Bool, reason: FailureReason = .error) -> AttemptOutcome {
            .failed(FailureReport(taskID: assignment.taskID, attemptID: assignment.attemptID, message: message, retryable: retryable, reason: reason))
        }
        guard let executor else {
            return failure("worker \(workerName) has no executor for job type \"\(assignment.jobType)\" (it has: \(knownKinds.joined(separator: ", ")))",
                           retryable: true)
        }
        if logLifecycle {
            context.log("attempt \(assignment.attemptNumber)/\(assignment.maxAttempts) of task \(assignment.taskIndex) started on \(workerName)", stream: .system)
        }
        do {
            let result = try await executor.run(assignment, context: context)
            if context.stopSignal == .stale { return .dropped }
            if let path = result.result.firstNonFiniteNumber() {
                // Sent as is, the whole report batch would fail to encode and the task end as "lease expired".
                return failure("the result holds a non-finite number at \(path); JSON cannot carry NaN or infinity (the run diverged?)",
                               retryable: false)
            }
            if logLifecycle { context.log("attempt \(assignment.attemptNumber) succeeded", stream: .system) }
            return .completed(result)
        } catch {
            return classify(error, context: context, assignment: assignment)
        }
    }

    /// Maps what an executor threw to the report the control plane gets.
    static func classify(_ error: Error, context: ExecutionContext, assignment: TaskAssignment) -> AttemptOutcome {
        func failure(_ message: String, retryable: Bool, reason: FailureReason, details: AnyJSON? = nil) -> AttemptOutcome {
            context.log("attempt \(assignment.attemptNumber) ended (\(reason.rawValue)): \(message)", stream: .system)
            return .failed(FailureReport(taskID: assignment.taskID, attemptID: assignment.attemptID, message: message,
                                         retryable: retryable, reason: reason, details: details))
        }
        switch context.stopSignal {
        case .stale?: return .dropped
        case .cancelled(let reason)?: return failure(reason, retryable: false, reason: .cancelled)
        case .preempted(let reason)?: return failure(reason, retryable: true, reason: .preempted)
        case nil: break
        }
        if let stopped = error as? ExecutionStopped {
            switch stopped {
            case .stale: return .dropped
            case .cancelled(let reason): return failure(reason, retryable: false, reason: .cancelled)
            case .preempted(let reason): return failure(reason, retryable: true, reason: .preempted)
            }
        }
        if let preemption = context.preemption, error is CancellationError {
            return failure(preemption.reason, retryable: true, reason: .preempted)
        }
        if let failure_ = error as? TaskFailure {
            return failure(failure_.message, retryable: failure_.retryable, reason: .error, details: failure_.details)
        }
        if error is CancellationError { return failure("stopped: the worker is shutting down", retryable: true, reason: .preempted) }
        return failure("\(type(of: error)): \(error)", retryable: true, reason: .error)
    }

    private func finish(_ assignment: TaskAssignment, outcome: AttemptOutcome) {
        guard let attempt = running.removeValue(forKey: assignment.attemptID) else { return }
        attempt.context.removeWorkDirectory()
        switch outcome {
        case .completed(let result):
            completed += 1
            reports.enqueue(CompletionReport(taskID: assignment.taskID, attemptID: assignment.attemptID,
                                             result: result.result, artifacts: result.artifacts))
        case .failed(var report):
            failed += 1
            report.message = StorableText.escapingNUL(report.message)
            reports.enqueue(report)
        case .dropped:
            dropped += 1
            reports.markStale(assignment.attemptID)
        }
        capacityFreed.signal()
    }

    // MARK: Reports

    private func flushLoop() async {
        var failures = 0
        while !finished {
            await flushNow.wait(timeoutSeconds: failures > 0 ? configuration.backoff.delay(afterFailures: failures) : configuration.flushIntervalSeconds)
            if await flushQueued() { failures = 0 } else { failures += 1 }
        }
    }

    /// Sends queued batches until the queue is empty or a send fails. Returns false when delivery failed and
    /// the batch was put back. Internal so tests can drive it.
    @discardableResult
    func flushQueued() async -> Bool {
        guard let workerID else { return true }
        while let batch = reports.takeBatch(workerID: workerID, maxBytes: batchByteBudget) {
            guard await deliver(batch) else { return false }
        }
        return true
    }

    /// Sends one batch. A batch the control plane refuses for its content (400, 422, a 409 conflict) is cut in
    /// halves and each half sent, so the items it accepts are delivered and the one it refuses ends up alone and
    /// is quarantined: before, one unstorable log line held back every other attempt's completion. Returns false
    /// when delivery must wait; what was not delivered is back in front of the queue, in order.
    private func deliver(_ batch: ReportBatch) async -> Bool {
        var parts = [batch]  // a stack: the next part to send is last
        while let part = parts.popLast() {
            do {
                let response = try await api.report(part)
                reports.acknowledge(part, staleAttempts: response.staleAttempts)
                response.staleAttempts.forEach(dropStale)
            } catch {
                // Latest first: each part goes in front of those put back before it.
                func putBackUnsent() { (parts + [part]).forEach(reports.putBack) }
                if error.isStaleAttempt {
                    let stale = Array(part.attemptIDs)
                    reports.acknowledge(part, staleAttempts: stale)
                    stale.forEach(dropStale)
                } else if error.isRefusedContent && part.itemCount > 1 {
                    let halves = part.halves()
                    parts += [halves.second, halves.first]
                } else if error.isRefusedContent {
                    quarantine(part, error)
                } else if error.isUnknownWorker {
                    putBackUnsent()
                    await handleUnknownWorker()
                    return false
                } else if error.isRetryable {
                    putBackUnsent()
                    log("delivering \(part.itemCount) report(s) failed: \(error); keeping them to resend")
                    return false
                } else if error.status == 413 {
                    parts.forEach(reports.putBack)
                    handleTooLarge(part)
                    return true
                } else {
                    // The control plane will never accept this batch (a bug on one side): say so and move on.
                    log("the control plane refused \(part.itemCount) report(s) for good: \(error)")
                    reports.acknowledge(part, staleAttempts: [])
                }
            }
        }
        return true
    }

    static let refusedReport = "the control plane refused this attempt's report"

    /// The one report item the control plane refuses on its own is taken out of the queue. A completion becomes
    /// a non-retryable failure that says why (another attempt would report the same), and a failure is resent
    /// with its text made storable, so neither task waits for its lease to run out; anything else is dropped.
    /// Each case leaves a line in the worker's log.
    private func quarantine(_ item: ReportBatch, _ error: ControlPlaneError) {
        reports.acknowledge(item, staleAttempts: [])
        log("quarantined \(item.itemSummary): the control plane refuses it (\(error.message))")
        let refused = Self.refusedReport + " (\(error.message))"
        if let completion = item.completions.first {
            reports.enqueue(FailureReport(taskID: completion.taskID, attemptID: completion.attemptID,
                                          message: "\(refused); its result cannot be stored", retryable: false))
        } else if let failure = item.failures.first, !failure.message.hasPrefix(Self.refusedReport) {
            // Once only: a rewritten failure that is refused again is dropped.
            var plain = failure
            plain.message = "\(refused); it said: " + StorableText.escapingNUL(String(failure.message.prefix(2000)))
            plain.details = nil
            reports.enqueue(plain)
        }
    }

    /// The control plane refused a batch as larger than its body limit: send smaller batches; an item that is
    /// too large on its own is dropped (a completion becomes a failure that says why, so the task does not hang).
    private func handleTooLarge(_ batch: ReportBatch) {
        if batch.itemCount > 1 {
            reports.putBack(batch)
            batchByteBudget = max(4096, batchByteBudget / 2)
            log("the control plane refused \(batch.itemCount) report(s) as too large (HTTP 413); sending batches of at most \(batchByteBudget) bytes")
            return
        }
        reports.acknowledge(batch, staleAttempts: [])
        if let completion = batch.completions.first {
            reports.enqueue(FailureReport(taskID: completion.taskID, attemptID: completion.attemptID,
                                          message: "the task's result is larger than the control plane accepts (HTTP 413); store large outputs as artifacts and return their names",
                                          retryable: false))
        } else if let failure = batch.failures.first {
            var shorter = failure
            shorter.message = String(failure.message.prefix(2000)) + " …[cut: too large for the control plane]"
            if shorter.message != failure.message { reports.enqueue(shorter) }
        } else {
            log("dropped one report item the control plane refuses as too large (HTTP 413)")
        }
    }

    // MARK: Shutdown

    private func drainWhenStopping() async {
        await stopRequested.wait()
        beginShutdown()
        let grace = configuration.shutdownGraceSeconds
        let deadline = Date().addingTimeInterval(grace)
        for attempt in running.values { preempt(attempt, deadline: deadline, reason: "worker \(configuration.name) is shutting down") }
        while !running.isEmpty && Date() < deadline.addingTimeInterval(2) {
            await capacityFreed.wait(timeoutSeconds: 0.1)
        }
        let flushDeadline = Date().addingTimeInterval(grace)
        while Date() < flushDeadline && (!reports.isEmpty || !reports.unacknowledgedFinalAttempts.isEmpty) {
            flushNow.signal()
            await capacityFreed.wait(timeoutSeconds: 0.05)
        }
        if !reports.isEmpty { log("shutting down with undelivered reports: the control plane was unreachable") }
        finished = true
        flushNow.signal()
        heartbeatNow.signal()
    }

    private func deregister() async {
        guard let workerID else { return }
        let released = Array(running.keys)
        do { try await api.deregister(DeregisterWorkerRequest(workerID: workerID, releasedAttempts: released)) }
        catch { log("deregistering failed (the control plane will notice the missing heartbeats): \(error)") }
    }
}
