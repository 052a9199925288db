import Foundation

// The tail of a job's log for the dashboard's job page (docs/dashboard.md): the newest lines, shown oldest first.

extension TaskLogSQL {
    /// The newest $2 lines of job $1, in arrival order: a backward scan of the job's index, however long the log.
    static let tailOfJob = """
        SELECT * FROM (SELECT * FROM task_logs WHERE job_id = $1 ORDER BY id DESC LIMIT $2) AS newest ORDER BY id
        """
}
