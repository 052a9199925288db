// Reports waiting to be delivered to the control plane. Executors enqueue without waiting (progress, log
// lines, metrics, artifacts); the daemon's flusher takes batches, sends them, and on a transient failure puts
// them back in front so that nothing is lost or reordered. Completions and failures stay "unacknowledged"
// until the control plane confirms them; the heartbeat keeps their leases alive meanwhile.

import APITypes
import ClusterModel
import Foundation
import Primitives

public final class ReportQueue: Sendable {
    public struct Limits: Sendable {
        /// Most log lines kept while the control plane is unreachable; beyond it the oldest are dropped (and counted).
        public var maxBufferedLogLines: Int
        /// Most items of each kind in one batch.
        public var maxItemsPerKind: Int

        public init(maxBufferedLogLines: Int = 200_000, maxItemsPerKind: Int = 2_000) {
            self.maxBufferedLogLines = maxBufferedLogLines
            self.maxItemsPerKind = maxItemsPerKind
        }
    }

    private let buffers: Locked<ReportBuffers>
    private let wake = Locked<(@Sendable (_ urgent: Bool) -> Void)?>(nil)

    public init(limits: Limits = Limits()) { buffers = Locked(ReportBuffers(limits: limits)) }

    /// Called after each enqueue; `urgent` for completions and failures (flush now rather than on the next tick).
    public func setWakeHandler(_ handler: @escaping @Sendable (_ urgent: Bool) -> Void) {
        wake.withLock { $0 = handler }
    }

    // MARK: Enqueue (from executors and the daemon)

    public func enqueue(_ report: ProgressReport) {
        enqueue(report.attemptID, urgent: false) { $0.progress[report.attemptID] = report }
    }
    public func enqueue(_ report: LogLineReport) { enqueue(report.attemptID, urgent: false) { $0.append(report) } }
    public func enqueue(_ report: MetricReport) {
        enqueue(report.attemptID, urgent: false) { $0.metrics.append(report) }
    }
    public func enqueue(_ report: ArtifactReport) {
        enqueue(report.attemptID, urgent: true) { $0.artifacts.append(report) }
    }

    public func enqueue(_ report: CompletionReport) {
        enqueue(report.attemptID, urgent: true) {
            $0.completions.append(report)
            $0.finals[report.attemptID] = report.taskID
        }
    }

    public func enqueue(_ report: FailureReport) {
        enqueue(report.attemptID, urgent: true) {
            $0.failures.append(report)
            $0.finals[report.attemptID] = report.taskID
        }
    }

    /// Adds one report unless its attempt is stale, then wakes the flusher.
    private func enqueue(_ attempt: AttemptID, urgent: Bool, _ add: (inout ReportBuffers) -> Void) {
        let accepted = buffers.withLock { buffers -> Bool in
            guard !buffers.staleAttempts.contains(attempt) else { return false }
            add(&buffers)
            return true
        }
        if accepted { wake.current?(urgent) }
    }

    // MARK: Delivery (from the flusher)

    /// Removes and returns the next batch, or nil when nothing is queued. The batch holds at most
    /// `maxItemsPerKind` items of each kind and about `maxBytes` of JSON (but always at least one item, so
    /// progress is made). A completion or failure is only included once every earlier log line, metric and
    /// artifact of its attempt is in the same batch, so the control plane stores a task's last lines before it
    /// shows the task finished.
    public func takeBatch(workerID: WorkerID, maxBytes: Int = 512 * 1024) -> ReportBatch? {
        buffers.withLock { $0.takeBatch(workerID: workerID, maxBytes: maxBytes) }
    }

    /// Rough JSON sizes, to keep batches under the control plane's body limit.
    static func size(_ line: LogLineReport) -> Int { 150 + line.message.utf8.count }
    static func size(_ report: ArtifactReport) -> Int {
        300 + report.artifact.name.utf8.count + report.artifact.location.utf8.count
            + (report.artifact.metadata?.jsonText.utf8.count ?? 0)
    }
    static func size(_ report: CompletionReport) -> Int {
        let result = report.result == .null ? 4 : report.result.jsonText.utf8.count
        return 150 + result
            + report.artifacts.reduce(0) {
                $0 + 300 + $1.name.utf8.count + $1.location.utf8.count + ($1.metadata?.jsonText.utf8.count ?? 0)
            }
    }

    /// Puts a batch that could not be delivered back in front of the queue, in its original order. Progress is
    /// only restored when no newer progress of the same attempt arrived meanwhile.
    public func putBack(_ batch: ReportBatch) { buffers.withLock { $0.putBack(batch) } }

    /// The control plane accepted `batch`: its completions and failures are acknowledged; the attempts it
    /// called stale are dropped.
    public func acknowledge(_ batch: ReportBatch, staleAttempts stale: [AttemptID]) {
        buffers.withLock { buffers in
            batch.completions.forEach { buffers.finals[$0.attemptID] = nil }
            batch.failures.forEach { buffers.finals[$0.attemptID] = nil }
        }
        stale.forEach(markStale)
    }

    /// Drops everything queued for `attempt` and refuses whatever is enqueued for it later.
    public func markStale(_ attempt: AttemptID) { buffers.withLock { $0.markStale(attempt) } }

    public func isStale(_ attempt: AttemptID) -> Bool { buffers.withLock { $0.staleAttempts.contains(attempt) } }

    /// Attempts whose completion or failure has not been acknowledged yet.
    public var unacknowledgedFinalAttempts: Set<AttemptID> { buffers.withLock { Set($0.finals.keys) } }

    /// The same, with each attempt's task (heartbeats list them so their leases stay alive).
    public var unacknowledgedFinals: [AttemptID: TaskID] { buffers.withLock { $0.finals } }

    public var isEmpty: Bool { buffers.withLock { $0.isEmpty } }

    /// Log lines dropped because the buffer was full (the control plane was unreachable for long).
    public var droppedLogLines: Int { buffers.withLock { $0.dropped } }
}

/// The queued reports themselves, a plain value: `ReportQueue` keeps it behind its lock.
struct ReportBuffers {
    let limits: ReportQueue.Limits
    var progress: [AttemptID: ProgressReport] = [:]
    var logs: [LogLineReport] = []
    var metrics: [MetricReport] = []
    var artifacts: [ArtifactReport] = []
    var completions: [CompletionReport] = []
    var failures: [FailureReport] = []
    var staleAttempts: Set<AttemptID> = []
    var finals: [AttemptID: TaskID] = [:]
    var dropped = 0

    init(limits: ReportQueue.Limits) { self.limits = limits }

    var isEmpty: Bool {
        progress.isEmpty && logs.isEmpty && metrics.isEmpty && artifacts.isEmpty && completions.isEmpty
            && failures.isEmpty
    }

    /// Appends a log line; beyond `maxBufferedLogLines` the oldest lines are dropped (and counted).
    mutating func append(_ line: LogLineReport) {
        logs.append(line)
        if logs.count > limits.maxBufferedLogLines {
            let excess = logs.count - limits.maxBufferedLogLines
            logs.removeFirst(excess)
            dropped += excess
        }
    }

    mutating func takeBatch(workerID: WorkerID, maxBytes: Int) -> ReportBatch? {
        let cap = limits.maxItemsPerKind
        var budget = maxBytes
        var batch = ReportBatch(workerID: workerID)
        /// Takes the longest prefix of `items` that fits the budget (at least one item while the batch is empty).
        func prefix<T>(_ items: [T], size: (T) -> Int) -> Int {
            var count = 0
            for item in items.prefix(cap) {
                let bytes = size(item)
                if bytes > budget && !(batch.isEmpty && count == 0) { break }
                budget -= bytes
                count += 1
            }
            return count
        }
        var n = prefix(logs, size: ReportQueue.size)
        batch.logs = Array(logs.prefix(n))
        logs.removeFirst(n)
        n = prefix(metrics, size: { _ in 160 })
        batch.metrics = Array(metrics.prefix(n))
        metrics.removeFirst(n)
        n = prefix(artifacts, size: ReportQueue.size)
        batch.artifacts = Array(artifacts.prefix(n))
        artifacts.removeFirst(n)
        let progressItems = Array(progress.values)
        n = prefix(progressItems, size: { 160 + ($0.message?.utf8.count ?? 0) })
        for item in progressItems.prefix(n) { progress[item.attemptID] = nil }
        batch.progress = Array(progressItems.prefix(n))

        var holdBack = Set<AttemptID>()
        logs.forEach { holdBack.insert($0.attemptID) }
        metrics.forEach { holdBack.insert($0.attemptID) }
        artifacts.forEach { holdBack.insert($0.attemptID) }

        var keptCompletions: [CompletionReport] = []
        for item in completions {
            let bytes = ReportQueue.size(item)
            let fits = bytes <= budget || batch.isEmpty
            if batch.completions.count < cap && fits && !holdBack.contains(item.attemptID) {
                batch.completions.append(item)
                budget -= bytes
            } else {
                keptCompletions.append(item)
            }
        }
        completions = keptCompletions
        var keptFailures: [FailureReport] = []
        for item in failures {
            let bytes = 200 + item.message.utf8.count
            let fits = bytes <= budget || batch.isEmpty
            if batch.failures.count < cap && fits && !holdBack.contains(item.attemptID) {
                batch.failures.append(item)
                budget -= bytes
            } else {
                keptFailures.append(item)
            }
        }
        failures = keptFailures
        return batch.isEmpty ? nil : batch
    }

    mutating func putBack(_ batch: ReportBatch) {
        let stale = staleAttempts
        let keep: (AttemptID) -> Bool = { !stale.contains($0) }
        logs = batch.logs.filter { keep($0.attemptID) } + logs
        metrics = batch.metrics.filter { keep($0.attemptID) } + metrics
        artifacts = batch.artifacts.filter { keep($0.attemptID) } + artifacts
        completions = batch.completions.filter { keep($0.attemptID) } + completions
        failures = batch.failures.filter { keep($0.attemptID) } + failures
        for item in batch.progress where keep(item.attemptID) && progress[item.attemptID] == nil {
            progress[item.attemptID] = item
        }
    }

    mutating func markStale(_ attempt: AttemptID) {
        staleAttempts.insert(attempt)
        finals[attempt] = nil
        progress[attempt] = nil
        logs.removeAll { $0.attemptID == attempt }
        metrics.removeAll { $0.attemptID == attempt }
        artifacts.removeAll { $0.attemptID == attempt }
        completions.removeAll { $0.attemptID == attempt }
        failures.removeAll { $0.attemptID == attempt }
    }
}
