import ClusterModel
import Foundation
import Postgres

public struct MetricPoint: Sendable, Equatable {
    public var name: String
    public var step: Int64
    public var value: Double
    public init(name: String, step: Int64, value: Double) {
        self.name = name
        self.step = step
        self.value = value
    }
}

/// Training/evaluation metrics (loss, throughput...) by job. Idempotent by (attempt, name, step).
public struct MetricStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    @discardableResult
    public func append(attempt: AttemptID, by worker: WorkerID? = nil, points: [MetricPoint]) throws -> Int {
        guard !points.isEmpty else { return 0 }
        return try pool.idempotentTransaction { try Self.append($0, attempt: attempt, by: worker, points: points) }
    }

    /// Throws `StoreError.invalid` naming the field unless the store accepts `point`.
    static func validate(_ point: MetricPoint) throws {
        guard !point.name.isEmpty else { throw StoreError.invalid(field: "name", message: "expected a metric name") }
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func append(_ c: PostgresConnection, attempt: AttemptID, by worker: WorkerID?, points: [MetricPoint]) throws
        -> Int
    {
        guard !points.isEmpty else { return 0 }
        for (i, point) in points.enumerated() {
            do { try validate(point) } catch StoreError.invalid(let field, let message) {
                throw StoreError.invalid(field: "points[\(i)].\(field)", message: message)
            }
        }
        _ = try AttemptOwnership.check(c, attempt, by: worker)
        let stored = try c.execute(
            MetricSQL.append,
            [
                attempt.sql, .textArray(points.map(\.name)), .intArray(points.map(\.step)),
                .doubleArray(points.map(\.value)),
            ])
        try CheckpointEvals.copyResults(c, attempt: attempt, points: points)
        return stored
    }

    /// Points of a job (optionally one metric), ordered by id; page with `afterID`.
    public func list(job: JobID, name: String? = nil, afterID: Int64 = 0, limit: Int = 10_000) throws -> [MetricRecord]
    {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(
                    MetricSQL.ofJob,
                    [job.sql, name.map { .text($0) }, .int(afterID), .int(Int64(max(1, min(limit, 100_000))))]
                )
                .map(MetricRecord.init(row:))
            }
        }
    }

    /// Points of `job` after `afterID` but those named in `excluded`, oldest first: what a chart draws, so that
    /// a per-step bookkeeping metric does not use up its point budget.
    public func list(job: JobID, excluding excluded: [String], afterID: Int64 = 0, limit: Int = 10_000) throws
        -> [MetricRecord]
    {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(
                    MetricSQL.ofJobExcept,
                    [job.sql, .int(afterID), .int(Int64(max(1, min(limit, 100_000)))), .textArray(excluded)]
                )
                .map(MetricRecord.init(row:))
            }
        }
    }
}
