// Applies a worker's report batch in one PostgreSQL transaction: log lines, metrics and artifacts first, then
// progress, then preemptions, completions and failures, so a task's last lines are stored before it shows as
// finished. One transaction makes the batch all or nothing: an error anywhere (a conflicting artifact, a lost
// connection) takes back what came before it, and a batch whose every attempt turns out to be stale is rolled
// back as well, so the 409 that says "nothing was changed" is true. (Before, each step committed on its own:
// a refused batch left the log lines and metrics ahead of the refused item behind.)
//
// Items of stale attempts change nothing, except log lines and metrics in a batch that also names a live
// attempt: late output of an attempt that ended is still its history.

import APITypes
import ClusterModel
import Foundation
import Postgres

struct ReportBatchApplier {
    let pool: PostgresPool

    struct Outcome {
        var response: ReportBatchResponse
        /// Every attempt the batch named is no longer live; nothing was stored (the answer is 409).
        var everyAttemptStale: Bool
        /// Some attempt finished now, which frees capacity on the worker.
        var finishedAttempts: Bool
    }

    /// Thrown out of the transaction to roll it back when every attempt named is stale.
    private struct EveryAttemptStale: Error {
        let stale: [AttemptID]
    }

    func apply(_ batch: ReportBatch) throws -> Outcome {
        if let outcome = try applyCompletionsOnly(batch) { return outcome }
        do {
            // The whole body runs again when the transaction is retried (lost connection, deadlock): all its
            // state lives in the `Writes` it creates.
            return try pool.idempotentTransaction { c in
                let writes = Writes(c, worker: batch.workerID)
                try writes.apply(batch)
                if !batch.isEmpty && !writes.stale.isEmpty && writes.stale == batch.attemptIDs {
                    throw EveryAttemptStale(stale: writes.stale.sorted())
                }
                return Outcome(
                    response: ReportBatchResponse(
                        accepted: writes.accepted, duplicates: writes.duplicates,
                        staleAttempts: writes.stale.sorted()),
                    everyAttemptStale: false, finishedAttempts: writes.finishedAttempts)
            }
        } catch let rolledBack as EveryAttemptStale {
            return Outcome(
                response: ReportBatchResponse(accepted: 0, staleAttempts: rolledBack.stale), everyAttemptStale: true,
                finishedAttempts: false)
        }
    }

    /// The writes of one batch on one connection, in order, counting what was applied.
    private final class Writes {
        let c: PostgresConnection
        let worker: WorkerID
        var stale = Set<AttemptID>()
        var accepted = 0
        var duplicates = 0
        var finishedAttempts = false

        init(_ c: PostgresConnection, worker: WorkerID) {
            self.c = c
            self.worker = worker
        }

        func apply(_ batch: ReportBatch) throws {
            try logs(batch.logs)
            try metrics(batch.metrics)
            try artifacts(
                batch.artifacts.map { ($0.taskID, $0.attemptID, $0.artifact) }
                    + batch.completions.flatMap { c in c.artifacts.map { (c.taskID, c.attemptID, $0) } })
            try progress(batch.progress)
            try preemptions(batch.failures.filter { $0.reason == .preempted })
            try outcomes(completions: batch.completions, failures: batch.failures.filter { $0.reason != .preempted })
        }

        /// Runs one attempt's step; a stale or unknown attempt is noted (its later items are skipped) instead of
        /// failing the batch. Every step that throws these does so before it writes anything.
        private func guarded(_ attempt: AttemptID, _ body: () throws -> Void) throws {
            guard !stale.contains(attempt) else { return }
            do { try body() } catch let error as StoreError {
                switch error {
                case .staleAttempt, .unknownAttempt: stale.insert(attempt)
                default: throw error
                }
            }
        }

        private func logs(_ reports: [LogLineReport]) throws {
            for (attempt, lines) in Dictionary(grouping: reports, by: \.attemptID) {
                try guarded(attempt) {
                    let stored = try TaskLogStore.append(
                        c, attempt: attempt, by: worker,
                        lines: lines.map { LogLine(seq: $0.sequence, line: $0.message, stream: $0.stream) })
                    accepted += stored
                    duplicates += lines.count - stored
                }
            }
        }

        private func metrics(_ reports: [MetricReport]) throws {
            for (attempt, points) in Dictionary(grouping: reports, by: \.attemptID) {
                try guarded(attempt) {
                    let stored = try MetricStore.append(
                        c, attempt: attempt, by: worker,
                        points: points.map { MetricPoint(name: $0.name, step: $0.step, value: $0.value) })
                    accepted += stored
                    duplicates += points.count - stored
                    if let tokens = TrainingTokens.latest(
                        in: points.map { MetricPoint(name: $0.name, step: $0.step, value: $0.value) })
                    {
                        try TrainingTokens.recordConsumed(c, attempt: attempt, tokens: tokens)
                    }
                }
            }
        }

        /// An artifact is registered while its attempt is live, or after its task succeeded (a late checkpoint).
        private func artifacts(_ reports: [(TaskID, AttemptID, ArtifactRecord)]) throws {
            for (task, attempt, artifact) in reports {
                try guarded(attempt) {
                    guard let record = try JobStore.task(c, task) else { throw StoreError.unknownAttempt(attempt) }
                    guard record.activeAttempt == attempt || record.state == .succeeded else {
                        throw StoreError.staleAttempt(attempt, state: record.state.rawValue)
                    }
                    _ = try ArtifactCatalog.register(
                        c, ReportBatchValidation.newArtifact(artifact, job: record.jobID, task: task))
                    try TrainingTokens.recordCheckpoint(c, task: task, attempt: attempt, artifact: artifact)
                    accepted += 1
                }
            }
        }

        /// The latest report per attempt is enough.
        private func progress(_ reports: [ProgressReport]) throws {
            var latest: [AttemptID: ProgressReport] = [:]
            for report in reports where !stale.contains(report.attemptID) { latest[report.attemptID] = report }
            let staleProgress = try LeaseStore.recordProgress(
                c, latest.values.map { ($0.attemptID, $0.fraction, $0.message) }, by: worker)
            stale.formUnion(staleProgress)
            accepted += latest.count - staleProgress.count
        }

        /// A preempted attempt hands its task back: requeued at once, not counted as a failure.
        private func preemptions(_ reports: [FailureReport]) throws {
            for report in reports where !stale.contains(report.attemptID) {
                try guarded(report.attemptID) {
                    try PlacementStore.preempt(c, attempt: report.attemptID, reason: report.message)
                    accepted += 1
                }
            }
        }

        private func outcomes(completions reported: [CompletionReport], failures reportedFailures: [FailureReport])
            throws
        {
            var failures = reportedFailures.filter { !stale.contains($0.attemptID) }
                .map { AttemptFailure(attempt: $0.attemptID, error: $0.message, retryable: $0.retryable) }
            var completions: [AttemptCompletion] = []
            for completion in reported where !stale.contains(completion.attemptID) {
                // A completion that carries a shard is recorded with it; one whose shard contradicts what is
                // stored (or cannot be read) fails the task instead: a retry would write the same shard again.
                do {
                    let shard = try ShardCompletion(result: completion.result)
                    if let shard, let conflict = try shard.conflict(c) {
                        failures.append(
                            AttemptFailure(attempt: completion.attemptID, error: conflict, retryable: false))
                        continue
                    }
                    completions.append(
                        AttemptCompletion(
                            attempt: completion.attemptID, result: JSONText.encode(completion.result),
                            shard: shard))
                } catch let error as StoreError {
                    failures.append(
                        AttemptFailure(attempt: completion.attemptID, error: error.description, retryable: false))
                }
            }
            // Shards a worker found corrupt are marked bad before its task's outcome is stored.
            let badShards =
                reportedFailures.filter { !stale.contains($0.attemptID) }.flatMap {
                    BadShardMarking.reports(in: $0.details)
                }
                + reported.filter { !stale.contains($0.attemptID) }.flatMap { BadShardMarking.reports(in: $0.result) }
            if !badShards.isEmpty { try BadShardMarking.mark(badShards, c) }
            var outcomes: [AttemptID: ReportOutcome] = [:]
            if !completions.isEmpty {
                outcomes.merge(try LeaseStore.complete(c, completions, by: worker)) { a, _ in a }
            }
            if !failures.isEmpty { outcomes.merge(try LeaseStore.fail(c, failures, by: worker)) { a, _ in a } }
            for (attempt, outcome) in outcomes {
                switch outcome {
                case .applied:
                    accepted += 1
                    finishedAttempts = true
                case .alreadyApplied: duplicates += 1
                case .refused: stale.insert(attempt)
                }
            }
        }
    }
}
