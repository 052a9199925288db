import ClusterModel
import Postgres

// Set-based task state changes. The target state always comes from `TaskState.after(_:)`, the one
// definition of legal transitions; the SQL only touches rows still in a legal source state, and
// writes one event row per changed task in the same statement.

struct MovedTask {
    var task: Int64
    var job: Int64
    var old: TaskState
}

enum TaskTransitions {
    /// The single target state for `event` from every state in `from` (they must agree).
    static func target(from: [TaskState], _ event: TaskEvent) throws -> TaskState {
        let targets = Set(try from.map { try $0.after(event) })
        precondition(targets.count == 1, "transition \(event) from \(from) has several targets: \(targets)")
        return targets.first!
    }

    /// Moves the tasks selected by `condition` (a constant SQL predicate over `tasks` using $1...$n of
    /// `params`) that are in one of `from` to `from.after(event)`. `assignments` are extra constant
    /// `column = expression` items for the UPDATE. Returns the moved tasks.
    @discardableResult
    static func move(_ c: PostgresConnection, where condition: String, _ params: [PostgresValue?],
                     from: [TaskState], event: TaskEvent, assignments: String = "", reason: String) throws -> [MovedTask] {
        let to = try target(from: from, event)
        let n = params.count
        let extra = assignments.isEmpty ? "" : ", " + assignments
        let rows = try c.query("""
            WITH o AS (
                SELECT id, state AS old FROM tasks
                WHERE (\(condition)) AND state = ANY($\(n + 1)::text[])
                ORDER BY id FOR UPDATE
            ), u AS (
                UPDATE tasks t SET state = $\(n + 2), updated_at = now()\(extra)
                FROM o WHERE t.id = o.id
                RETURNING t.id, t.job_id, o.old
            ), e AS (
                INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
                SELECT 'task', id, job_id, old, $\(n + 2), $\(n + 3) FROM u
            )
            SELECT id, job_id, old FROM u
            """, params + [.textArray(from.map(\.rawValue)), .text(to.rawValue), .text(reason)])
        return try rows.map { MovedTask(task: try $0.int64("id"), job: try $0.int64("job_id"), old: try $0.taskState("old")) }
    }
}
