// The worker daemon: register, then three loops until shutdown —
//   heartbeat: extends the leases of what it holds, reacts to cancel / preempt / stale signals;
//   poll:      long-polls for work while it has free slots and resources, starts an executor per attempt;
//   flush:     delivers queued reports in batches (completions at once, the rest every flush interval).
// Every call retries with backoff while the control plane is unreachable; executors keep running meanwhile and
// their reports wait in the `ReportQueue` until acknowledged. A report refused as stale (409) drops that
// attempt's work. `requestShutdown()` (SIGINT/SIGTERM) preempts running attempts, delivers what is queued and
// deregisters.
// Every decision is made by `WorkerDaemonStateMachine`, a value this actor feeds events and whose actions it
// performs: the actor does the I/O (HTTP calls, executor tasks, wakeups, logging) and nothing else.
// Loops: `WorkerDaemon+Work.swift` (poll, heartbeat, attempts), `WorkerDaemon+Reports.swift` (flush).

import APIClient
import APITypes
import ClusterModel
import DataShards
import Foundation
import Primitives

/// A point-in-time view of the daemon, for `opsctl` output and tests.
public struct WorkerDaemonStatus: Sendable, Equatable {
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
    let api: any ControlPlaneAPI
    let registry: ExecutorRegistry
    let artifactStore: any ArtifactStore
    /// Datasets by name and the fetchers of their files (nil: only datasets at paths and URLs are read).
    let datasets: ControlPlaneDatasets?
    let log: @Sendable (String) -> Void
    /// Remote shards read by this worker's attempts (nil if its directory cannot be created: attempts then
    /// cache in their own directories and the worker reports nothing for locality).
    let shardCache: ShardCache?

    /// Every decision and the state it rests on.
    var machine: WorkerDaemonStateMachine
    /// The token this worker registers with and keeps (`WorkerIdentityFile`); read or made at the first registration.
    var workerToken: String?
    /// The executors of `machine.running`, under the same keys.
    var executions: [AttemptID: Execution] = [:]

    let stopRequested = Wakeup(sticky: true)
    let capacityFreed = Wakeup()
    let flushNow = Wakeup()
    let heartbeatNow = Wakeup()

    struct Execution {
        var context: ExecutionContext
        var task: Task<Void, Never>?
    }

    public init(
        configuration: WorkerConfiguration, api: any ControlPlaneAPI, registry: ExecutorRegistry,
        artifactStore: any ArtifactStore, reportLimits: ReportQueue.Limits = ReportQueue.Limits(),
        log: @escaping @Sendable (String) -> Void = WorkerDaemon.standardErrorLog,
        datasets: ControlPlaneDatasets? = nil
    ) {
        self.datasets = datasets
        self.configuration = configuration
        self.api = api
        self.registry = registry
        self.artifactStore = artifactStore
        self.log = log
        self.reports = ReportQueue(limits: reportLimits)
        self.machine = WorkerDaemonStateMachine(configuration: configuration)
        do {
            shardCache = try ShardCache(
                directory: configuration.shardCacheDirectory.path, capacityBytes: configuration.shardCacheBytes)
        } catch {
            log(
                "shard cache \(configuration.shardCacheDirectory.path) unusable, attempts cache remote shards privately: \(error)"
            )
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

    public func snapshot() -> WorkerDaemonStatus {
        WorkerDaemonStatus(
            workerID: machine.workerID, registrations: machine.registrations,
            runningAttempts: machine.runningAttemptIDs,
            completedAttempts: machine.completed, failedAttempts: machine.failed, droppedAttempts: machine.dropped,
            pendingReports: reportsPending)
    }

    /// Reports wait in the queue, or final reports wait for their acknowledgement.
    var reportsPending: Bool { !reports.isEmpty || !reports.unacknowledgedFinalAttempts.isEmpty }

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
        log("stopped (completed \(machine.completed), failed \(machine.failed), dropped \(machine.dropped) attempts)")
    }

    private func beginShutdown() {
        guard machine.stopRequested() else { return }
        log("shutting down: handing back \(machine.running.count) running attempt(s)")
        capacityFreed.signal()
        heartbeatNow.signal()
    }

    // MARK: Registration

    private func register() async throws {
        let request = RegisterWorkerRequest(
            name: configuration.name, resources: configuration.resources, labels: configuration.labels,
            version: configuration.version, kinds: registry.kinds,
            maxConcurrentTasks: configuration.maxConcurrentTasks, workerToken: ownToken())
        let api = self.api
        let response = try await withControlPlaneRetry(
            "register", backoff: configuration.backoff, log: log,
            shouldStop: { await self.machine.isStopping }
        ) { () async throws(ControlPlaneError) in
            try await api.register(request)
        }
        machine.registered(response)
        log(
            "registered as worker \(response.workerID) (\(configuration.resources); kinds \(registry.kinds.joined(separator: ",")); heartbeat every \(response.heartbeatIntervalSeconds)s, leases \(response.leaseDurationSeconds)s)"
        )
    }

    /// The token that proves this worker is itself: kept in the identity file, or made now (and kept in memory
    /// only, with a warning, when the file cannot be written).
    private func ownToken() -> String {
        if let workerToken { return workerToken }
        let token: String
        do {
            token = try WorkerIdentityFile(url: configuration.identityFile).token(for: configuration.name)
        } catch {
            log("\(error)")
            token = WorkerIdentityFile.randomToken()
        }
        workerToken = token
        return token
    }

    /// The control plane forgot this worker (it was marked lost): everything held is stale; register again.
    func handleUnknownWorker() async {
        let lost = machine.workerID
        guard let attempts = machine.controlPlaneForgotWorker() else { return }
        log(
            "the control plane no longer knows worker \(lost.map { "\($0)" } ?? "?"); dropping \(attempts.count) attempt(s) and registering again"
        )
        for attempt in attempts {
            reports.markStale(attempt)
            stop(attempt, .stale)
        }
        reports.unacknowledgedFinalAttempts.forEach(reports.markStale)
        do { try await register() } catch {
            machine.registrationFailed()
            log("registering again failed: \(error)")
        }
    }

    /// Tells a running attempt's executor to stop and cancels its task.
    func stop(_ attemptID: AttemptID, _ reason: ExecutionStopped) {
        guard let execution = executions[attemptID] else { return }
        execution.context.signalStop(reason)
        execution.task?.cancel()
    }

    // MARK: Shutdown

    private func drainWhenStopping() async {
        await stopRequested.wait()
        beginShutdown()
        let handBack = machine.startHandingBack(now: Date())
        for attempt in handBack.attempts { preempt(attempt, deadline: handBack.deadline, reason: handBack.reason) }
        while true {
            switch machine.drainTick(now: Date(), reportsPending: reportsPending) {
            case .waitForAttempts(let seconds):
                await capacityFreed.wait(timeoutSeconds: seconds)
            case .deliverReports(let waitSeconds):
                flushNow.signal()
                await capacityFreed.wait(timeoutSeconds: waitSeconds)
            case .finish:
                if !reports.isEmpty { log("shutting down with undelivered reports: the control plane was unreachable") }
                flushNow.signal()
                heartbeatNow.signal()
                return
            }
        }
    }

    private func deregister() async {
        guard let workerID = machine.workerID else { return }
        do {
            try await api.deregister(
                DeregisterWorkerRequest(workerID: workerID, releasedAttempts: machine.runningAttemptIDs))
        } catch { log("deregistering failed (the control plane will notice the missing heartbeats): \(error)") }
    }
}
