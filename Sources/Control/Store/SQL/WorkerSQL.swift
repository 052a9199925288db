// Statements of the `workers` table: heartbeats, loss, the row lock both capacity writers take
// (`WorkerCapacity`; the claim's own is in `TaskSQL.claim`), and the reads of the scheduler and the API.
// Registration's statements are in WorkerSQL+Registration.swift.

enum WorkerSQL {
    /// Locks the workers $1 in id order (two lockers of several workers cannot deadlock) and bumps their
    /// `capacity_epoch`: a claim whose snapshot is older than this lock's commit sees it and claims again after
    /// locking first (`TaskSQL.claim`).
    static let lock = """
        WITH l AS (SELECT id FROM workers WHERE id = ANY($1) ORDER BY id FOR UPDATE)
        UPDATE workers w SET capacity_epoch = w.capacity_epoch + 1 FROM l WHERE w.id = l.id RETURNING w.id
        """

    /// Free resources of the workers $1: capacity, and sums of what holds capacity on each (`TaskSQL.capacityHolders`).
    static let capacityAndUse = """
        SELECT w.id, w.cpu_millis, w.memory_bytes, w.accelerators,
            coalesce((SELECT sum(t.cpu_millis) FROM \(TaskSQL.capacityHolders(of: "w.id")) t), 0) AS used_cpu,
            coalesce((SELECT sum(t.memory_bytes) FROM \(TaskSQL.capacityHolders(of: "w.id")) t), 0) AS used_memory,
            coalesce((SELECT jsonb_agg(t.accelerators) FROM \(TaskSQL.capacityHolders(of: "w.id")) t
                      WHERE t.accelerators <> '{}'), '[]') AS used_accelerators
        FROM workers w WHERE w.id = ANY($1)
        """

    static let cachedShards = "SELECT array_to_json(cached_shards)::text AS s FROM workers WHERE id = $1"

    /// A retired worker (its name went to a new id, `WorkerSQL.retire`) is no longer known: heartbeats and
    /// transitions of its old id get "unknown worker".
    static let lockState = "SELECT state FROM workers WHERE id = $1 AND retired_at IS NULL FOR UPDATE"

    /// A heartbeat of worker $1: state $2, cached shards $3 (NULL keeps the list).
    static let heartbeat = """
        UPDATE workers SET last_heartbeat = now(), state = $2, cached_shards = coalesce($3::text[], cached_shards) WHERE id = $1
        """

    /// Marks alive and draining workers silent for more than $1 seconds lost, with event reason $2. Returns them.
    static let markLost = """
        WITH silent AS (
            SELECT id, state AS old_state FROM workers
            WHERE state IN ('alive', 'draining') AND last_heartbeat < now() - make_interval(secs => $1)
            FOR UPDATE
        ), l AS (
            UPDATE workers w SET state = 'lost' FROM silent WHERE w.id = silent.id
            RETURNING w.id, silent.old_state
        ), e AS (
            \(EventSQL.insertInto)
            SELECT 'worker', id, NULL, old_state, 'lost', $2 FROM l
        )
        SELECT id FROM l ORDER BY id
        """

    static let setState = "UPDATE workers SET state = $2 WHERE id = $1"

    static let byTokenHash = "SELECT id FROM workers WHERE token_hash = $1"
    static let tokenHash = "SELECT token_hash FROM workers WHERE id = $1"

    /// Workers as `WorkerRecord(row:)` decodes them: with running-task count and what is allocated on each.
    private static func records(where condition: String) -> String {
        """
        SELECT w.*, array_to_json(w.kinds)::text AS kinds_json, array_to_json(w.cached_shards)::text AS cached_json,
            (SELECT count(*) FROM tasks t WHERE t.worker_id = w.id AND t.state = 'running') AS running,
            coalesce((SELECT sum(t.cpu_millis) FROM \(TaskSQL.capacityHolders(of: "w.id")) t), 0) AS allocated_cpu,
            coalesce((SELECT sum(t.memory_bytes) FROM \(TaskSQL.capacityHolders(of: "w.id")) t), 0) AS allocated_memory,
            coalesce((SELECT jsonb_agg(t.accelerators) FROM \(TaskSQL.capacityHolders(of: "w.id")) t
                      WHERE t.accelerators <> '{}'), '[]') AS allocated_accelerators
        FROM workers w WHERE \(condition) ORDER BY w.id
        """
    }

    static let all = records(where: "true")
    static let byID = records(where: "w.id = $1")
    /// The current holder of a name (retired rows keep theirs, `WorkerSQL.retire`).
    static let byName = records(where: "w.name = $1 AND w.retired_at IS NULL")

    /// Alive workers as the scheduler's snapshot sees them (cached shards NULL when none).
    static let alive = """
        SELECT id, cpu_millis, memory_bytes, accelerators, labels, array_to_json(kinds)::text AS kinds_json,
               CASE WHEN cached_shards = '{}' THEN NULL ELSE array_to_json(cached_shards)::text END AS cached
        FROM workers WHERE state = 'alive' ORDER BY id
        """
}
