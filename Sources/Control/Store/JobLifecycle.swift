import ClusterModel
import Postgres

// Keeps jobs consistent with their tasks, inside the caller's transaction:
// - a job's state is `JobState.derived` from the set of its task states (recomputed under the job's
//   row lock, so two transactions finishing the last two tasks cannot both miss the end);
// - when a job finishes, its dependents are released (blocked -> queued) once all their `after:`
//   jobs are done, or cancelled when a dependency failed under the `cancel` policy, transitively.
// Locks follow the global order (docs/postgres-store.md, "Lock order"): attempts, then tasks, then
// their job rows, each kind by id; a dependent's tasks and row come after the job it depends on.

enum JobLifecycle {
    /// Recomputes the state of `jobIDs` and follows the consequences through dependent jobs.
    static func refresh(_ c: PostgresConnection, jobs jobIDs: Set<Int64>) throws {
        var pending = jobIDs
        var rounds = 0
        while !pending.isEmpty {
            rounds += 1
            precondition(rounds < 10_000, "job dependency cascade does not terminate")
            let finished = try recompute(c, jobs: pending)
            pending = try evaluateDependents(c, ofFinished: finished)
        }
    }

    /// Recomputes job states; returns the jobs that became terminal.
    private static func recompute(_ c: PostgresConnection, jobs: Set<Int64>) throws -> [Int64] {
        let ids = jobs.sorted()
        // Lock first, then read task states in a later statement (fresh snapshot after the lock).
        let locked = try c.query(JobSQL.lockUnfinished, [.intArray(ids)])
        guard !locked.isEmpty else { return [] }
        let lockedIDs = try locked.map { try $0.int64("id") }
        let presence = try c.query(TaskSQL.statesPresent, [.intArray(lockedIDs)])
        var present: [Int64: [TaskState]] = [:]
        for row in presence {
            present[try row.int64("id")] = try TaskState.allCases.filter { try row.bool($0.rawValue) }
        }
        var changedIDs: [Int64] = []
        var oldStates: [String?] = []
        var newStates: [String?] = []
        var finished: [Int64] = []
        for row in locked {
            let id = try row.int64("id")
            let old = try row.jobState("state")
            let derived = JobState.derived(from: present[id] ?? [], cancelRequested: try row.bool("cancel_requested"))
            guard derived != old else { continue }
            changedIDs.append(id)
            oldStates.append(old.rawValue)
            newStates.append(derived.rawValue)
            if derived.isTerminal { finished.append(id) }
        }
        guard !changedIDs.isEmpty else { return [] }
        try c.execute(JobSQL.setDerivedStates, [.intArray(changedIDs), .textArray(oldStates), .textArray(newStates)])
        try c.query(JobSQL.notifyChanged, [.text(StoreChannel.jobChanged), .intArray(changedIDs)])
        return finished
    }

    /// Releases or cancels pending dependents of the finished jobs; returns the dependents whose
    /// tasks were cancelled (their state must be recomputed next).
    private static func evaluateDependents(_ c: PostgresConnection, ofFinished finished: [Int64]) throws -> Set<Int64> {
        guard !finished.isEmpty else { return [] }
        // Tasks, then job rows: the order every path follows (docs/postgres-store.md, "Lock order").
        _ = try c.query(JobSQL.lockTasksOfPendingDependents, [.intArray(finished)])
        let dependents = try c.query(JobSQL.lockPendingDependents, [.intArray(finished)]).map { try $0.int64("id") }
        return try evaluate(c, jobs: dependents)
    }

    /// Looks at the `after:` jobs of each of `jobs` (pending, tasks blocked): all done -> release;
    /// a dependency failed under the `cancel` (`fail`) policy -> cancel (fail). Returns the jobs ended so.
    @discardableResult
    static func evaluate(_ c: PostgresConnection, jobs: [Int64]) throws -> Set<Int64> {
        guard !jobs.isEmpty else { return [] }
        let verdicts = try c.query(JobSQL.dependencyVerdicts, [.intArray(jobs)])
        var released: [Int64] = []
        var doomed: Set<Int64> = []
        for row in verdicts {
            let id = try row.int64("job_id")
            if try row.bool("doomed") {
                doomed.insert(id)
                let reason = try row.optionalString("failure_reasons") ?? "a dependency failed"
                let fails = try row.bool("fails")
                try TaskTransitions.move(
                    c, .job, .int(id), from: [.blocked, .queued],
                    event: fails ? .dependencyFailed : .cancelled, assignments: .endedByDependency, reason: reason)
                try c.execute(JobSQL.setPendingReason, [.int(id), .text(reason)])
            } else if try row.bool("satisfied") {
                released.append(id)
            } else if let waiting = try row.optionalString("waiting_for") {
                try c.execute(JobSQL.setPendingReason, [.int(id), .text("waiting for \(waiting)")])
            }
        }
        if !released.isEmpty {
            let moved = try TaskTransitions.move(
                c, .jobs, .intArray(released), from: [.blocked],
                event: .dependenciesMet, assignments: .runnableNow,
                reason: "all after: dependencies finished")
            try c.execute(JobSQL.clearPendingReasons, [.intArray(released)])
            if !moved.isEmpty { try c.notify(channel: StoreChannel.taskRunnable) }
        }
        return doomed
    }
}
