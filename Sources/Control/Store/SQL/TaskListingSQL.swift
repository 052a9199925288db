// The statements behind `GET /v1/tasks`, `/v1/jobs/{name}/tasks` and `/v1/workers`: pages in SQL (filters in the
// WHERE, before the LIMIT), and the attempts of a whole page of tasks in one statement instead of one per task.
// Kept apart from TaskSQL, AttemptSQL and WorkerSQL, whose claim and capacity statements change for throughput.

enum TaskListingSQL {
    /// Tasks with their job's name, newest job first and each job's tasks in creation (index) order:
    /// $1 job (NULL: any), $2 state (NULL: any), $3 and $4 the cursor's job id and task id (NULL: from the start),
    /// $5 limit.
    static let page = """
        SELECT t.*, j.name AS job_name FROM tasks t JOIN jobs j ON j.id = t.job_id
        WHERE ($1::bigint IS NULL OR t.job_id = $1) AND ($2::text IS NULL OR t.state = $2)
            AND ($3::bigint IS NULL OR t.job_id < $3 OR (t.job_id = $3 AND t.id > $4))
        ORDER BY t.job_id DESC, t.id LIMIT $5
        """

    /// The attempts of the tasks $1 with their workers' names, by task and then oldest first.
    static let attemptsOfTasks = """
        SELECT a.*, w.name AS worker_name FROM task_attempts a LEFT JOIN workers w ON w.id = a.worker_id
        WHERE a.task_id = ANY($1) ORDER BY a.task_id, a.number
        """

    /// Workers as `WorkerSQL.all` reads them, by id: $1 state (NULL: any), $2 after id (NULL: from the first),
    /// $3 limit.
    static let workersPage = """
        SELECT * FROM (\(WorkerSQL.all)) w
        WHERE ($1::text IS NULL OR w.state = $1) AND ($2::bigint IS NULL OR w.id > $2)
        ORDER BY w.id LIMIT $3
        """
}
