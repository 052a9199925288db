// A worker's report batch from arrival to outcome: validated whole (`ReportBatchValidation`), applied all or
// nothing (`ReportBatchApplier`: one transaction; logs, metrics and artifacts first, then completions and
// failures, so a task's last lines are stored before it shows as finished), and the worker's waiting poll woken
// when an attempt finished. Items of stale attempts change nothing; when every attempt named is stale the batch
// was rolled back and the outcome says so (the API answers 409).

import APITypes
import Foundation

struct ReportIntake {
    let services: ControlServices

    func receive(_ batch: ReportBatch) throws -> ReportBatchApplier.Outcome {
        try ReportBatchValidation.validate(batch)
        let outcome = try ReportBatchApplier(pool: services.pool).apply(batch)
        services.telemetry.observeReports(batch, everyAttemptStale: outcome.everyAttemptStale)
        // Finished attempts free capacity on this worker: a poll of its that found it full is waiting (its
        // report and its next poll race), so wake it now instead of at the end of its wait.
        if outcome.finishedAttempts { services.signals.bump(StoreSignals.capacityFreed(on: batch.workerID)) }
        return outcome
    }
}
