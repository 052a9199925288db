import APITypes
import ClusterModel
import Postgres

// Whole-gang restarts (issue 18): a torch.distributed program cannot continue when one member of its gang dies,
// so for the job types in `CommandJobKinds.wholeGangRestartTypes` an attempt that ends without success (failed,
// lease expired) ends the other members' active attempts in the same transaction. Their workers learn it from the
// next heartbeat (`staleAttempts`) and stop the programs; every member is requeued with its job's backoff (or
// fails with it when out of attempts), and the scheduler places the gang again all or nothing, since it waits for
// the latest `not_before` of a gang's members. Each restart spends one attempt of every member, so `maxAttempts`
// bounds the gang's restarts, as PyTorchJob's `backoffLimit` does. The published rank-0 address is deleted with
// them, so the next generation's members wait for the new one.

extension LeaseStore {
    /// One attempt that ended without success: its task, what became of the task, and why.
    struct GangRestartCause {
        var task: Int64
        var taskState: TaskState
        var error: String
    }

    /// Ends the active attempts of the other gang members of each job in `causes` (job id → the member whose
    /// attempt ended; only jobs of a whole-gang-restart type are touched).
    static func restartGangs(_ c: PostgresConnection, causes: [Int64: GangRestartCause]) throws {
        guard !causes.isEmpty else { return }
        let rows = try c.query(
            AttemptSQL.lockGangSiblings,
            [
                .intArray(causes.keys.sorted()), .textArray(CommandJobKinds.wholeGangRestartTypes),
                .intArray(causes.values.map(\.task).sorted()),
            ])
        guard !rows.isEmpty else { return }
        var siblings: [AttemptEnding] = []
        var jobs: Set<Int64> = []
        for row in rows {
            let job = try row.int64("job_id")
            guard let cause = causes[job] else { continue }
            jobs.insert(job)
            let restarting = cause.taskState == .queued
            siblings.append(
                try AttemptEnding(
                    row: row, attemptState: .failed, retryable: restarting,
                    error: "gang member task \(cause.task) ended (\(cause.error)), so the whole gang "
                        + (restarting ? "restarts" : "fails")))
        }
        for job in jobs.sorted() {
            try c.execute(ExchangeSQL.delete, [.int(job), .text(CommandJobKinds.masterEntryName)])
        }
        _ = try end(c, siblings, restartingGangs: false)
    }
}
