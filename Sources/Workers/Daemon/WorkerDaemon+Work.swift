// The poll and heartbeat loops and the attempts they start and signal: the I/O half of the decisions in
// `WorkerDaemonStateMachine` and `WorkerDaemonStateMachine+Heartbeat.swift`.

import APIClient
import APITypes
import ClusterModel
import Foundation

extension WorkerDaemon {
    // MARK: Poll and run

    func pollLoop() async {
        while true {
            switch machine.nextPoll() {
            case .stop:
                return
            case .waitForCapacity(let seconds):
                await capacityFreed.wait(timeoutSeconds: seconds)
            case .poll(let request):
                await poll(request)
            }
        }
    }

    private func poll(_ request: PollRequest) async {
        machine.claimSent(request)
        do {
            let assignments = try await api.poll(request).assignments
            machine.claimEnded(request)
            startAnswered(assignments)
        } catch {
            machine.claimEnded(request)
            switch machine.pollFailed(error, jitterUnit: Double.random(in: 0..<1)) {
            case .reregister(let waitSeconds):
                await handleUnknownWorker()
                await capacityFreed.wait(timeoutSeconds: waitSeconds)
            case .backoff(let seconds, let failures, let shouldLog):
                if shouldLog { log("poll failed (\(failures) tries): \(error)") }
                await capacityFreed.wait(timeoutSeconds: seconds)
            }
        }
    }

    /// Starts what a poll, or a report that claimed, was answered (or hands it back while stopping).
    func startAnswered(_ assignments: [TaskAssignment]) {
        for action in machine.pollAnswered(assignments) {
            switch action {
            case .start(let assignment): start(assignment)
            case .handBack(let report): reports.enqueue(report)
            }
        }
    }

    /// Starts an executor for an assignment the state machine now counts as running.
    private func start(_ assignment: TaskAssignment) {
        let directory = configuration.workDirectory.appendingPathComponent("attempts").appendingPathComponent(
            "\(assignment.attemptID)")
        let context = ExecutionContext(
            task: assignment, workDirectory: directory, workerResources: configuration.resources,
            artifactStore: artifactStore, reports: reports, shardCache: shardCache, datasets: datasets,
            exchangeAPI: api as? any TrainingExchangeAPI)
        executions[assignment.attemptID] = Execution(context: context, task: nil)
        let executor = registry.executor(for: assignment.jobType)
        let workerName = configuration.name
        let known = registry.kinds
        let logLifecycle = configuration.logAttemptLifecycle
        let task = Task.detached { [weak self] in
            let outcome = await WorkerDaemon.execute(
                assignment, executor: executor, knownKinds: known, workerName: workerName,
                context: context, logLifecycle: logLifecycle)
            await self?.finish(assignment, outcome: outcome)
        }
        executions[assignment.attemptID]?.task = task
    }

    private func finish(_ assignment: TaskAssignment, outcome: AttemptOutcome) {
        guard let end = machine.attemptFinished(assignment.attemptID, outcome: outcome) else { return }
        executions.removeValue(forKey: assignment.attemptID)?.context.removeWorkDirectory()
        switch end {
        case .enqueueCompletion(let report): reports.enqueue(report)
        case .enqueueFailure(let report): reports.enqueue(report)
        case .markStale(let attempt):
            reports.markStale(attempt)
            capacityFreed.signal()
        }
        // A finished attempt's slot is claimed again by the report that carries its end (`ReportBatch.next`); the
        // poll loop is woken when that flush ends (`flushLoop`), or now while stopping (the drain waits on it).
        if machine.isStopping { capacityFreed.signal() }
    }

    // MARK: Heartbeat

    func heartbeatLoop() async {
        while !machine.isFinished {
            await heartbeatNow.wait(timeoutSeconds: machine.heartbeatIntervalSeconds)
            if machine.isFinished { break }
            await heartbeatOnce()
        }
    }

    /// Sends one heartbeat and applies the answer. Internal so tests can drive it.
    func heartbeatOnce() async {
        let executions = self.executions
        let cached = shardCache.map { ShardCacheChoice.cachedShardURLs($0) } ?? []
        guard
            let request = machine.heartbeatRequest(
                progress: { executions[$0]?.context.latestProgress },
                unacknowledgedFinals: reports.unacknowledgedFinals, cachedShards: cached)
        else { return }
        do {
            let response = try await api.heartbeat(request)
            machine.heartbeatAnswered(response, to: request).forEach(perform)
        } catch {
            switch machine.heartbeatFailed(error) {
            case .reregister: await handleUnknownWorker()
            case .log: log("heartbeat failed: \(error)")
            }
        }
    }

    /// Does what a heartbeat or report answer asks of one attempt.
    func perform(_ signal: WorkerDaemonStateMachine.AttemptSignal) {
        switch signal {
        case .extendLease(let attempt, let deadline):
            executions[attempt]?.context.updateLeaseDeadline(deadline)
        case .cancel(let cancel):
            log("cancelling attempt \(cancel.attemptID) of task \(cancel.taskID): \(cancel.reason)")
            stop(cancel.attemptID, .cancelled(reason: cancel.reason))
        case .preempt(let preemption):
            log(
                "preempting attempt \(preemption.attemptID) of task \(preemption.taskID) by \(WireCoding.formatTimestamp(preemption.graceDeadline)): \(preemption.reason)"
            )
            preempt(preemption.attemptID, deadline: preemption.graceDeadline, reason: preemption.reason)
        case .dropStale(let attempt, let isRunning):
            reports.markStale(attempt)
            guard isRunning else { return }
            log("attempt \(attempt) is stale on the control plane; stopping it and dropping its work")
            stop(attempt, .stale)
        }
    }

    /// Asks the executor to checkpoint and stop; cancels it if it is still running at the deadline.
    func preempt(_ attemptID: AttemptID, deadline: Date, reason: String) {
        guard let execution = executions[attemptID] else { return }
        execution.context.signalPreemption(PreemptionRequest(deadline: deadline, reason: reason))
        let task = execution.task
        Task {
            let wait = deadline.timeIntervalSinceNow
            if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
            task?.cancel()
        }
    }
}
