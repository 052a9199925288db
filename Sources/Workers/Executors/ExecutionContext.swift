// What an executor gets besides its task: a place to work, a way to report, and the signals to stop.

import APIClient
import APITypes
import ClusterModel
import DataShards
import Foundation
import Primitives

/// A request to stop by `deadline`, after saving what can be saved (a checkpoint).
public struct PreemptionRequest: Sendable, Equatable {
    public var deadline: Date
    public var reason: String
}

public final class ExecutionContext: Sendable {
    public let task: TaskAssignment
    /// A private directory for this attempt, created on first use and removed after the attempt.
    public var workDirectory: URL {
        state.withLock { state in
            if !state.workDirectoryCreated {
                try? FileManager.default.createDirectory(at: workDirectoryURL, withIntermediateDirectories: true)
                state.workDirectoryCreated = true
            }
        }
        return workDirectoryURL
    }
    private let workDirectoryURL: URL
    /// The whole worker's resources (the task's own grant is `task.resources`).
    public let workerResources: Resources
    public let artifactStore: any ArtifactStore
    /// The worker's cache of remote shards (see `shardCache(for:)`); nil in contexts made without one.
    public let workerShardCache: ShardCache?
    /// The control plane's training exchange (`TrainingExchanges.forJob`); nil in contexts made without one.
    public let exchangeAPI: (any TrainingExchangeAPI)?
    /// The control plane's datasets by name (`streamSource(at:)`); nil in contexts made without one.
    public let datasets: ControlPlaneDatasets?

    private let reports: ReportQueue
    /// What the attempt's threads (executor, heartbeat, report flushes) share.
    private struct State {
        var workDirectoryCreated = false
        var stopReason: ExecutionStopped?
        var preemptionRequest: PreemptionRequest?
        var currentLeaseDeadline: Date
        var logSequence: Int64 = 0
        var lastFraction: Double?
    }
    private let state: Locked<State>

    public init(
        task: TaskAssignment, workDirectory: URL, workerResources: Resources, artifactStore: any ArtifactStore,
        reports: ReportQueue, shardCache: ShardCache? = nil, datasets: ControlPlaneDatasets? = nil,
        exchangeAPI: (any TrainingExchangeAPI)? = nil
    ) {
        self.datasets = datasets
        self.task = task
        self.workerShardCache = shardCache
        self.exchangeAPI = exchangeAPI
        self.workDirectoryURL = workDirectory
        self.workerResources = workerResources
        self.artifactStore = artifactStore
        self.reports = reports
        self.state = Locked(State(currentLeaseDeadline: task.leaseDeadline))
    }

    // MARK: Reporting

    /// Reports progress (0...1); only the latest value per flush is sent.
    public func progress(_ fraction: Double, message: String? = nil, step: Int64? = nil, totalSteps: Int64? = nil) {
        let clamped = min(1, max(0, fraction.isFinite ? fraction : 0))
        state.withLock { $0.lastFraction = clamped }
        reports.enqueue(
            ProgressReport(
                taskID: task.taskID, attemptID: task.attemptID, fraction: clamped,
                message: message.map(StorableText.escapingNUL), step: step, totalSteps: totalSteps))
    }

    /// Appends a log line (multi-line text becomes several lines), numbered per attempt so resending is harmless.
    /// NUL characters become U+FFFD (`StorableText`): the control plane cannot store them.
    public func log(_ message: String, stream: LogStream = .stdout) {
        let now = Date()
        for line in StorableText.escapingNUL(message).split(separator: "\n", omittingEmptySubsequences: false) {
            let sequence = state.withLock { state -> Int64 in
                state.logSequence += 1
                return state.logSequence
            }
            reports.enqueue(
                LogLineReport(
                    taskID: task.taskID, attemptID: task.attemptID, sequence: sequence,
                    time: now, stream: stream, message: String(line)))
        }
    }

    /// Records a metric value at a step (e.g. `loss` at step 200). NaN and infinities are not sent: JSON has no
    /// spelling for them, and one in a report batch made the whole batch (with other tasks' completions)
    /// unencodable. A log line says so; the executor is expected to fail the attempt with the reason.
    public func metric(_ name: String, step: Int64, value: Double) {
        guard value.isFinite else {
            log("metric \(name) at step \(step) is \(value); not recorded", stream: .stderr)
            return
        }
        reports.enqueue(
            MetricReport(
                taskID: task.taskID, attemptID: task.attemptID, name: name, step: step, value: value, time: Date()))
    }

    /// Stores a file in the artifact store and registers it with the control plane now (use this for
    /// checkpoints, so they survive the attempt). Returns the record; it need not be repeated in the result.
    @discardableResult
    public func registerArtifact(file: URL, name: String, kind: String? = nil, metadata: AnyJSON? = nil) throws
        -> ArtifactRecord
    {
        let record = try artifactStore.store(file: file, name: name, kind: kind, metadata: metadata)
        reports.enqueue(ArtifactReport(taskID: task.taskID, attemptID: task.attemptID, artifact: record))
        return record
    }

    /// Registers an artifact already in the artifact store (its bytes were stored before, e.g. to publish them in
    /// the training exchange), so they are not sent twice.
    public func registerStoredArtifact(_ record: ArtifactRecord) {
        reports.enqueue(ArtifactReport(taskID: task.taskID, attemptID: task.attemptID, artifact: record))
    }

    // MARK: Stop signals

    /// True once the attempt has been cancelled, found stale, or its Swift task cancelled.
    public var isCancelled: Bool { state.withLock { $0.stopReason != nil } || Task.isCancelled }

    /// Throws `ExecutionStopped` (or `CancellationError`) when the attempt must stop now. Preemption does not
    /// throw here: check `preemption` and checkpoint first.
    public func checkCancellation() throws {
        if let reason = state.withLock({ $0.stopReason }) { throw reason }
        if Task.isCancelled { throw CancellationError() }
    }

    /// Set when the scheduler wants this attempt to checkpoint and stop by a deadline.
    public var preemption: PreemptionRequest? { state.withLock { $0.preemptionRequest } }

    /// The current lease deadline (heartbeats move it forward).
    public var leaseDeadline: Date { state.withLock { $0.currentLeaseDeadline } }

    /// The last progress fraction reported, for heartbeats.
    public var latestProgress: Double? { state.withLock { $0.lastFraction } }

    /// Sleeps, waking early with an error when the attempt is cancelled.
    public func sleep(seconds: Double) async throws {
        try checkCancellation()
        try await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
        try checkCancellation()
    }

    /// Runs CPU-bound or blocking work on a dedicated thread so it does not hold one of Swift's few cooperative
    /// threads (heartbeats and reports must keep flowing while a model trains).
    public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    // MARK: Signals from the daemon

    func signalStop(_ reason: ExecutionStopped) {
        state.withLock { if $0.stopReason == nil { $0.stopReason = reason } }
    }

    func signalPreemption(_ request: PreemptionRequest) {
        state.withLock { if $0.preemptionRequest == nil { $0.preemptionRequest = request } }
    }

    func updateLeaseDeadline(_ deadline: Date) {
        state.withLock { $0.currentLeaseDeadline = max($0.currentLeaseDeadline, deadline) }
    }

    var stopSignal: ExecutionStopped? { state.withLock { $0.stopReason } }

    /// Removes the work directory if the executor used it.
    func removeWorkDirectory() {
        guard state.withLock({ $0.workDirectoryCreated }) else { return }
        try? FileManager.default.removeItem(at: workDirectoryURL)
    }
}
