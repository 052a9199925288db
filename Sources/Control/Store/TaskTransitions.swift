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

    /// Moves the tasks `selection` picks (by `selected`: a task id, a job id or job ids) that are in one of `from`
    /// to `from.after(event)`, also setting `assignments`. Returns the moved tasks.
    @discardableResult
    static func move(
        _ c: PostgresConnection, _ selection: TaskSQL.Selection, _ selected: PostgresValue,
        from: [TaskState], event: TaskEvent, assignments: TaskSQL.MoveAssignments = .none, reason: String
    ) throws -> [MovedTask] {
        let to = try target(from: from, event)
        let rows = try c.query(
            TaskSQL.move(selection, assignments: assignments),
            [selected, .textArray(from.map(\.rawValue)), .text(to.rawValue), .text(reason)])
        return try rows.map {
            MovedTask(task: try $0.int64("id"), job: try $0.int64("job_id"), old: try $0.taskState("old"))
        }
    }
}
