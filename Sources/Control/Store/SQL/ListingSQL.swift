// The statements behind the list routes of tasks, workers, artifacts, datasets and shards: pages in SQL (filters
// in the WHERE, before the LIMIT, keyset positions instead of OFFSET), and the attempts of a whole page of tasks
// in one statement instead of one per task. Kept apart from the tables' own files (TaskSQL, AttemptSQL, WorkerSQL,
// ArtifactSQL), whose claim, capacity and artifact statements change for other reasons.

enum ListingSQL {
    /// Tasks with their job's name, newest job first and each job's tasks in creation (index) order:
    /// $1 job (NULL: any), $2 state (NULL: any), $3 and $4 the cursor's job id and task id (NULL: from the start),
    /// $5 limit. The order and the position are written on `(-job_id, id)`, the `tasks_listing` index, so the
    /// row comparison is that index's range condition.
    static let page = """
        SELECT t.*, j.name AS job_name FROM tasks t JOIN jobs j ON j.id = t.job_id
        WHERE ($1::bigint IS NULL OR t.job_id = $1) AND ($2::text IS NULL OR t.state = $2)
            AND ($3::bigint IS NULL OR (-t.job_id, t.id) > (-$3::bigint, $4::bigint))
        ORDER BY -t.job_id, t.id LIMIT $5
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

    /// Artifacts with their job's name, newest first: $1 job (NULL: any), $2 name (NULL: any), $3 before id (NULL:
    /// from the newest), $4 limit. Artifacts kept when their job was deleted (migration 17) show its name.
    static let artifactsPage = """
        SELECT a.*, coalesce(j.name, a.deleted_job_name) AS job_name FROM artifacts a LEFT JOIN jobs j ON j.id = a.job_id
        WHERE ($1::bigint IS NULL OR a.job_id = $1) AND ($2::text IS NULL OR a.name = $2)
            AND ($3::bigint IS NULL OR a.id < $3)
        ORDER BY a.id DESC LIMIT $4
        """

    /// Datasets by id: $1 after id (NULL: from the first), $2 limit.
    static let datasetsPage = """
        SELECT * FROM datasets WHERE ($1::bigint IS NULL OR id > $1) ORDER BY id LIMIT $2
        """

    /// Shards of dataset $1 by index: $2 after index (NULL: from the first), $3 limit.
    static let shardsPage = """
        SELECT * FROM shards WHERE dataset_id = $1 AND ($2::bigint IS NULL OR shard_index > $2)
        ORDER BY shard_index LIMIT $3
        """
}
