import ClusterModel
import Foundation
import Postgres

public struct QueueRecord: Sendable, Equatable {
    public var configuration: QueueSpec
    public var updatedAt: Date
    public var name: String { configuration.name }
}

/// Tasks of one queue's jobs by state, for `GET /v1/queues` (also for queues no manifest configured).
public struct QueueUsage: Sendable, Equatable {
    public var queue: String
    public var runningTasks: Int
    /// Queued tasks (runnable, waiting for a worker); blocked tasks are not counted.
    public var pendingTasks: Int
}

/// Configured queues (`queues` table): upserted by `POST /v1/manifests`, read by the scheduling loop.
public struct QueueStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// Creates or replaces the queues, all in one transaction. Applying the same configuration again
    /// changes only `updated_at`.
    @discardableResult
    public func upsert(_ queues: [QueueSpec]) throws -> [QueueRecord] {
        try Self.validate(queues)
        return try pool.idempotentTransaction { c in try Self.upsert(queues, c) }
    }

    public func list() throws -> [QueueRecord] {
        try pool.withConnection { try Self.list($0) }
    }

    /// Removes a queue's configuration; its jobs keep running and queueing under the defaults (weight 1, no
    /// quota), as for any queue no manifest configured. Returns what was removed (nil: nothing configured).
    @discardableResult
    public func delete(named name: String) throws -> QueueRecord? {
        try pool.idempotentTransaction { c in
            guard let row = try c.queryFirst(QueueSQL.delete, [.text(name)]) else { return nil }
            let removed = try QueueRecord(row: row)
            try Self.recordEvent(
                queueID: try row.int64("id"), from: "configured", to: "deleted",
                reason:
                    "queue \(name) deleted (was \(Self.describe(removed.configuration))); its jobs run with weight 1 and no quota",
                c)
            return removed
        }
    }

    public func queue(named name: String) throws -> QueueRecord? {
        try pool.withConnection { try $0.queryFirst(QueueSQL.byName, [.text(name)]).map(QueueRecord.init(row:)) }
    }

    /// Running and queued task counts per queue name that has any.
    public func usage() throws -> [QueueUsage] {
        try pool.withConnection { c in
            try c.query(QueueSQL.usage).map(QueueUsage.init(row:))
        }
    }

    static func validate(_ queues: [QueueSpec]) throws {
        var seen = Set<String>()
        for (i, queue) in queues.enumerated() {
            let path = "queues[\(i)]"
            guard !queue.name.isEmpty, queue.name.count <= 200 else {
                throw StoreError.invalid(field: "\(path).name", message: "expected a name of 1 to 200 characters")
            }
            guard seen.insert(queue.name).inserted else {
                throw StoreError.invalid(
                    field: "\(path).name", message: "\"\(queue.name)\" appears twice in this submission")
            }
            guard queue.weight > 0, queue.weight.isFinite else {
                throw StoreError.invalid(field: "\(path).weight", message: "expected a number > 0, got \(queue.weight)")
            }
            if let quota = queue.quota, !quota.isNonNegative {
                throw StoreError.invalid(field: "\(path).quota", message: "expected non-negative amounts, got \(quota)")
            }
            if let tokens = queue.tokensPerDay, tokens < 1 {
                throw StoreError.invalid(
                    field: "\(path).tokensPerDay", message: "expected a number of training tokens >= 1, got \(tokens)")
            }
        }
    }

    /// Upserts inside the caller's transaction (the manifest submission applies queues and jobs together).
    /// A queue created or changed leaves an event; applying the same configuration again leaves none.
    static func upsert(_ queues: [QueueSpec], _ c: PostgresConnection) throws -> [QueueRecord] {
        try queues.map { queue in
            let before = try c.queryFirst(QueueSQL.lockByName, [.text(queue.name)]).map(QueueRecord.init(row:))
            let row = try c.queryOne(
                QueueSQL.upsert,
                [
                    .text(queue.name), .double(queue.weight), queue.quota.map { .int($0.cpuMillis) },
                    queue.quota.map { .int($0.memoryBytes) },
                    queue.quota.map { .json(StoreJSON.encode(accelerators: $0.accelerators)) },
                    queue.tokensPerDay.map { .int($0) },
                ])
            let after = try QueueRecord(row: row)
            if let before {
                if before.configuration != after.configuration {
                    try recordEvent(
                        queueID: try row.int64("id"), from: "configured", to: "configured",
                        reason:
                            "queue \(queue.name) changed: \(describe(before.configuration)) -> \(describe(after.configuration))",
                        c)
                }
            } else {
                try recordEvent(
                    queueID: try row.int64("id"), from: nil, to: "configured",
                    reason: "queue \(queue.name) configured: \(describe(after.configuration))", c)
            }
            return after
        }
    }

    private static func recordEvent(queueID: Int64, from: String?, to: String, reason: String, _ c: PostgresConnection)
        throws
    {
        try Events.record(c, .queue, queueID, from: from, to: to, reason: reason)
    }

    /// "weight 2, quota cpu 4000m memory 8 GiB ..." for events.
    static func describe(_ queue: QueueSpec) -> String {
        let weight =
            queue.weight == queue.weight.rounded() && abs(queue.weight) < 1e15
            ? String(Int64(queue.weight)) : String(queue.weight)
        return "weight \(weight), " + (queue.quota.map { "quota \($0)" } ?? "no quota")
            + (queue.tokensPerDay.map { ", \($0) training tokens per day" } ?? "")
    }

    static func list(_ c: PostgresConnection) throws -> [QueueRecord] {
        try c.query(QueueSQL.all).map(QueueRecord.init(row:))
    }
}
