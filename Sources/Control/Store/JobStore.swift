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
    /// Tasks only the scheduler places (never a claim's fast path): an admission check may hold the job
    /// (`AdmissionChecks`).
    public var placedByScheduler = false

    public init(
        name: String, type: String, spec: String = "{}", queue: String = "default", priority: Int = 0,
        replicas: Int = 1, resources: Resources = .zero, retryPolicy: RetryPolicy = RetryPolicy(),
        after: [Dependency] = [], nodeSelector: Labels = [:], tasks: [NewTask] = [], readsLocations: [String] = []
    ) {
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

public struct StoredSubmission: Sendable, Equatable {
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
    public func submit(_ job: NewJob) throws -> StoredSubmission {
        try submit([job])[0]
    }

    /// Submits jobs atomically (a pipeline): inserts jobs, tasks (blocked while they have unfinished
    /// dependencies, else queued) and dependency edges in one transaction. `after:` may name existing
    /// jobs or jobs of this submission. Unknown names, cycles and invalid fields throw and change
    /// nothing. Resubmitting an identical job (same name, type, spec) returns it with `created == false`.
    public func submit(_ jobs: [NewJob]) throws -> [StoredSubmission] {
        try submit(jobs, configuring: [])
    }

    /// Like `submit(_:)`, and upserts `queues` in the same transaction (a manifest file's `kind: Queue`
    /// documents): a bad job leaves the queues as they were.
    public func submit(_ jobs: [NewJob], configuring queues: [QueueSpec]) throws -> [StoredSubmission] {
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

    func validate(_ jobs: [NewJob]) throws {
        var seen = Set<String>()
        for (i, job) in jobs.enumerated() {
            let path = jobs.count == 1 ? "job" : "jobs[\(i)]"
            guard !job.name.isEmpty, job.name.count <= 200 else {
                throw StoreError.invalid(field: "\(path).name", message: "expected a name of 1 to 200 characters")
            }
            guard seen.insert(job.name).inserted else {
                throw StoreError.invalid(
                    field: "\(path).name", message: "\"\(job.name)\" appears twice in this submission")
            }
            guard !job.type.isEmpty else {
                throw StoreError.invalid(field: "\(path).type", message: "expected a job type")
            }
            guard job.replicas >= 1 else {
                throw StoreError.invalid(
                    field: "\(path).replicas", message: "expected an integer >= 1, got \(job.replicas)")
            }
            guard job.resources.isNonNegative else {
                throw StoreError.invalid(
                    field: "\(path).resources", message: "expected non-negative amounts, got \(job.resources)")
            }
            guard job.retryPolicy.maxAttempts >= 1 else {
                throw StoreError.invalid(
                    field: "\(path).retry.maxAttempts",
                    message: "expected an integer >= 1, got \(job.retryPolicy.maxAttempts)")
            }
            guard job.retryPolicy.initialBackoffSeconds >= 0, job.retryPolicy.maxBackoffSeconds >= 0,
                job.retryPolicy.multiplier >= 1
            else {
                throw StoreError.invalid(
                    field: "\(path).retry", message: "expected backoff seconds >= 0 and multiplier >= 1")
            }
            try StoreJSON.validate(job.spec, field: "\(path).spec")
            for (t, task) in job.tasks.enumerated() {
                try StoreJSON.validate(task.spec, field: "\(path).tasks[\(t)].spec")
            }
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

    private func insert(_ jobs: [NewJob], _ c: PostgresConnection) throws -> [StoredSubmission] {
        let existing = try identicalExistingJobs(jobs, c)
        let known = try knownDependencies(of: jobs, c)
        var ids: [String: Int64] = existing
        var withDependencies: [Int64] = []
        var anyQueued = false
        // Insert in dependency order is unnecessary: edges go in after all jobs exist.
        for job in jobs where existing[job.name] == nil {
            let id = try Self.insertJobAndTasks(job, c)
            ids[job.name] = id
            if job.after.isEmpty { anyQueued = true } else { withDependencies.append(id) }
        }
        for job in jobs where existing[job.name] == nil {
            for dependency in job.after {
                try c.execute(
                    JobSQL.insertDependency,
                    [
                        .int(ids[job.name]!), .int(ids[dependency.jobName] ?? known[dependency.jobName]!),
                        .text(dependency.onFailure.rawValue),
                    ])
            }
        }
        // Dependencies that are already finished release (or cancel) the new jobs right away.
        let cancelled = try JobLifecycle.evaluate(c, jobs: withDependencies)
        try JobLifecycle.refresh(c, jobs: cancelled)
        if anyQueued { try c.notify(channel: StoreChannel.taskRunnable) }
        return jobs.map { StoredSubmission(id: JobID(ids[$0.name]!), name: $0.name, created: existing[$0.name] == nil) }
    }

    /// Existing jobs with these names: identical ones make the resubmission a no-op; a different one is refused.
    func identicalExistingJobs(_ jobs: [NewJob], _ c: PostgresConnection) throws -> [String: Int64] {
        var existing: [String: Int64] = [:]
        for (i, job) in jobs.enumerated() {
            guard
                let row = try c.queryFirst(JobSQL.sameDefinition, [.text(job.name), .text(job.type), .json(job.spec)])
            else { continue }
            guard try row.bool("same") else { throw StoreError.jobNameTaken(jobs[i].name) }
            existing[job.name] = try row.int64("id")
        }
        return existing
    }

    /// The ids of `after:` names outside this submission; every one must be in the database.
    func knownDependencies(of jobs: [NewJob], _ c: PostgresConnection) throws -> [String: Int64] {
        let names = jobs.map(\.name)
        let afterNames = Set(jobs.flatMap { $0.after.map(\.jobName) }).subtracting(names)
        var known: [String: Int64] = [:]
        if !afterNames.isEmpty {
            for row in try c.query(JobSQL.idsByName, [.textArray(Array(afterNames))]) {
                known[try row.string("name")] = try row.int64("id")
            }
        }
        for job in jobs {
            for dependency in job.after where !names.contains(dependency.jobName) && known[dependency.jobName] == nil {
                throw StoreError.unknownDependency(job: job.name, after: dependency.jobName)
            }
        }
        return known
    }

    /// Inserts one job (state pending, a `submitted` event) and its tasks, blocked while it has dependencies.
    static func insertJobAndTasks(_ job: NewJob, _ c: PostgresConnection) throws -> Int64 {
        let r = job.resources
        let policy = job.retryPolicy
        let blocked = !job.after.isEmpty
        let id: Int64
        do {
            id = try c.queryOne(
                JobSQL.insert,
                [
                    .text(job.name), .text(job.type), .json(job.spec), .text(job.queue), .int(Int64(job.priority)),
                    .int(Int64(job.replicas)), .int(r.cpuMillis), .int(r.memoryBytes),
                    .json(StoreJSON.encode(accelerators: r.accelerators)),
                    .json(StoreJSON.encode(job.nodeSelector)),
                    .int(Int64(policy.maxAttempts)), .double(policy.initialBackoffSeconds),
                    .double(policy.maxBackoffSeconds), .double(policy.multiplier),
                    .text(blocked ? "waiting for \(job.after.map(\.jobName).joined(separator: ", "))" : "queued"),
                    .textArray(job.readsLocations),
                ]
            ).int64("id")
        } catch let error as PostgresError where error.isUniqueViolation {
            throw StoreError.jobNameTaken(job.name)
        }
        try Events.record(c, .job, id, job: id, from: nil, to: JobState.pending.rawValue, reason: "submitted")
        let specs = job.tasks.isEmpty ? Array(repeating: "{}", count: job.replicas) : job.tasks.map(\.spec)
        let initial: TaskState = blocked ? .blocked : .queued
        try c.execute(
            TaskSQL.insert,
            [
                .int(id), .textArray(specs), .int(r.cpuMillis), .int(r.memoryBytes),
                .json(StoreJSON.encode(accelerators: r.accelerators)), .int(Int64(job.priority)),
                .bool(job.replicas > 1), .text(initial.rawValue), .json(StoreJSON.encode(job.nodeSelector)),
                .bool(!job.readsLocations.isEmpty || job.placedByScheduler), .text(job.type),
            ])
        return id
    }

    // MARK: Reading

    public func job(_ id: JobID) throws -> JobRecord? {
        try pool.retryingOnConnectionLoss { try pool.withConnection { try Self.job($0, id) } }
    }

    public func job(named name: String) throws -> JobRecord? {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { try $0.queryFirst(JobSQL.byName, [.text(name)]).map(JobRecord.init(row:)) }
        }
    }

    /// Jobs, newest first, optionally filtered by state and queue; page with `beforeID`.
    public func list(state: JobState? = nil, queue: String? = nil, limit: Int = 100, beforeID: JobID? = nil) throws
        -> [JobRecord]
    {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection {
                try $0.query(
                    JobSQL.page,
                    [
                        state.map { .text($0.rawValue) }, beforeID?.sql, .int(Int64(max(1, min(limit, 10_001)))),
                        queue.map { .text($0) },
                    ]
                )
                .map(JobRecord.init(row:))
            }
        }
    }

    /// The same inside the caller's transaction.
    static func job(_ c: PostgresConnection, _ id: JobID) throws -> JobRecord? {
        try c.queryFirst(JobSQL.byID, [id.sql]).map(JobRecord.init(row:))
    }

    /// The job's tasks in index order.
    public func tasks(of job: JobID) throws -> [TaskRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(TaskSQL.ofJob, [job.sql]).map(TaskRecord.init(row:))
            }
        }
    }

    public func task(_ id: TaskID) throws -> TaskRecord? {
        try pool.withConnection { try Self.task($0, id) }
    }

    /// The same inside the caller's transaction.
    static func task(_ c: PostgresConnection, _ id: TaskID) throws -> TaskRecord? {
        try c.queryFirst(TaskSQL.byID, [id.sql]).map(TaskRecord.init(row:))
    }

    /// The attempts (leases) of a task, oldest first.
    public func attempts(of task: TaskID) throws -> [AttemptRecord] {
        try pool.withConnection { c in
            try c.query(AttemptSQL.ofTask, [task.sql]).map(AttemptRecord.init(row:))
        }
    }

    // MARK: Cancelling

    /// Cancels a job: its unfinished tasks become cancelled, active attempts are ended (workers learn
    /// it from their next heartbeat or report), dependents follow their `after:` policy. Cancelling a
    /// finished job changes nothing. Returns the job as it is afterwards.
    @discardableResult
    public func cancel(_ job: JobID, reason: String = "cancelled by user") throws -> JobRecord {
        try pool.idempotentTransaction { c in
            guard let row = try c.queryFirst(JobSQL.state, [job.sql]) else {
                throw StoreError.unknownJob("with id \(job)")
            }
            if try row.jobState("state").isTerminal { return try Self.job(c, job)! }
            // Attempts, then tasks, then the job row, each by id: the global lock order (docs/postgres-store.md,
            // "Lock order"), which lease reports, expiry and the dependency cascade follow too.
            try c.execute(AttemptSQL.cancelOfJob, [job.sql, .text(reason)])
            try TaskTransitions.move(
                c, .job, job.sql, from: [.blocked, .queued, .running], event: .cancelled,
                assignments: .cancelled, reason: reason)
            try c.execute(JobSQL.requestCancel, [job.sql])
            try JobLifecycle.refresh(c, jobs: [job.rawValue])
            return try Self.job(c, job)!
        }
    }
}
