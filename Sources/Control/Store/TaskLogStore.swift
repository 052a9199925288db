import APITypes
import ClusterModel
import Foundation
import Postgres

public struct LogLine: Sendable, Equatable {
    /// Per-attempt sequence number chosen by the worker; a retried append with the same numbers is a no-op.
    public var seq: Int64
    public var line: String
    /// Which output of the task (or the worker, `system`) wrote it.
    public var stream: LogStream
    public init(seq: Int64, line: String, stream: LogStream = .stdout) {
        self.seq = seq
        self.line = line
        self.stream = stream
    }
}

/// Log lines of task attempts. Appends are idempotent by (attempt, seq); readers follow a job with
/// `list(job:afterID:)` and wake on NOTIFY `task_logs` (payload: job id).
public struct TaskLogStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// Appends lines of an attempt (also after it ended: late logs are still history). Returns how
    /// many lines were new.
    @discardableResult
    public func append(attempt: AttemptID, by worker: WorkerID? = nil, lines: [LogLine]) throws -> Int {
        guard !lines.isEmpty else { return 0 }
        return try pool.idempotentTransaction { try Self.append($0, attempt: attempt, by: worker, lines: lines) }
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func append(_ c: PostgresConnection, attempt: AttemptID, by worker: WorkerID?, lines: [LogLine]) throws
        -> Int
    {
        guard !lines.isEmpty else { return 0 }
        let job = try AttemptOwnership.check(c, attempt, by: worker)
        let inserted = try c.execute(
            TaskLogSQL.append,
            [
                attempt.sql, .intArray(lines.map(\.seq)), .textArray(lines.map(\.line)),
                .textArray(lines.map(\.stream.rawValue)),
            ])
        if inserted > 0 { try c.notify(channel: StoreChannel.taskLogs, payload: String(job)) }
        return inserted
    }

    /// Lines of a job in arrival order, after cursor `afterID`.
    public func list(job: JobID, afterID: Int64 = 0, limit: Int = 1000) throws -> [TaskLogRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(TaskLogSQL.ofJob, [job.sql, .int(afterID), .int(Int64(max(1, min(limit, 100_000))))])
                    .map(TaskLogRecord.init(row:))
            }
        }
    }
}

enum AttemptOwnership {
    /// The attempt's job id; throws unless the attempt exists and (when given) `worker` holds it.
    static func check(_ c: PostgresConnection, _ attempt: AttemptID, by worker: WorkerID?) throws -> Int64 {
        guard let row = try c.queryFirst(AttemptSQL.workerAndJob, [attempt.sql]) else {
            throw StoreError.unknownAttempt(attempt)
        }
        if let worker, try row.int64("worker_id") != worker.rawValue {
            throw StoreError.attemptNotOwned(attempt, by: worker)
        }
        return try row.int64("job_id")
    }
}
