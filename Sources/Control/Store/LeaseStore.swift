import ClusterModel
import Foundation
import Postgres

public struct AttemptCompletion: Sendable, Equatable {
    public var attempt: AttemptID
    /// Result JSON text.
    public var result: String
    /// A committed shard to record with the completion (same transaction), when the task wrote one.
    public var shard: ShardCompletion?
    public init(attempt: AttemptID, result: String = "{}", shard: ShardCompletion? = nil) {
        self.attempt = attempt
        self.result = result
        self.shard = shard
    }
}

public struct AttemptFailure: Sendable, Equatable {
    public var attempt: AttemptID
    public var error: String
    /// False for errors that another attempt cannot fix (bad input): the task fails at once.
    public var retryable: Bool
    public init(attempt: AttemptID, error: String, retryable: Bool = true) {
        self.attempt = attempt
        self.error = error
        self.retryable = retryable
    }
}

/// The outcome of one report in a batch.
public enum ReportOutcome: Sendable, Equatable {
    /// Applied now.
    case applied
    /// The same report was applied before; nothing changed (idempotent retry).
    case alreadyApplied
    /// Refused, nothing changed (stale attempt, not owned, unknown).
    case refused(StoreError)
}

public struct ExpiredLeases: Sendable, Equatable {
    /// Tasks requeued for another attempt (after their backoff).
    public var requeued: [TaskID]
    /// Tasks that used up their attempts and failed.
    public var failed: [TaskID]
    /// Workers whose leases expired.
    public var workers: [WorkerID]
}

/// Leases: handing tasks to workers (claim) and taking their reports (complete, fail), and expiring
/// leases whose deadline passed. Claims and reports are set-based: one transaction per batch.
public struct LeaseStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    // MARK: Claiming (`claimNext` is in LeaseStore+Claim.swift)

    /// The earliest future time a queued task's backoff ends, nil when none is waiting on a backoff.
    /// Long-polls use it to sleep exactly until then (tasks already runnable wake them by NOTIFY).
    public func nextRunnableAt() throws -> Date? {
        try pool.withConnection {
            try $0.queryOne(TaskSQL.nextRunnableAt).optionalDate("t")
        }
    }

    // MARK: Progress

    /// Records progress of live attempts (the latest report wins). Reports of attempts that are no longer
    /// the live attempt of their task change nothing; their ids are returned.
    @discardableResult
    public func recordProgress(
        _ reports: [(attempt: AttemptID, fraction: Double, message: String?)], by worker: WorkerID
    ) throws -> [AttemptID] {
        guard !reports.isEmpty else { return [] }
        return try pool.withConnection { try Self.recordProgress($0, reports, by: worker) }
    }

    /// The same on the caller's connection (a report batch is stored in one transaction).
    static func recordProgress(
        _ c: PostgresConnection, _ reports: [(attempt: AttemptID, fraction: Double, message: String?)],
        by worker: WorkerID
    ) throws -> [AttemptID] {
        guard !reports.isEmpty else { return [] }
        let updated = try c.query(
            TaskSQL.recordProgress,
            [
                .intArray(reports.map(\.attempt.rawValue)), .doubleArray(reports.map(\.fraction)),
                .textArray(reports.map { $0.message ?? "" }), worker.sql,
            ]
        ).map { AttemptID(try $0.int64("attempt")) }
        let live = Set(updated)
        return reports.map(\.attempt).filter { !live.contains($0) }
    }

    // MARK: Reports

    /// Completes an attempt. Repeating the same report is a no-op; a report for an attempt that is no
    /// longer active throws `StoreError.staleAttempt` and changes nothing.
    public func complete(attempt: AttemptID, by worker: WorkerID? = nil, result: String = "{}") throws {
        let outcome = try complete([AttemptCompletion(attempt: attempt, result: result)], by: worker)[attempt]
        if case .refused(let error) = outcome { throw error }
    }

    /// Completes several attempts at once, all or none; each report gets its own outcome.
    /// `worker`, when given, must hold every attempt (a worker token may only report its own).
    /// A batch that finishes no job and records no shard is one statement outside an explicit transaction
    /// (`completeUnlessFinishing`); one that may finish a job is completed in a transaction that refreshes it.
    /// `flush` says when the one statement's commit reaches the disk (`CompletionFlush`).
    public func complete(
        _ reports: [AttemptCompletion], by worker: WorkerID? = nil, flush: CompletionFlush = .beforeReturning
    ) throws -> [AttemptID: ReportOutcome] {
        guard !reports.isEmpty else { return [:] }
        if reports.allSatisfy({ $0.shard == nil }),
            let outcomes = try pool.idempotentStatement({
                try Self.completeUnlessFinishing($0, reports, by: worker, flush: flush)
            })
        {
            return outcomes
        }
        return try pool.idempotentTransaction { try Self.complete($0, reports, by: worker) }
    }

    /// `TaskSQL.completeUnlessFinishing` on `c`, outside a transaction: the outcomes, or nil when the batch may
    /// finish one of its jobs (nothing was changed; `complete` in a transaction does that batch). Two statements
    /// only when some report was not applied (a repeat, a stale or foreign attempt: `classify` says which).
    static func completeUnlessFinishing(
        _ c: PostgresConnection, _ reports: [AttemptCompletion], by worker: WorkerID?, flush: CompletionFlush
    ) throws -> [AttemptID: ReportOutcome]? {
        let statement =
            flush == .byTheNextClaim
            ? TaskSQL.completeUnlessFinishingFlushedByTheNextClaim : TaskSQL.completeUnlessFinishing
        let rows = try c.query(prepared: statement, try completionParameters(reports, by: worker))
        guard let first = rows.first, try first.bool("applied") else { return nil }
        var outcomes: [AttemptID: ReportOutcome] = [:]
        for row in rows {
            if let attempt = try row.optionalInt64("attempt_id") { outcomes[AttemptID(attempt)] = .applied }
        }
        let rest = reports.map(\.attempt).filter { outcomes[$0] == nil }
        for (id, outcome) in try classify(c, rest, by: worker, finishedAs: .succeeded) { outcomes[id] = outcome }
        return outcomes
    }

    /// The parameters of both completion statements ($1 attempts, $2 results, $3 worker, $4 the succeeded state),
    /// after checking each result is JSON. Their order does not matter: the statements lock the attempts' task rows
    /// in id order themselves (`TaskSQL.reportedAttempts`, the lock order).
    private static func completionParameters(_ reports: [AttemptCompletion], by worker: WorkerID?) throws
        -> [PostgresValue?]
    {
        for (i, report) in reports.enumerated() { try StoreJSON.validate(report.result, field: "reports[\(i)].result") }
        let succeeded = try TaskTransitions.target(from: [.running], .completed)
        return [
            .intArray(reports.map { $0.attempt.rawValue }), .textArray(reports.map(\.result)), worker?.sql,
            .text(succeeded.rawValue),
        ]
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func complete(_ c: PostgresConnection, _ reports: [AttemptCompletion], by worker: WorkerID?) throws
        -> [AttemptID: ReportOutcome]
    {
        guard !reports.isEmpty else { return [:] }
        let done = try c.query(TaskSQL.complete, try completionParameters(reports, by: worker))
        var outcomes: [AttemptID: ReportOutcome] = [:]
        var mayHaveFinished: Set<Int64> = []
        let shards = Dictionary(
            reports.compactMap { r in r.shard.map { (r.attempt, $0) } }, uniquingKeysWith: { a, _ in a })
        for row in done {
            let attempt = AttemptID(try row.int64("attempt_id"))
            outcomes[attempt] = .applied
            // A completion can only finish its job. The job-row lock (which serializes reporters) is skipped
            // while some other unfinished task is not being changed by anyone right now: that task's own report
            // will do the check (`TaskSQL.complete` says why one of two last reporters always refreshes).
            if try row.bool("may_have_finished") { mayHaveFinished.insert(try row.int64("job_id")) }
            // The shard becomes known exactly when its task succeeds: both or neither commit.
            try shards[attempt]?.record(c, job: JobID(try row.int64("job_id")))
        }
        let rest = reports.map(\.attempt).filter { outcomes[$0] == nil }
        for (id, outcome) in try classify(c, rest, by: worker, finishedAs: .succeeded) { outcomes[id] = outcome }
        try JobLifecycle.refresh(c, jobs: mayHaveFinished)
        return outcomes
    }

    /// Fails an attempt: the task is requeued with exponential backoff while attempts remain and the
    /// error is retryable, else it fails. Idempotent and stale-safe like `complete`.
    public func fail(attempt: AttemptID, by worker: WorkerID? = nil, error: String, retryable: Bool = true) throws {
        let outcome = try fail([AttemptFailure(attempt: attempt, error: error, retryable: retryable)], by: worker)[
            attempt]
        if case .refused(let error) = outcome { throw error }
    }

    public func fail(_ reports: [AttemptFailure], by worker: WorkerID? = nil) throws -> [AttemptID: ReportOutcome] {
        guard !reports.isEmpty else { return [:] }
        return try pool.idempotentTransaction { try Self.fail($0, reports, by: worker) }
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func fail(_ c: PostgresConnection, _ reports: [AttemptFailure], by worker: WorkerID?) throws -> [AttemptID:
        ReportOutcome]
    {
        guard !reports.isEmpty else { return [:] }
        let rows = try c.query(
            AttemptSQL.lockForFailure, [.intArray(reports.map { $0.attempt.rawValue }), worker?.sql])
        let byAttempt = Dictionary(reports.map { ($0.attempt, $0) }, uniquingKeysWith: { first, _ in first })
        var endings: [AttemptEnding] = []
        for row in rows {
            let id = AttemptID(try row.int64("id"))
            guard let report = byAttempt[id] else { continue }
            endings.append(
                try AttemptEnding(row: row, attemptState: .failed, retryable: report.retryable, error: report.error))
        }
        let applied = try end(c, endings)
        var outcomes: [AttemptID: ReportOutcome] = [:]
        for id in applied { outcomes[id] = .applied }
        let rest = reports.map(\.attempt).filter { outcomes[$0] == nil }
        for (id, outcome) in try classify(c, rest, by: worker, finishedAs: .failed) { outcomes[id] = outcome }
        return outcomes
    }

    /// Ends attempts whose lease deadline passed: each becomes `expired`; its task is requeued with
    /// backoff, or fails when it has used its attempts. Safe to run from several control-plane
    /// replicas at once (SKIP LOCKED). Handles at most `limit` leases per call.
    @discardableResult
    public func expireLeases(limit: Int = 1000) throws -> ExpiredLeases {
        try pool.idempotentTransaction { c in
            let rows = try c.query(AttemptSQL.lockExpired, [.int(Int64(limit))])
            let endings = try rows.map {
                try AttemptEnding(
                    row: $0, attemptState: .expired, retryable: true,
                    error: "lease expired (no heartbeat before the deadline)")
            }
            _ = try Self.end(c, endings)
            return ExpiredLeases(
                requeued: endings.filter { $0.taskState == .queued }.map { TaskID($0.task) },
                failed: endings.filter { $0.taskState == .failed }.map { TaskID($0.task) },
                workers: Array(Set(endings.map { WorkerID($0.worker) })).sorted())
        }
    }

    // MARK: Internals

    /// How one active attempt ends and what becomes of its task.
    struct AttemptEnding {
        var attempt: Int64
        var task: Int64
        var worker: Int64
        var attemptState: AttemptState
        var taskState: TaskState
        var backoffSeconds: Double
        var error: String
        var number: Int

        init(row: PostgresRow, attemptState: AttemptState, retryable: Bool, error: String) throws {
            attempt = try row.int64("id")
            task = try row.int64("task_id")
            worker = try row.int64("worker_id")
            number = try row.int("number")
            let policy = try RetryPolicy(row: row)
            let retriesLeft = retryable && policy.allowsRetry(afterAttempt: number)
            self.attemptState = attemptState
            taskState = try TaskState.running.after(.attemptFailed(retriesLeft: retriesLeft))
            backoffSeconds = retriesLeft ? policy.backoffSeconds(afterAttempt: number) : 0
            self.error = error
        }
    }

    /// Applies attempt endings set-based; returns the attempts ended. Unless `restartingGangs` is false, the other
    /// members of a `command` gang whose attempt ended here are ended too (`restartGangs`).
    static func end(_ c: PostgresConnection, _ endings: [AttemptEnding], restartingGangs: Bool = true) throws
        -> [AttemptID]
    {
        guard !endings.isEmpty else { return [] }
        let rows = try c.query(
            TaskSQL.endAttempts,
            [
                .intArray(endings.map(\.attempt)), .textArray(endings.map(\.attemptState.rawValue)),
                .textArray(endings.map(\.taskState.rawValue)), .doubleArray(endings.map(\.backoffSeconds)),
                .textArray(endings.map(\.error)),
            ])
        var jobs: Set<Int64> = []
        var requeued = false
        var ended: [AttemptID] = []
        var gangCauses: [Int64: GangRestartCause] = [:]
        let byAttempt = Dictionary(endings.map { ($0.attempt, $0) }, uniquingKeysWith: { first, _ in first })
        for row in rows {
            let attempt = try row.int64("attempt_id")
            let job = try row.int64("job_id")
            ended.append(AttemptID(attempt))
            jobs.insert(job)
            if try row.string("task_state") == TaskState.queued.rawValue { requeued = true }
            if restartingGangs, let ending = byAttempt[attempt], gangCauses[job] == nil {
                gangCauses[job] = GangRestartCause(task: ending.task, taskState: ending.taskState, error: ending.error)
            }
        }
        try restartGangs(c, causes: gangCauses)
        if requeued { try c.notify(channel: StoreChannel.taskRunnable) }
        try JobLifecycle.refresh(c, jobs: jobs)
        return ended
    }

    /// Why reports for `attempts` were not applied: already finished the same way (idempotent
    /// repeat), held by another worker, unknown, or no longer active (stale).
    static func classify(
        _ c: PostgresConnection, _ attempts: [AttemptID], by worker: WorkerID?,
        finishedAs: AttemptState
    ) throws -> [AttemptID: ReportOutcome] {
        guard !attempts.isEmpty else { return [:] }
        var found: [AttemptID: (state: String, worker: Int64)] = [:]
        for row in try c.query(AttemptSQL.statesAndWorkers, [.intArray(attempts.map(\.rawValue))]) {
            found[AttemptID(try row.int64("id"))] = (try row.string("state"), try row.int64("worker_id"))
        }
        var outcomes: [AttemptID: ReportOutcome] = [:]
        for id in attempts {
            guard let attempt = found[id] else {
                outcomes[id] = .refused(.unknownAttempt(id))
                continue
            }
            if let worker, attempt.worker != worker.rawValue {
                outcomes[id] = .refused(.attemptNotOwned(id, by: worker))
            } else if attempt.state == finishedAs.rawValue {
                outcomes[id] = .alreadyApplied
            } else {
                outcomes[id] = .refused(.staleAttempt(id, state: attempt.state))
            }
        }
        return outcomes
    }
}
