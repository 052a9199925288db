// The common report batch — completions only, with no shard, artifact or bad-shard report — as one statement
// outside an explicit transaction (`LeaseStore.completeUnlessFinishing`; issue 15, docs/leases.md): 1 round trip
// where BEGIN, the completion and COMMIT took 3. Anything else, and a batch that may finish a job, goes through
// the batch's transaction (`apply`).

import APITypes
import ClusterModel
import Foundation

extension ReportBatchApplier {
    /// The outcome of a completions-only batch, or nil when the batch is not one or may finish a job (then nothing
    /// was changed).
    func applyCompletionsOnly(_ batch: ReportBatch) throws -> Outcome? {
        guard let completions = Self.plainCompletions(batch) else { return nil }
        let flush = Self.flush(of: batch)
        let outcomes = try pool.idempotentStatement {
            try LeaseStore.completeUnlessFinishing($0, completions, by: batch.workerID, flush: flush)
        }
        guard let outcomes else { return nil }
        var accepted = 0
        var duplicates = 0
        var stale = Set<AttemptID>()
        for (attempt, outcome) in outcomes {
            switch outcome {
            case .applied: accepted += 1
            case .alreadyApplied: duplicates += 1
            case .refused: stale.insert(attempt)
            }
        }
        return Outcome(
            response: ReportBatchResponse(
                accepted: accepted, duplicates: duplicates, staleAttempts: stale.sorted()),
            everyAttemptStale: !stale.isEmpty && stale == batch.attemptIDs, finishedAttempts: accepted > 0)
    }

    /// When the batch's completions reach the disk: a batch that claims (`next`) is answered after its claim,
    /// whose commit flushes them (`CompletionFlush.byTheNextClaim`; `WorkerRoutes.reports` claims before it
    /// answers); any other batch's, before it is answered.
    static func flush(of batch: ReportBatch) -> CompletionFlush {
        batch.next == nil ? .beforeReturning : .byTheNextClaim
    }

    /// The batch's completions when it holds nothing else and none of them records a shard, carries artifacts or
    /// reports bad shards (those are written in the batch's transaction).
    private static func plainCompletions(_ batch: ReportBatch) -> [AttemptCompletion]? {
        guard batch.progress.isEmpty, batch.logs.isEmpty, batch.metrics.isEmpty, batch.artifacts.isEmpty,
            batch.failures.isEmpty, !batch.completions.isEmpty
        else { return nil }
        var completions: [AttemptCompletion] = []
        for completion in batch.completions {
            // A result that names a shard (or fails to say whether it does) is for the transaction to handle.
            let shard: ShardCompletion?? = try? ShardCompletion(result: completion.result)
            guard completion.artifacts.isEmpty, BadShardMarking.reports(in: completion.result).isEmpty,
                case .some(.none) = shard
            else { return nil }
            completions.append(
                AttemptCompletion(attempt: completion.attemptID, result: JSONText.encode(completion.result)))
        }
        return completions
    }
}
