import ClusterModel
import Foundation
import Postgres

/// A queued task as the scheduler sees it.
public struct QueuedTask: Sendable, Equatable {
    public var task: TaskID
    public var job: JobID
    public var jobName: String
    public var queue: String
    public var priority: Int
    public var replicas: Int
    public var index: Int
    public var resources: Resources
    public var nodeSelector: Labels
    public var placedWorker: WorkerID?
    public var submittedAt: Date
}

/// What the scheduling loop reads and writes: queued tasks, and placements of tasks on workers
/// (`placed_worker_id`). A placed task is claimed only by its worker (`LeaseStore.claimNext`);
/// gang tasks (replicas > 1) run only once placed.
public struct PlacementStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// Queued tasks whose backoff has passed, highest priority first, then oldest.
    public func queuedTasks(limit: Int = 10_000) throws -> [QueuedTask] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(TaskSQL.queued, [.int(Int64(max(1, limit)))]).map(QueuedTask.init(row:))
            }
        }
    }

    /// Places queued tasks on workers (nil removes a placement). Tasks no longer queued are left
    /// alone; returns the tasks whose placement was written. Wakes waiting claimers.
    @discardableResult
    public func place(_ placements: [TaskID: WorkerID?]) throws -> [TaskID] {
        guard !placements.isEmpty else { return [] }
        let entries = placements.sorted { $0.key < $1.key }
        return try pool.idempotentTransaction { c in
            let rows = try c.query(
                TaskSQL.place,
                [
                    .intArray(entries.map { $0.key.rawValue }),
                    .textArray(entries.map { $0.value.map { String($0.rawValue) } }),
                ])
            if !rows.isEmpty { try c.notify(channel: StoreChannel.taskRunnable) }
            return try rows.map { TaskID(try $0.int64("id")) }.sorted()
        }
    }

    /// Takes a running task away from its worker to make room (never counts as a failure): the
    /// attempt becomes `preempted`, the task is queued again at once. Stale attempts are refused.
    public func preempt(attempt: AttemptID, reason: String) throws {
        try pool.idempotentTransaction { try Self.preempt($0, attempt: attempt, reason: reason) }
    }

    /// The same inside the caller's transaction (a report batch is stored in one). Refusals are thrown before
    /// anything is written.
    static func preempt(_ c: PostgresConnection, attempt: AttemptID, reason: String) throws {
        // A live attempt's task row is locked; an ended one is read after the lock wait, so an attempt that ended
        // while this waited is seen in its final state.
        guard let row = try c.queryFirst(AttemptSQL.lockLive, [attempt.sql]) else {
            guard let ended = try c.queryFirst(AttemptSQL.endedState, [attempt.sql]) else {
                throw StoreError.unknownAttempt(attempt)
            }
            let state = try ended.string("state")
            if state == AttemptState.preempted.rawValue { return }
            throw StoreError.staleAttempt(attempt, state: state)
        }
        // What the next attempt trains again, in the event's words too (`opsctl describe job` shows both).
        let lost = try TrainingTokens.recordLoss(c, attempt: attempt).map {
            "; \($0) tokens since the last checkpoint will be recomputed"
        }
        try c.execute(AttemptSQL.markPreempted, [attempt.sql, .text(reason)])
        let moved = try TaskTransitions.move(
            c, .task, .int(try row.int64("task_id")), from: [.running], event: .preempted,
            assignments: .preempted, reason: "attempt \(attempt) preempted: \(reason)\(lost ?? "")")
        if !moved.isEmpty { try c.notify(channel: StoreChannel.taskRunnable) }
    }

    /// A worker's attempts the scheduler has asked to stop for preemption, with their grace deadlines.
    public func pendingPreemptions(of worker: WorkerID) throws -> [PendingPreemption] {
        try pool.withConnection { c in
            try c.query(AttemptSQL.pendingPreemptions, [worker.sql]).map(PendingPreemption.init(row:))
        }
    }

    /// Victims whose grace period ended without handing their task back are preempted now.
    @discardableResult
    public func preemptOverdue() throws -> [AttemptID] {
        let overdue = try pool.withConnection { c in
            try c.query(AttemptSQL.overduePreemptions).map { (AttemptID(try $0.int64("id")), try $0.string("reason")) }
        }
        var done: [AttemptID] = []
        for (attempt, reason) in overdue {
            do {
                try preempt(attempt: attempt, reason: reason + " (grace period over)")
                done.append(attempt)
            } catch StoreError.staleAttempt { continue }
        }
        return done
    }
}

/// An attempt being preempted: its worker should checkpoint and hand it back by `deadline`.
public struct PendingPreemption: Sendable, Equatable {
    public var attempt: AttemptID
    public var task: TaskID
    public var deadline: Date
    public var reason: String
}
