// The statements of `opsctl delete job` (`JobDeletion`): one job's rows across the tables that hold its history,
// in one transaction. Kept apart from `JobSQL`, whose submission and lifecycle statements change for other
// reasons. The history tables are emptied by their own `job_id` rather than left to `ON DELETE CASCADE`, so the
// deletion stays whole if those tables are ever partitioned without the foreign keys.

enum JobDeletionSQL {
    /// Job $1 by name: its id and state (the row is locked by `lockJob` after its tasks).
    static let byName = "SELECT id, state FROM jobs WHERE name = $1"

    /// The tasks of job $1 in id order, locked first: the order of cancel and lease reports (tasks, then the job),
    /// so a late report on one of them waits for this transaction instead of deadlocking with it.
    static let lockTasks = "SELECT id FROM tasks WHERE job_id = $1 ORDER BY id FOR UPDATE"

    /// Job $1 locked, with its state as it is now (a cancel may have finished it since `byName`).
    static let lockJob = "SELECT state FROM jobs WHERE id = $1 FOR UPDATE"

    /// The unfinished jobs that wait for job $1 (`after:`), by name.
    static let unfinishedDependents = """
        SELECT j.name FROM job_dependencies d JOIN jobs j ON j.id = d.job_id
        WHERE d.after_job_id = $1 AND j.state NOT IN ('succeeded', 'failed', 'cancelled')
        ORDER BY j.name
        """

    static let deleteEvents = "DELETE FROM events WHERE job_id = $1"
    static let deleteLogs = "DELETE FROM task_logs WHERE job_id = $1"
    static let deleteMetrics = "DELETE FROM metrics WHERE job_id = $1"
    static let deleteArtifacts = "DELETE FROM artifacts WHERE job_id = $1"

    /// Keeps the artifacts of job $1, recording its name $2 for listings (migration 17).
    static let keepArtifacts = "UPDATE artifacts SET deleted_job_name = $2 WHERE job_id = $1"

    /// Deletes job $1; its tasks, attempts, `after:` edges and training exchange go by `ON DELETE CASCADE`, its
    /// datasets stay (their `job_id` becomes NULL).
    static let deleteJob = "DELETE FROM jobs WHERE id = $1"
}
