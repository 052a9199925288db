// Reports from workers: progress, log lines, metrics, artifacts, completions and failures, sent together in
// one `ReportBatch` so one HTTP call can deliver many tasks' results (throughput goal: 2,000 tasks/s).
//
// Idempotency: every item names its attempt. Log lines carry a per-attempt sequence number and metrics a
// (name, step) key, so a retried batch inserts nothing twice; a completion or failure of an attempt that is
// already finished the same way is a duplicate, not an error. Items of attempts that are no longer live are
// refused and change nothing. The server applies artifacts, logs, metrics and progress before completions and
// failures, so a task's last lines are stored before it is shown as finished.

import ClusterModel
import Foundation

public struct ProgressReport: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    /// 0...1.
    public var fraction: Double
    public var message: String?
    public var step: Int64?
    public var totalSteps: Int64?

    public init(
        taskID: TaskID, attemptID: AttemptID, fraction: Double, message: String? = nil, step: Int64? = nil,
        totalSteps: Int64? = nil
    ) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.fraction = fraction
        self.message = message
        self.step = step
        self.totalSteps = totalSteps
    }
}

public struct LogLineReport: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    /// 1-based, increasing per attempt; (attemptID, sequence) is unique, so resending is harmless.
    public var sequence: Int64
    public var time: Date
    public var stream: LogStream
    public var message: String

    public init(taskID: TaskID, attemptID: AttemptID, sequence: Int64, time: Date, stream: LogStream, message: String) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.sequence = sequence
        self.time = time
        self.stream = stream
        self.message = message
    }
}

public struct MetricReport: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    /// e.g. `loss`, `learning_rate`, `tokens_per_second`.
    public var name: String
    /// (attemptID, name, step) is unique.
    public var step: Int64
    public var value: Double
    public var time: Date

    public init(taskID: TaskID, attemptID: AttemptID, name: String, step: Int64, value: Double, time: Date) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.name = name
        self.step = step
        self.value = value
        self.time = time
    }
}

/// Where a produced file is and how to check it. Its bytes are never sent in a report.
public struct ArtifactRecord: Codable, Hashable, Sendable {
    /// Unique within the task (`checkpoint-step-200`, `tokenizer.json`).
    public var name: String
    /// A path on the shared artifact filesystem, or `cp://blobs/<sha256>` after a `PUT /v1/blobs/{sha256}`.
    public var location: String
    /// Lowercase hex.
    public var sha256: String
    public var bytes: Int64
    public var kind: String?
    public var metadata: AnyJSON?

    public init(
        name: String, location: String, sha256: String, bytes: Int64, kind: String? = nil, metadata: AnyJSON? = nil
    ) {
        self.name = name
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
        self.kind = kind
        self.metadata = metadata
    }
}

/// An artifact registered while the task runs (a checkpoint), before it completes.
public struct ArtifactReport: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    public var artifact: ArtifactRecord

    public init(taskID: TaskID, attemptID: AttemptID, artifact: ArtifactRecord) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.artifact = artifact
    }
}

/// The attempt succeeded.
public struct CompletionReport: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    public var result: AnyJSON
    public var artifacts: [ArtifactRecord]

    public init(taskID: TaskID, attemptID: AttemptID, result: AnyJSON = .null, artifacts: [ArtifactRecord] = []) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.result = result
        self.artifacts = artifacts
    }
}

/// Why an attempt ended without success.
public enum FailureReason: String, Codable, Sendable, CaseIterable {
    /// The executor failed. Retried (new attempt after backoff) when `retryable` and attempts are left.
    case error
    /// It stopped because the job was cancelled.
    case cancelled
    /// It stopped after a preempt signal, or because its worker is shutting down: requeued at once, the attempt
    /// does not count against `maxAttempts`.
    case preempted
}

public struct FailureReport: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    public var message: String
    /// False for errors that another attempt would repeat (a bad spec): the task fails at once.
    public var retryable: Bool
    public var reason: FailureReason
    /// Structured facts about the failure for the control plane (e.g. `badShards`: shards found corrupt,
    /// which it marks bad). Absent from older workers.
    public var details: AnyJSON?

    public init(
        taskID: TaskID, attemptID: AttemptID, message: String, retryable: Bool, reason: FailureReason = .error,
        details: AnyJSON? = nil
    ) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.message = message
        self.retryable = retryable
        self.reason = reason
        self.details = details
    }
}

/// `POST /v1/worker/reports`. Every array may be empty or absent.
public struct ReportBatch: Codable, Hashable, Sendable {
    public var workerID: WorkerID
    public var progress: [ProgressReport]
    public var logs: [LogLineReport]
    public var metrics: [MetricReport]
    public var artifacts: [ArtifactReport]
    public var completions: [CompletionReport]
    public var failures: [FailureReport]
    /// A claim after the report (docs/leases.md, "The report that claims"): once the batch is stored, the control
    /// plane claims up to `next.maxTasks` tasks for this worker, as a poll would but without waiting
    /// (`waitSeconds` is not used), and answers them in `ReportBatchResponse.assignments`. A worker that has just
    /// finished attempts asks for its next work in the same exchange that reports them. Absent: no claim.
    public var next: PollRequest?

    public init(
        workerID: WorkerID, progress: [ProgressReport] = [], logs: [LogLineReport] = [], metrics: [MetricReport] = [],
        artifacts: [ArtifactReport] = [], completions: [CompletionReport] = [], failures: [FailureReport] = [],
        next: PollRequest? = nil
    ) {
        self.workerID = workerID
        self.progress = progress
        self.logs = logs
        self.metrics = metrics
        self.artifacts = artifacts
        self.completions = completions
        self.failures = failures
        self.next = next
    }

    private enum CodingKeys: String, CodingKey {
        case workerID, progress, logs, metrics, artifacts, completions, failures, next
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workerID = try c.decode(WorkerID.self, forKey: .workerID)
        progress = try c.decodeIfPresent([ProgressReport].self, forKey: .progress) ?? []
        logs = try c.decodeIfPresent([LogLineReport].self, forKey: .logs) ?? []
        metrics = try c.decodeIfPresent([MetricReport].self, forKey: .metrics) ?? []
        artifacts = try c.decodeIfPresent([ArtifactReport].self, forKey: .artifacts) ?? []
        completions = try c.decodeIfPresent([CompletionReport].self, forKey: .completions) ?? []
        failures = try c.decodeIfPresent([FailureReport].self, forKey: .failures) ?? []
        next = try c.decodeIfPresent(PollRequest.self, forKey: .next)
    }

    /// Empty lists are left out, as the decoder reads an absent list as empty: a batch that only completes an
    /// attempt and claims the next (most of them at batch 1) carried four empty lists that the control plane's
    /// `JSONDecoder` then decoded as generic arrays, part of the ~5 % of all CPU its decode took in
    /// `ControlBench --batch 1` (docs/leases.md, "A claim of one task").
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(workerID, forKey: .workerID)
        if !progress.isEmpty { try c.encode(progress, forKey: .progress) }
        if !logs.isEmpty { try c.encode(logs, forKey: .logs) }
        if !metrics.isEmpty { try c.encode(metrics, forKey: .metrics) }
        if !artifacts.isEmpty { try c.encode(artifacts, forKey: .artifacts) }
        if !completions.isEmpty { try c.encode(completions, forKey: .completions) }
        if !failures.isEmpty { try c.encode(failures, forKey: .failures) }
        try c.encodeIfPresent(next, forKey: .next)
    }

    public var isEmpty: Bool {
        progress.isEmpty && logs.isEmpty && metrics.isEmpty && artifacts.isEmpty && completions.isEmpty
            && failures.isEmpty
    }

    public var itemCount: Int {
        progress.count + logs.count + metrics.count + artifacts.count + completions.count + failures.count
    }

    /// Every attempt the batch names.
    public var attemptIDs: Set<AttemptID> {
        var ids = Set<AttemptID>()
        progress.forEach { ids.insert($0.attemptID) }
        logs.forEach { ids.insert($0.attemptID) }
        metrics.forEach { ids.insert($0.attemptID) }
        artifacts.forEach { ids.insert($0.attemptID) }
        completions.forEach { ids.insert($0.attemptID) }
        failures.forEach { ids.insert($0.attemptID) }
        return ids
    }
}

/// 200: at least one attempt named was live (or the batch was empty). 409 `stale_attempt` (with an
/// `APIErrorBody`) when every attempt named is stale — nothing was changed then.
public struct ReportBatchResponse: Codable, Hashable, Sendable {
    /// Items applied now.
    public var accepted: Int
    /// Items already applied by an earlier (retried) batch.
    public var duplicates: Int
    /// Attempts whose items were refused because the attempt is no longer live; the worker drops their work.
    public var staleAttempts: [AttemptID]
    /// What the batch's `next` claimed (possibly nothing); absent when the batch asked for no claim.
    public var assignments: [TaskAssignment]?

    public init(
        accepted: Int, duplicates: Int = 0, staleAttempts: [AttemptID] = [], assignments: [TaskAssignment]? = nil
    ) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.staleAttempts = staleAttempts
        self.assignments = assignments
    }
}
