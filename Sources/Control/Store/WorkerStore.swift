import ClusterModel
import Foundation
import Postgres

public struct HeartbeatResult: Sendable, Equatable {
    public var state: WorkerState
    /// Active leases of this worker, their deadlines now extended.
    public var extendedAttempts: [AttemptID]
    /// Attempts the worker says it holds that are no longer active (cancelled, expired): stop them.
    public var stopAttempts: [AttemptID]
}

/// Workers: registration (WorkerStore+Registration.swift), heartbeats that extend leases, loss detection.
public struct WorkerStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// The longest cached-shard list kept per worker (the worker sends its most recently used first).
    public static let maxCachedShards = 4096

    /// The remote shard files the worker last said its cache holds.
    public func cachedShards(of worker: WorkerID) throws -> [String] {
        try pool.withConnection { c in
            guard let row = try c.queryFirst(WorkerSQL.cachedShards, [worker.sql]) else {
                throw StoreError.unknownWorker(worker)
            }
            return try StoreJSON.strings(try row.string("s"), column: "cached_shards")
        }
    }

    /// Which active leases of the worker a heartbeat extends.
    public enum LeaseExtension: Sendable, Equatable {
        /// Every active lease of the worker (callers that track no attempts of their own).
        case everyActive
        /// Only the attempts the worker says it holds (running, or finished with the report still on its way).
        /// An attempt it does not list — its assignment was lost with a poll response when the control plane
        /// went down — is not extended: its lease runs out and the task is retried instead of waiting forever.
        case listed([AttemptID])
    }

    /// Records a heartbeat: extends the deadlines of the worker's active leases (`extending`) by their lease
    /// duration, revives a worker marked lost, and says which of the `holding` attempts to stop.
    /// `cachedShards`, when given, replaces the worker's list of cached remote shard files (data locality);
    /// at most `maxCachedShards` are kept.
    public func heartbeat(
        _ worker: WorkerID, holding: [AttemptID] = [], extending: LeaseExtension = .everyActive,
        cachedShards: [String]? = nil
    ) throws -> HeartbeatResult {
        try pool.idempotentTransaction { c in
            guard let row = try c.queryFirst(WorkerSQL.lockState, [worker.sql]) else {
                throw StoreError.unknownWorker(worker)
            }
            let old = WorkerState(rawValue: try row.string("state")) ?? .lost
            let state = old.after(.heartbeat)
            if state != old {
                try Events.record(
                    c, .worker, worker.rawValue, from: old.rawValue, to: state.rawValue, reason: "heartbeat resumed")
            }
            try c.execute(
                WorkerSQL.heartbeat,
                [
                    worker.sql, .text(state.rawValue),
                    cachedShards.map { .textArray(Array($0.prefix(Self.maxCachedShards))) },
                ])
            let listed: PostgresValue? =
                switch extending {
                case .everyActive: nil
                case .listed(let attempts): .intArray(attempts.map(\.rawValue))
                }
            let extended = try c.query(AttemptSQL.extendLeases, [worker.sql, listed]).map {
                AttemptID(try $0.int64("id"))
            }
            let active = Set(extended)
            return HeartbeatResult(
                state: state, extendedAttempts: extended.sorted(),
                stopAttempts: holding.filter { !active.contains($0) })
        }
    }

    /// Marks alive and draining workers whose last heartbeat is older than `timeout` as lost and ends their leases
    /// now (the next `LeaseStore.expireLeases()` requeues the tasks). Returns the workers marked.
    @discardableResult
    public func markLost(heartbeatOlderThan timeoutSeconds: TimeInterval) throws -> [WorkerID] {
        try pool.idempotentTransaction { c in
            let lost = try c.query(
                WorkerSQL.markLost, [.double(timeoutSeconds), .text("no heartbeat for \(Int(timeoutSeconds))s")]
            ).map { try $0.int64("id") }
            if !lost.isEmpty {
                try c.execute(AttemptSQL.endLeasesOfWorkers, [.intArray(lost)])
            }
            return lost.map(WorkerID.init)
        }
    }

    /// The worker is shutting down (its heartbeat says so): it is given no new work; what it runs continues.
    public func requestDrain(_ worker: WorkerID) throws {
        try transition(worker, .drainRequested, reason: "draining")
    }

    /// The worker deregistered: it holds nothing and is given nothing until it registers again.
    public func deregister(_ worker: WorkerID) throws {
        try transition(worker, .deregistered, reason: "deregistered")
    }

    /// Applies `event` to the worker's state (`WorkerState.after`) and records the change as an event.
    private func transition(_ worker: WorkerID, _ event: WorkerEvent, reason: String) throws {
        try pool.idempotentTransaction { c in
            guard let row = try c.queryFirst(WorkerSQL.lockState, [worker.sql]) else {
                throw StoreError.unknownWorker(worker)
            }
            let old = WorkerState(rawValue: try row.string("state")) ?? .lost
            let new = old.after(event)
            guard new != old else { return }
            try c.execute(WorkerSQL.setState, [worker.sql, .text(new.rawValue)])
            try Events.record(c, .worker, worker.rawValue, from: old.rawValue, to: new.rawValue, reason: reason)
        }
    }

    public func list() throws -> [WorkerRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { try $0.query(WorkerSQL.all).map(WorkerRecord.init(row:)) }
        }
    }

    public func worker(_ id: WorkerID) throws -> WorkerRecord? {
        try pool.withConnection { try $0.queryFirst(WorkerSQL.byID, [id.sql]).map(WorkerRecord.init(row:)) }
    }

    public func worker(named name: String) throws -> WorkerRecord? {
        try pool.withConnection { try $0.queryFirst(WorkerSQL.byName, [.text(name)]).map(WorkerRecord.init(row:)) }
    }

    /// The worker whose current token hashes to `hash`, nil if none (the API's authorization).
    public func worker(forTokenHash hash: String) throws -> WorkerID? {
        try pool.withConnection { c in
            try c.queryFirst(WorkerSQL.byTokenHash, [.text(hash)]).map { WorkerID(try $0.int64("id")) }
        }
    }

    /// The stored token hash of a worker (for the API's authorization), nil if none.
    public func tokenHash(of worker: WorkerID) throws -> String? {
        try pool.withConnection { try $0.queryFirst(WorkerSQL.tokenHash, [worker.sql])?.optionalString("token_hash") }
    }
}
