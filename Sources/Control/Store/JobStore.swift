import ClusterModel
import Foundation
import Postgres

/// What to submit: one job and its tasks. The REST layer builds it from a validated manifest.
public struct NewJob: Sendable, Equatable {
    public struct Dependency: Sendable, Equatable {
        public var jobName: String
        public var onFailure: DependencyFailurePolicy
        public init(_ jobName: String, onFailure: DependencyFailurePolicy = .cancel) {
            self.jobName = jobName
            self.onFailure = onFailure
        }
    }

    public var name: String
    public var type: String
    /// The job spec as JSON text.
    public var spec: String
    public var queue: String
    public var priority: Int
    /// Workers that must run together (a gang). Gang tasks run only where the scheduler places them.
    public var replicas: Int
    /// Resources per task.
    public var resources: Resources
    public var retryPolicy: RetryPolicy
    public var after: [Dependency]
    public var nodeSelector: Labels
    /// The tasks; empty means `replicas` tasks with spec `{}`.
    public var tasks: [NewTask]
    /// Remote (http/https) dataset locations the tasks read: their tasks are placed by the scheduler, near
    /// workers whose shard cache holds those datasets' shards.
    public var readsLocations: [String]

    public init(name: String, type: String, spec: String = "{}", queue: String = "default", priority: Int = 0,
                replicas: Int = 1, resources: Resources = .zero, retryPolicy: RetryPolicy = RetryPolicy(),
                after: [Dependency] = [], nodeSelector: Labels = [:], tasks: [NewTask] = [], readsLocations: [String] = []) {
        self.name = name
        self.type = type
        self.spec = spec
        self.queue = queue
        self.priority = priority
        self.replicas = replicas
        self.resources = resources
        self.retryPolicy = retryPolicy
        self.after = after
        self.nodeSelector = nodeSelector
        self.tasks = tasks
        self.readsLocations = readsLocations
    }
}

public struct NewTask: Sendable, Equatable {
    /// The task spec as JSON text (what the executor receives).
    public var spec: String
    public init(spec: String = "{}") { self.spec = spec }
}

public struct SubmittedJob: Sendable, Equatable {
    public var id: JobID
    public var name: String
    /// False when an identical job of that name already existed (resubmission is a no-op).
    public var created: Bool
}

/// Jobs, their tasks and `after:` edges: submit, read, cancel.
public struct JobStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// Submits one job. See `submit(_ jobs:)`.
    @discardableResult
    public func submit(_ job: NewJob) throws -> SubmittedJob {
        try submit([job])[0]
    }

    /// Submits jobs atomically (a pipeline): inserts jobs, tasks (blocked while they have unfinished
    /// dependencies, else queued) and dependency edges in one transaction. `after:` may name existing
    /// jobs or jobs of this submission. Unknown names, cycles and invalid fields throw and change
    /// nothing. Resubmitting an identical job (same name, type, spec) returns it with `created == false`.
    public func submit(_ jobs: [NewJob]) throws -> [SubmittedJob] {
        try submit(jobs, configuring: [])
    }

    /// Like `submit(_:)`, and upserts `queues` in the same transaction (a manifest file's `kind: Queue`
    /// documents): a bad job leaves the queues as they were.
    public func submit(_ jobs: [NewJob], configuring queues: [QueueConfiguration]) throws -> [SubmittedJob] {
        try validate(jobs)
        try QueueStore.validate(queues)
        return try pool.idempotentTransaction { c in
            if !queues.isEmpty {
                _ = try QueueStore.upsert(queues, c)
                // A new weight or quota can let waiting work run: wake the scheduling loop.
                try c.notify(channel: StoreChannel.taskRunnable, payload: "queues")
            }
            return try insert(jobs, c)
        }
    }

    private func validate(_ jobs: [NewJob]) throws {
        var seen = Set<String>()
        for (i, job) in jobs.enumerated() {
            let path = jobs.count == 1 ? "job" : "jobs[\(i)]"
            guard !job.name.isEmpty, job.name.count <= 200 else {
                throw StoreError.invalid(field: "\(path).name", message: "expected a name of 1 to 200 characters")
            }
            guard seen.insert(job.name).inserted else {
                throw StoreError.invalid(field: "\(path).name", message: "\"\(job.name)\" appears twice in this submission")
            }
            guard !job.type.isEmpty else { throw StoreError.invalid(field: "\(path).type", message: "expected a job type") }
            guard job.replicas >= 1 else { throw StoreError.invalid(field: "\(path).replicas", message: "expected an integer >= 1, got \(job.replicas)") }
            guard job.resources.isNonNegative else { throw StoreError.invalid(field: "\(path).resources", message: "expected non-negative amounts, got \(job.resources)") }
            guard job.retryPolicy.maxAttempts >= 1 else {
                throw StoreError.invalid(field: "\(path).retry.maxAttempts", message: "expected an integer >= 1, got \(job.retryPolicy.maxAttempts)")
            }
            guard job.retryPolicy.initialBackoffSeconds >= 0, job.retryPolicy.maxBackoffSeconds >= 0, job.retryPolicy.multiplier >= 1 else {
                throw StoreError.invalid(field: "\(path).retry", message: "expected backoff seconds >= 0 and multiplier >= 1")
            }
            try StoreJSON.validate(job.spec, field: "\(path).spec")
            for (t, task) in job.tasks.enumerated() { try StoreJSON.validate(task.spec, field: "\(path).tasks[\(t)].spec") }
            for (d, dependency) in job.after.enumerated() where dependency.jobName == job.name {
                throw StoreError.invalid(field: "\(path).after[\(d)]", message: "a job cannot wait for itself")
            }
        }
        if let cycle = Self.findCycle(jobs) { throw StoreError.dependencyCycle(cycle) }
    }

    /// A cycle among the submitted jobs' `after:` edges, as a path that returns to its start.
    static func findCycle(_ jobs: [NewJob]) -> [String]? {
        let edges = Dictionary(uniqueKeysWithValues: jobs.map { ($0.name, $0.after.map(\.jobName)) })
        var state: [String: Int] = [:] // 1 = on stack, 2 = done
        var stack: [String] = []
        func visit(_ name: String) -> [String]? {
            if state[name] == 2 { return nil }
            if state[name] == 1 {
                let start = stack.firstIndex(of: name)!
                return Array(stack[start...]) + [name]
            }
            state[name] = 1
            stack.append(name)
            for next in edges[name] ?? [] where edges[next] != nil {
                if let cycle = visit(next) { return cycle }
            }
            stack.removeLast()
            state[name] = 2
            return nil
        }
        for job in jobs {
            if let cycle = visit(job.name) { return cycle }
        }
        return nil
    }

    private func insert(_ jobs: [NewJob], _ c: PostgresConnection) throws -> [SubmittedJob] {
        let names = jobs.map(\.name)
        // Existing jobs with these names: identical ones make the resubmission a no-op.
        var existing: [String: Int64] = [:]
        for (i, job) in jobs.enumerated() {
            guard let row = try c.queryFirst("SELECT id, type = $2 AND spec = $3::jsonb AS same FROM jobs WHERE name = $1",
                                             [.text(job.name), .text(job.type), .json(job.spec)]) else { continue }
            guard try row.bool("same") else { throw StoreError.jobNameTaken(jobs[i].name) }
            existing[job.name] = try row.int64("id")
        }
        // Every after: name must be in this submission or in the database.
        let afterNames = Set(jobs.flatMap { $0.after.map(\.jobName) }).subtracting(names)
        var known: [String: Int64] = [:]
        if !afterNames.isEmpty {
            for row in try c.query("SELECT id, name FROM jobs WHERE name = ANY($1)", [.textArray(Array(afterNames))]) {
                known[try row.string("name")] = try row.int64("id")
            }
        }
        for job in jobs {
            for dependency in job.after where !names.contains(dependency.jobName) && known[dependency.jobName] == nil {
                throw StoreError.unknownDependency(job: job.name, after: dependency.jobName)
            }
        }

        var ids: [String: Int64] = existing
        var created: [Int64] = []
        var withDependencies: [Int64] = []
        var anyQueued = false
        // Insert in dependency order is unnecessary: edges go in after all jobs exist.
        for job in jobs where existing[job.name] == nil {
            let r = job.resources
            let policy = job.retryPolicy
            let blocked = !job.after.isEmpty
            do {
                let id = try c.queryOne("""
                    INSERT INTO jobs (name, type, spec, queue, priority, replicas, cpu_millis, memory_bytes, accelerators,
                        node_selector, max_attempts, initial_backoff_seconds, max_backoff_seconds, backoff_multiplier,
                        state, pending_reason, reads_locations)
                    VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14, 'pending', $15, $16)
                    RETURNING id
                    """, [.text(job.name), .text(job.type), .json(job.spec), .text(job.queue), .int(Int64(job.priority)),
                          .int(Int64(job.replicas)), .int(r.cpuMillis), .int(r.memoryBytes),
                          .json(StoreJSON.encode(accelerators: r.accelerators)), .json(StoreJSON.encode(job.nodeSelector)),
                          .int(Int64(policy.maxAttempts)), .double(policy.initialBackoffSeconds),
                          .double(policy.maxBackoffSeconds), .double(policy.multiplier),
                          .text(blocked ? "waiting for \(job.after.map(\.jobName).joined(separator: ", "))" : "queued"),
                          .textArray(job.readsLocations)]).int64("id")
                ids[job.name] = id
                created.append(id)
                if blocked { withDependencies.append(id) } else { anyQueued = true }
            } catch let error as PostgresError where error.isUniqueViolation {
                throw StoreError.jobNameTaken(job.name)
            }
            try c.execute("""
                INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
                VALUES ('job', $1, $1, NULL, 'pending', 'submitted')
                """, [.int(ids[job.name]!)])
            let specs = job.tasks.isEmpty ? Array(repeating: "{}", count: job.replicas) : job.tasks.map(\.spec)
            let initial: TaskState = blocked ? .blocked : .queued
            try c.execute("""
                WITH t AS (
                    INSERT INTO tasks (job_id, task_index, spec, cpu_millis, memory_bytes, accelerators, priority, gang, state, node_selector,
                                       reads_remote, kind)
                    SELECT $1, u.n - 1, u.spec::jsonb, $3, $4, $5::jsonb, $6, $7, $8, $9::jsonb, $10, $11
                    FROM unnest($2::text[]) WITH ORDINALITY AS u(spec, n)
                    RETURNING id
                )
                INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
                SELECT 'task', id, $1, NULL, $8, 'submitted' FROM t
                """, [.int(ids[job.name]!), .textArray(specs), .int(r.cpuMillis), .int(r.memoryBytes),
                      .json(StoreJSON.encode(accelerators: r.accelerators)), .int(Int64(job.priority)),
                      .bool(job.replicas > 1), .text(initial.rawValue), .json(StoreJSON.encode(job.nodeSelector)),
                      .bool(!job.readsLocations.isEmpty), .text(job.type)])
        }
        for job in jobs where existing[job.name] == nil {
            for dependency in job.after {
                try c.execute("INSERT INTO job_dependencies (job_id, after_job_id, on_failure) VALUES ($1, $2, $3)",
                              [.int(ids[job.name]!), .int(ids[dependency.jobName] ?? known[dependency.jobName]!),
                               .text(dependency.onFailure.rawValue)])
            }
        }
        // Dependencies that are already finished release (or cancel) the new jobs right away.
        let cancelled = try JobLifecycle.evaluate(c, jobs: withDependencies)
        try JobLifecycle.refresh(c, jobs: cancelled)
        if anyQueued { try c.notify(channel: StoreChannel.taskRunnable) }
        return jobs.map { SubmittedJob(id: JobID(ids[$0.name]!), name: $0.name, created: existing[$0.name] == nil) }
    }

    // MARK: Reading

    public func job(_ id: JobID) throws -> JobRecord? {
        try pool.retryingOnConnectionLoss { try pool.withConnection { try Self.jobs($0, where: "j.id = $1", [id.sql]).first } }
    }

    public func job(named name: String) throws -> JobRecord? {
        try pool.retryingOnConnectionLoss { try pool.withConnection { try Self.jobs($0, where: "j.name = $1", [.text(name)]).first } }
    }

    /// Jobs, newest first, optionally filtered by state; page with `beforeID`.
    public func list(state: JobState? = nil, limit: Int = 100, beforeID: JobID? = nil) throws -> [JobRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection {
                try Self.jobs($0, where: "($1::text IS NULL OR j.state = $1) AND ($2::bigint IS NULL OR j.id < $2)",
                              [state.map { .text($0.rawValue) }, beforeID?.sql], limit: limit)
            }
        }
    }

    static func jobs(_ c: PostgresConnection, where condition: String, _ params: [PostgresValue?], limit: Int = 1000) throws -> [JobRecord] {
        let rows = try c.query("""
            SELECT j.*,
                coalesce((SELECT string_agg(a.name, E'\\n' ORDER BY a.name) FROM job_dependencies d JOIN jobs a ON a.id = d.after_job_id
                          WHERE d.job_id = j.id), '') AS after_names,
                coalesce((SELECT string_agg(s.state || '=' || s.n, ',') FROM
                          (SELECT state, count(*) AS n FROM tasks WHERE job_id = j.id GROUP BY state) s), '') AS counts
            FROM jobs j WHERE \(condition)
            ORDER BY j.id DESC LIMIT \(max(1, min(limit, 10_000)))
            """, params)
        return try rows.map { row in
            var counts: [String: Int] = [:]
            for part in try row.string("counts").split(separator: ",") {
                let kv = part.split(separator: "=")
                if kv.count == 2, let n = Int(kv[1]) { counts[String(kv[0])] = n }
            }
            let after = try row.string("after_names")
            return JobRecord(
                id: JobID(try row.int64("id")), name: try row.string("name"), type: try row.string("type"),
                spec: try row.json("spec"), queue: try row.string("queue"), priority: try row.int("priority"),
                replicas: try row.int("replicas"), resources: try row.resources(),
                nodeSelector: try StoreJSON.labels(try row.string("node_selector"), column: "node_selector"),
                retryPolicy: RetryPolicy(maxAttempts: try row.int("max_attempts"),
                                         initialBackoffSeconds: try row.double("initial_backoff_seconds"),
                                         maxBackoffSeconds: try row.double("max_backoff_seconds"),
                                         multiplier: try row.double("backoff_multiplier")),
                state: try row.jobState("state"), cancelRequested: try row.bool("cancel_requested"),
                pendingReason: try row.optionalString("pending_reason"), submittedAt: try row.date("submitted_at"),
                startedAt: try row.optionalDate("started_at"), finishedAt: try row.optionalDate("finished_at"),
                after: after.isEmpty ? [] : after.split(separator: "\n").map(String.init), taskCounts: counts)
        }
    }

    /// The job's tasks in index order.
    public func tasks(of job: JobID) throws -> [TaskRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query("SELECT * FROM tasks WHERE job_id = $1 ORDER BY task_index", [job.sql]).map(Self.task)
            }
        }
    }

    public func task(_ id: TaskID) throws -> TaskRecord? {
        try pool.withConnection { try Self.task($0, id) }
    }

    /// The same inside the caller's transaction.
    static func task(_ c: PostgresConnection, _ id: TaskID) throws -> TaskRecord? {
        try c.queryFirst("SELECT * FROM tasks WHERE id = $1", [id.sql]).map(Self.task)
    }

    /// The attempts (leases) of a task, oldest first.
    public func attempts(of task: TaskID) throws -> [AttemptRecord] {
        try pool.withConnection { c in
            try c.query("""
                SELECT a.*, w.name AS worker_name FROM task_attempts a LEFT JOIN workers w ON w.id = a.worker_id
                WHERE a.task_id = $1 ORDER BY a.number
                """, [task.sql]).map { row in
                AttemptRecord(id: AttemptID(try row.int64("id")), task: TaskID(try row.int64("task_id")), number: try row.int("number"),
                              worker: WorkerID(try row.int64("worker_id")), workerName: try row.optionalString("worker_name"),
                              state: AttemptState(rawValue: try row.string("state")) ?? .failed,
                              leaseDeadline: try row.date("lease_deadline"), startedAt: try row.date("started_at"),
                              finishedAt: try row.optionalDate("finished_at"), error: try row.optionalString("error"))
            }
        }
    }

    static func task(_ row: PostgresRow) throws -> TaskRecord {
        TaskRecord(id: TaskID(try row.int64("id")), jobID: JobID(try row.int64("job_id")), index: try row.int("task_index"),
                   spec: try row.json("spec"), resources: try row.resources(), state: try row.taskState("state"),
                   attempts: try row.int("attempts"), notBefore: try row.date("not_before"),
                   placedWorker: try row.optionalInt64("placed_worker_id").map(WorkerID.init),
                   worker: try row.optionalInt64("worker_id").map(WorkerID.init),
                   activeAttempt: try row.optionalInt64("active_attempt_id").map(AttemptID.init),
                   result: try row.optionalString("result"), error: try row.optionalString("error"),
                   startedAt: try row.optionalDate("started_at"), finishedAt: try row.optionalDate("finished_at"),
                   progress: try row.optionalDouble("progress"), progressMessage: try row.optionalString("progress_message"))
    }

    // MARK: Cancelling

    /// Cancels a job: its unfinished tasks become cancelled, active attempts are ended (workers learn
    /// it from their next heartbeat or report), dependents follow their `after:` policy. Cancelling a
    /// finished job changes nothing. Returns the job as it is afterwards.
    @discardableResult
    public func cancel(_ job: JobID, reason: String = "cancelled by user") throws -> JobRecord {
        try pool.idempotentTransaction { c in
            guard let row = try c.queryFirst("SELECT state FROM jobs WHERE id = $1", [job.sql]) else {
                throw StoreError.unknownJob("with id \(job)")
            }
            if try row.jobState("state").isTerminal { return try Self.jobs(c, where: "j.id = $1", [job.sql])[0] }
            // Tasks first (the same lock order as lease reports), then the job row.
            try c.execute("""
                UPDATE task_attempts SET state = 'cancelled', finished_at = now(), error = $2
                WHERE state = 'active' AND task_id IN (SELECT id FROM tasks WHERE job_id = $1)
                """, [job.sql, .text(reason)])
            try TaskTransitions.move(c, where: "job_id = $1", [job.sql], from: [.blocked, .queued, .running], event: .cancelled,
                                     assignments: "worker_id = NULL, active_attempt_id = NULL, finished_at = now()", reason: reason)
            try c.execute("UPDATE jobs SET cancel_requested = true, pending_reason = NULL WHERE id = $1", [job.sql])
            try JobLifecycle.refresh(c, jobs: [job.rawValue])
            return try Self.jobs(c, where: "j.id = $1", [job.sql])[0]
        }
    }
}
