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

/// Workers: registration (idempotent by name), heartbeats that extend leases, loss detection.
public struct WorkerStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// Registers a worker or updates the registration of the same name (a restarted daemon); the
    /// worker becomes alive. Returns its stable id.
    /// The longest cached-shard list kept per worker (the worker sends its most recently used first).
    public static let maxCachedShards = 4096

    /// The remote shard files the worker last said its cache holds.
    public func cachedShards(of worker: WorkerID) throws -> [String] {
        try pool.withConnection { c in
            guard let row = try c.queryFirst("SELECT array_to_json(cached_shards)::text AS s FROM workers WHERE id = $1", [worker.sql]) else {
                throw StoreError.unknownWorker(worker)
            }
            return try StoreJSON.strings(try row.string("s"), column: "cached_shards")
        }
    }

    @discardableResult
    public func register(name: String, resources: Resources, labels: Labels = [:], tokenHash: String? = nil,
                         version: String = "", kinds: [String] = []) throws -> WorkerID {
        guard !name.isEmpty, name.count <= 200 else { throw StoreError.invalid(field: "name", message: "expected a worker name of 1 to 200 characters") }
        guard resources.isNonNegative else { throw StoreError.invalid(field: "resources", message: "expected non-negative amounts, got \(resources)") }
        return try pool.idempotentTransaction { c in
            let old = try c.queryFirst("SELECT id, state FROM workers WHERE name = $1 FOR UPDATE", [.text(name)])
            let row = try c.queryOne("""
                INSERT INTO workers (name, cpu_millis, memory_bytes, accelerators, labels, state, token_hash, version, kinds)
                VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 'alive', $6, $7, $8)
                ON CONFLICT (name) DO UPDATE SET cpu_millis = EXCLUDED.cpu_millis, memory_bytes = EXCLUDED.memory_bytes,
                    version = EXCLUDED.version, kinds = EXCLUDED.kinds,
                    accelerators = EXCLUDED.accelerators, labels = EXCLUDED.labels, state = 'alive',
                    token_hash = coalesce(EXCLUDED.token_hash, workers.token_hash), last_heartbeat = now(),
                    cached_shards = '{}'
                RETURNING id
                """, [.text(name), .int(resources.cpuMillis), .int(resources.memoryBytes),
                      .json(StoreJSON.encode(accelerators: resources.accelerators)), .json(StoreJSON.encode(labels)),
                      tokenHash.map { .text($0) }, .text(version), .textArray(kinds)])
            let id = try row.int64("id")
            let oldState = try old?.string("state")
            if oldState != WorkerState.alive.rawValue {
                try c.execute("""
                    INSERT INTO events (entity, entity_id, old_state, new_state, reason) VALUES ('worker', $1, $2, 'alive', $3)
                    """, [.int(id), oldState.map { .text($0) }, .text(old == nil ? "registered" : "registered again")])
            }
            return WorkerID(id)
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
    public func heartbeat(_ worker: WorkerID, holding: [AttemptID] = [], extending: LeaseExtension = .everyActive,
                          cachedShards: [String]? = nil) throws -> HeartbeatResult {
        try pool.idempotentTransaction { c in
            guard let row = try c.queryFirst("SELECT state FROM workers WHERE id = $1 FOR UPDATE", [worker.sql]) else {
                throw StoreError.unknownWorker(worker)
            }
            let old = WorkerState(rawValue: try row.string("state")) ?? .lost
            let state = old.after(.heartbeat)
            if state != old {
                try c.execute("""
                    INSERT INTO events (entity, entity_id, old_state, new_state, reason) VALUES ('worker', $1, $2, $3, 'heartbeat resumed')
                    """, [worker.sql, .text(old.rawValue), .text(state.rawValue)])
            }
            try c.execute("UPDATE workers SET last_heartbeat = now(), state = $2, cached_shards = coalesce($3::text[], cached_shards) WHERE id = $1",
                          [worker.sql, .text(state.rawValue), cachedShards.map { .textArray(Array($0.prefix(Self.maxCachedShards))) }])
            let listed: PostgresValue? = switch extending {
            case .everyActive: nil
            case .listed(let attempts): .intArray(attempts.map(\.rawValue))
            }
            let extended = try c.query("""
                UPDATE task_attempts SET lease_deadline = now() + make_interval(secs => lease_seconds)
                WHERE worker_id = $1 AND state = 'active' AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[])) RETURNING id
                """, [worker.sql, listed]).map { AttemptID(try $0.int64("id")) }
            let active = Set(extended)
            return HeartbeatResult(state: state, extendedAttempts: extended.sorted(),
                                   stopAttempts: holding.filter { !active.contains($0) })
        }
    }

    /// Marks alive and draining workers whose last heartbeat is older than `timeout` as lost and ends their leases
    /// now (the next `LeaseStore.expireLeases()` requeues the tasks). Returns the workers marked.
    @discardableResult
    public func markLost(heartbeatOlderThan timeout: TimeInterval) throws -> [WorkerID] {
        try pool.idempotentTransaction { c in
            let lost = try c.query("""
                WITH silent AS (
                    SELECT id, state AS old_state FROM workers
                    WHERE state IN ('alive', 'draining') AND last_heartbeat < now() - make_interval(secs => $1)
                    FOR UPDATE
                ), l AS (
                    UPDATE workers w SET state = 'lost' FROM silent WHERE w.id = silent.id
                    RETURNING w.id, silent.old_state
                ), e AS (
                    INSERT INTO events (entity, entity_id, old_state, new_state, reason)
                    SELECT 'worker', id, old_state, 'lost', $2 FROM l
                )
                SELECT id FROM l ORDER BY id
                """, [.double(timeout), .text("no heartbeat for \(Int(timeout))s")]).map { try $0.int64("id") }
            if !lost.isEmpty {
                try c.execute("UPDATE task_attempts SET lease_deadline = least(lease_deadline, now()) WHERE state = 'active' AND worker_id = ANY($1)",
                              [.intArray(lost)])
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
            guard let row = try c.queryFirst("SELECT state FROM workers WHERE id = $1 FOR UPDATE", [worker.sql]) else {
                throw StoreError.unknownWorker(worker)
            }
            let old = WorkerState(rawValue: try row.string("state")) ?? .lost
            let new = old.after(event)
            guard new != old else { return }
            try c.execute("UPDATE workers SET state = $2 WHERE id = $1", [worker.sql, .text(new.rawValue)])
            try c.execute("INSERT INTO events (entity, entity_id, old_state, new_state, reason) VALUES ('worker', $1, $2, $3, $4)",
                          [worker.sql, .text(old.rawValue), .text(new.rawValue), .text(reason)])
        }
    }

    public func list() throws -> [WorkerRecord] {
        try pool.retryingOnConnectionLoss { try pool.withConnection { try Self.workers($0, where: "true", []) } }
    }

    public func worker(_ id: WorkerID) throws -> WorkerRecord? {
        try pool.withConnection { try Self.workers($0, where: "w.id = $1", [id.sql]).first }
    }

    public func worker(named name: String) throws -> WorkerRecord? {
        try pool.withConnection { try Self.workers($0, where: "w.name = $1", [.text(name)]).first }
    }

    /// The worker whose current token hashes to `hash`, nil if none (the API's authorization).
    public func worker(forTokenHash hash: String) throws -> WorkerID? {
        try pool.withConnection { c in
            try c.queryFirst("SELECT id FROM workers WHERE token_hash = $1", [.text(hash)]).map { WorkerID(try $0.int64("id")) }
        }
    }

    /// The stored token hash of a worker (for the API's authorization), nil if none.
    public func tokenHash(of worker: WorkerID) throws -> String? {
        try pool.withConnection { try $0.queryFirst("SELECT token_hash FROM workers WHERE id = $1", [worker.sql])?.optionalString("token_hash") }
    }

    static func workers(_ c: PostgresConnection, where condition: String, _ params: [PostgresValue?]) throws -> [WorkerRecord] {
        try c.query("""
            SELECT w.*, array_to_json(w.kinds)::text AS kinds_json,
                (SELECT count(*) FROM tasks t WHERE t.worker_id = w.id AND t.state = 'running') AS running,
                coalesce((SELECT sum(t.cpu_millis) FROM tasks t WHERE \(LeaseStore.holdsCapacity)), 0) AS allocated_cpu,
                coalesce((SELECT sum(t.memory_bytes) FROM tasks t WHERE \(LeaseStore.holdsCapacity)), 0) AS allocated_memory,
                coalesce((SELECT jsonb_agg(t.accelerators) FROM tasks t
                          WHERE (\(LeaseStore.holdsCapacity)) AND t.accelerators <> '{}'), '[]') AS allocated_accelerators
            FROM workers w WHERE \(condition) ORDER BY w.id
            """, params).map { row in
            var allocated = Resources(cpuMillis: try row.int64("allocated_cpu"), memoryBytes: try row.int64("allocated_memory"))
            for entry in try StoreJSON.acceleratorList(try row.string("allocated_accelerators"), column: "allocated_accelerators") {
                for (type, count) in entry { allocated.accelerators[type, default: 0] += count }
            }
            return WorkerRecord(id: WorkerID(try row.int64("id")), name: try row.string("name"), resources: try row.resources(),
                         labels: try StoreJSON.labels(try row.string("labels"), column: "labels"),
                         state: WorkerState(rawValue: try row.string("state")) ?? .lost,
                         registeredAt: try row.date("registered_at"), lastHeartbeat: try row.date("last_heartbeat"),
                         runningTasks: try row.int("running"), allocated: allocated, version: try row.string("version"),
                         kinds: try StoreJSON.strings(try row.string("kinds_json"), column: "kinds"))
        }
    }
}
