// Evals on every checkpoint (issue 20; docs/training.md). A train job with `evalEvery: checkpoint` gets an eval
// job for each checkpoint artifact it registers, created in the transaction that registers the checkpoint (so
// a checkpoint is never left without its eval, and a report batch retried after a lost connection creates
// none twice: the artifact's row and `checkpoint_evals`' primary key make it once per checkpoint). The eval job:
// - runs the existing `eval` executor, one task per entry of `evals` (its own number of batches), on the
//   checkpoint's stored location and checksum, with the run's batchSize and sequenceLength;
// - has `BackfillPriority` and is placed only by the scheduler, which serves it after every other pending job,
//   never lets it preempt or reserve, and lets any other job preempt it: it fills idle capacity only;
// - is named `<train job>.eval-step-<step>.artifact-<id>`: a manifest name cannot hold a '.', and artifact ids
//   are never reused, so the name is never taken by a user's job or by an earlier job of the same name.
// Its results (`loss/<dataset>`, `perplexity/<dataset>`) are also stored in the train job as `eval_loss/<dataset>`
// and `eval_perplexity/<dataset>` at the checkpoint's step, the eval curve beside the training curve.

import APITypes
import ClusterModel
import Foundation
import Postgres

enum CheckpointEvals {
    /// Eval metrics copied into the train job: `loss/web` becomes `eval_loss/web`.
    static let copiedMetricPrefixes = ["loss/", "perplexity/"]
    static let trainJobMetricPrefix = "eval_"

    static func evalJobName(trainJob: String, step: Int64, artifact: ArtifactID) -> String {
        "\(trainJob).eval-step-\(step).artifact-\(artifact.rawValue)"
    }

    /// Creates the eval job of `checkpoint`, newly registered on `c`, when its job asks for one; else nothing.
    static func createEval(_ c: PostgresConnection, for checkpoint: StoredArtifact) throws {
        guard checkpoint.kind == "checkpoint", let taskID = checkpoint.task,
            let job = try JobStore.job(c, checkpoint.job), job.type == TrainJobKinds.trainName,
            let task = try JobStore.task(c, taskID),
            let settings = try? WireCoding.decode(TrainSettings.self, from: Data(task.spec.utf8)),
            settings.evalEvery == .checkpoint, let evals = settings.evals, !evals.isEmpty
        else { return }
        let position = CheckpointPosition(metadata: checkpoint.metadata, settings: settings, replicas: job.replicas)
        guard let position else { return } // a checkpoint without a step cannot be placed on the curve
        guard try c.queryFirst(CheckpointEvalSQL.evalOfCheckpoint, [checkpoint.id.sql]) == nil else { return }
        let evalJob = try newEvalJob(
            of: job, settings: settings, evals: evals, checkpoint: checkpoint, step: position.step)
        let id = try JobStore.insertJobAndTasks(evalJob, c)
        try c.execute(CheckpointEvalSQL.placeByScheduler, [.int(id)])
        try c.execute(
            CheckpointEvalSQL.insert,
            [
                checkpoint.id.sql, job.id.sql, .int(id), .int(position.step), .int(position.tokensConsumed),
                position.streamState.map { .json($0) },
            ])
        try c.notify(channel: StoreChannel.taskRunnable)
    }

    /// The eval job of one checkpoint: a task per eval dataset, at backfill priority, in the train job's queue
    /// with its resources, node selector and retry policy.
    private static func newEvalJob(
        of job: JobRecord, settings: TrainSettings, evals: [CheckpointEvalSource], checkpoint: StoredArtifact,
        step: Int64
    ) throws -> NewJob {
        let sequence = settings.effectiveSequenceLength
        let reference = CheckpointReference(location: checkpoint.location, sha256: checkpoint.sha256)
        let tasks = evals.map { eval in
            EvalSettings(
                checkpoint: reference, data: [eval.dataSource], sequenceLength: sequence,
                batchSize: settings.batchSize, maxTokens: eval.effectiveBatches * settings.batchSize * sequence,
                seed: settings.seed, threads: settings.threads)
        }
        let name = evalJobName(trainJob: job.name, step: step, artifact: checkpoint.id)
        // The stored manifest says what the job is: every dataset, at the largest number of batches asked.
        var summary = tasks[0]
        summary.data = evals.map(\.dataSource)
        summary.maxTokens = tasks.compactMap(\.maxTokens).max()
        let manifest = JobManifest(
            metadata: JobMetadata(name: name),
            spec: JobSpec(
                type: TrainJobKinds.evalName, resources: job.resources, tasks: tasks.count,
                priority: BackfillPriority.value, queue: job.queue, retry: job.retryPolicy,
                nodeSelector: job.nodeSelector,
                settings: try WireCoding.decode(ManifestValue.self, from: WireCoding.encode(summary))))
        return NewJob(
            name: name, type: TrainJobKinds.evalName,
            spec: String(decoding: try WireCoding.encode(manifest), as: UTF8.self), queue: job.queue,
            priority: BackfillPriority.value, resources: job.resources, retryPolicy: job.retryPolicy,
            nodeSelector: job.nodeSelector,
            tasks: try tasks.map { NewTask(spec: JSONText.encode(try AnyJSON(encoding: $0))) })
    }

    /// Copies an eval attempt's `loss/…` and `perplexity/…` points into the train job whose checkpoint its job
    /// evaluates (a statement only when such points are in the batch: train attempts report other names).
    static func copyResults(_ c: PostgresConnection, attempt: AttemptID, points: [MetricPoint]) throws {
        let copied = points.filter { point in copiedMetricPrefixes.contains { point.name.hasPrefix($0) } }
        guard !copied.isEmpty else { return }
        try c.execute(
            CheckpointEvalSQL.mirrorMetrics,
            [
                attempt.sql, .textArray(copied.map { trainJobMetricPrefix + $0.name }),
                .doubleArray(copied.map(\.value)),
            ])
    }
}

/// Where a run was at a checkpoint: its step, the tokens consumed up to it, and the data stream's state when the
/// worker reported it (checkpoint metadata `step`, `tokens`, `streamState`).
struct CheckpointPosition {
    var step: Int64
    var tokensConsumed: Int64
    var streamState: String?

    /// Nil without a step. Tokens default to steps x the run's tokens per step (all replicas).
    init?(metadata: String, settings: TrainSettings, replicas: Int) {
        guard let object = try? WireCoding.decode([String: AnyJSON].self, from: Data(metadata.utf8)),
            let step = object["step"]?.intValue, step >= 0
        else { return nil }
        self.step = step
        let perStep =
            Int64(settings.batchSize) * Int64(settings.effectiveSequenceLength)
            * Int64(settings.effectiveAccumulation) * Int64(max(1, replicas))
        let reported = object["tokens"]?.intValue
        tokensConsumed =
            reported.flatMap { $0 >= 0 ? $0 : nil } ?? step.multipliedReportingOverflow(by: perStep).partialValue
        streamState = object["streamState"].map(JSONText.encode)
    }
}

/// One checkpoint's eval as `CheckpointEvalStore` reads it.
public struct CheckpointEvalRecord: Sendable, Equatable {
    public var checkpoint: ArtifactID
    public var checkpointName: String
    public var step: Int64
    public var tokensConsumed: Int64
    /// The data stream's state at the checkpoint (JSON), when the worker reported it.
    public var streamState: String?
    public var evalJob: JobID
    public var evalJobName: String
    public var evalState: JobState
    /// `eval_loss/<dataset>` and `eval_perplexity/<dataset>` once the eval reported them.
    public var results: [String: Double]

    init(row: PostgresRow) throws {
        checkpoint = ArtifactID(try row.int64("artifact_id"))
        checkpointName = try row.string("checkpoint")
        step = try row.int64("step")
        tokensConsumed = try row.int64("tokens_consumed")
        streamState = try row.optionalString("stream_state")
        evalJob = JobID(try row.int64("eval_job_id"))
        evalJobName = try row.string("eval_job")
        evalState = try row.jobState("eval_state")
        let text = try row.string("results")
        guard let results = try? JSONDecoder().decode([String: Double].self, from: Data(text.utf8)) else {
            throw PostgresError.decoding(column: "results", expected: "a JSON object of numbers", found: text)
        }
        self.results = results
    }
}

/// The evals of a train job's checkpoints, by step.
public struct CheckpointEvalStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    public func list(trainJob: JobID) throws -> [CheckpointEvalRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(CheckpointEvalSQL.ofTrainJob, [trainJob.sql]).map(CheckpointEvalRecord.init(row:))
            }
        }
    }
}
