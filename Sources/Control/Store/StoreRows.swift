import APITypes
import ClusterModel
import Foundation
import Postgres
import Scheduler

// Each row shape the stores read, decoded in one place: `init(row:)` names the columns of the statement
// (in Store/SQL/) that produces it.

extension JobRecord {
    /// A row of `JobSQL.byID`, `byName` or `page`.
    init(row: PostgresRow) throws {
        var counts: [String: Int] = [:]
        for part in try row.string("counts").split(separator: ",") {
            let kv = part.split(separator: "=")
            if kv.count == 2, let n = Int(kv[1]) { counts[String(kv[0])] = n }
        }
        let after = try row.string("after_names")
        self.init(
            id: JobID(try row.int64("id")), name: try row.string("name"), type: try row.string("type"),
            spec: try row.json("spec"), queue: try row.string("queue"), priority: try row.int("priority"),
            replicas: try row.int("replicas"), resources: try row.resources(),
            nodeSelector: try StoreJSON.labels(try row.string("node_selector"), column: "node_selector"),
            retryPolicy: try RetryPolicy(row: row),
            state: try row.jobState("state"), cancelRequested: try row.bool("cancel_requested"),
            pendingReason: try row.optionalString("pending_reason"), submittedAt: try row.date("submitted_at"),
            startedAt: try row.optionalDate("started_at"), finishedAt: try row.optionalDate("finished_at"),
            after: after.isEmpty ? [] : after.split(separator: "\n").map(String.init), taskCounts: counts,
            endReason: try row.optionalString("end_reason"))
    }
}

extension RetryPolicy {
    /// The retry columns of a `jobs` row (`JobSQL.byID`, `AttemptSQL.lockForFailure`, `AttemptSQL.lockExpired`).
    init(row: PostgresRow) throws {
        self.init(
            maxAttempts: try row.int("max_attempts"), initialBackoffSeconds: try row.double("initial_backoff_seconds"),
            maxBackoffSeconds: try row.double("max_backoff_seconds"), multiplier: try row.double("backoff_multiplier"))
    }
}

extension TaskRecord {
    /// A whole `tasks` row (`TaskSQL.byID`, `TaskSQL.ofJob`).
    init(row: PostgresRow) throws {
        self.init(
            id: TaskID(try row.int64("id")), jobID: JobID(try row.int64("job_id")), index: try row.int("task_index"),
            spec: try row.json("spec"), resources: try row.resources(), state: try row.taskState("state"),
            attempts: try row.int("attempts"), notBefore: try row.date("not_before"),
            placedWorker: try row.optionalInt64("placed_worker_id").map(WorkerID.init),
            worker: try row.optionalInt64("worker_id").map(WorkerID.init),
            activeAttempt: try row.optionalInt64("active_attempt_id").map(AttemptID.init),
            result: try row.optionalString("result"), error: try row.optionalString("error"),
            startedAt: try row.optionalDate("started_at"), finishedAt: try row.optionalDate("finished_at"),
            progress: try row.optionalDouble("progress"), progressMessage: try row.optionalString("progress_message"))
    }
}

extension AttemptRecord {
    /// A row of `AttemptSQL.ofTask`.
    init(row: PostgresRow) throws {
        self.init(
            id: AttemptID(try row.int64("id")), task: TaskID(try row.int64("task_id")), number: try row.int("number"),
            worker: WorkerID(try row.int64("worker_id")), workerName: try row.optionalString("worker_name"),
            state: AttemptState(rawValue: try row.string("state")) ?? .failed,
            leaseDeadline: try row.date("lease_deadline"), startedAt: try row.date("started_at"),
            finishedAt: try row.optionalDate("finished_at"), error: try row.optionalString("error"),
            tokensLost: try row.optionalInt64("tokens_lost"))
    }
}

extension WorkerRecord {
    /// A row of `WorkerSQL.all`, `byID` or `byName`.
    init(row: PostgresRow) throws {
        var allocated = Resources(
            cpuMillis: try row.int64("allocated_cpu"), memoryBytes: try row.int64("allocated_memory"))
        for entry in try StoreJSON.acceleratorList(
            try row.string("allocated_accelerators"), column: "allocated_accelerators")
        {
            for (type, count) in entry { allocated.accelerators[type, default: 0] += count }
        }
        self.init(
            id: WorkerID(try row.int64("id")), name: try row.string("name"), resources: try row.resources(),
            labels: try StoreJSON.labels(try row.string("labels"), column: "labels"),
            state: WorkerState(rawValue: try row.string("state")) ?? .lost,
            registeredAt: try row.date("registered_at"), lastHeartbeat: try row.date("last_heartbeat"),
            runningTasks: try row.int("running"), allocated: allocated, version: try row.string("version"),
            kinds: try StoreJSON.strings(try row.string("kinds_json"), column: "kinds"),
            cachedShards: try StoreJSON.strings(try row.string("cached_json"), column: "cached_shards"))
    }
}

extension EventRecord {
    /// A whole `events` row.
    init(row: PostgresRow) throws {
        self.init(
            id: try row.int64("id"), at: try row.date("at"), entity: try row.string("entity"),
            entityID: try row.int64("entity_id"), job: try row.optionalInt64("job_id").map(JobID.init),
            oldState: try row.optionalString("old_state"), newState: try row.string("new_state"),
            reason: try row.string("reason"), actor: try row.optionalString("actor"),
            taskIDs: try row.optionalInt64Array("task_ids"))
    }
}

extension TaskLogRecord {
    /// A whole `task_logs` row.
    init(row: PostgresRow) throws {
        self.init(
            id: try row.int64("id"), job: JobID(try row.int64("job_id")), task: TaskID(try row.int64("task_id")),
            attempt: AttemptID(try row.int64("attempt_id")), attemptNumber: try row.int("attempt_number"),
            seq: try row.int64("seq"), at: try row.date("at"),
            stream: LogStream(rawValue: try row.string("stream")) ?? .stdout,
            line: try row.string("line"))
    }
}

extension MetricRecord {
    /// A whole `metrics` row.
    init(row: PostgresRow) throws {
        self.init(
            id: try row.int64("id"), job: JobID(try row.int64("job_id")), task: TaskID(try row.int64("task_id")),
            attempt: AttemptID(try row.int64("attempt_id")), name: try row.string("name"),
            step: try row.int64("step"), value: try row.double("value"), at: try row.date("at"))
    }
}

extension DatasetRecord {
    /// A whole `datasets` row.
    init(row: PostgresRow) throws {
        self.init(
            id: DatasetID(try row.int64("id")), name: try row.string("name"), location: try row.string("location"),
            format: try row.string("format"), metadata: try row.json("metadata"),
            job: try row.optionalInt64("job_id").map(JobID.init), createdAt: try row.date("created_at"))
    }
}

extension ShardRecord {
    /// A whole `shards` row.
    init(row: PostgresRow) throws {
        self.init(
            dataset: DatasetID(try row.int64("dataset_id")), index: try row.int("shard_index"),
            location: try row.string("location"), sha256: try row.string("sha256"), bytes: try row.int64("bytes"),
            tokens: try row.int64("tokens"), documents: try row.int64("documents"),
            state: ShardState(rawValue: try row.string("state")) ?? .bad,
            badReason: try row.optionalString("bad_reason"),
            createdAt: try row.date("created_at"))
        if let location = try row.optionalString("idx_location"), let sha = try row.optionalString("idx_sha256"),
            let bytes = try row.optionalInt64("idx_bytes")
        {
            idx = NewShard.IndexFile(location: location, sha256: sha, bytes: bytes)
        }
    }
}

extension StoredArtifact {
    /// A whole `artifacts` row.
    init(row: PostgresRow) throws {
        self.init(
            id: ArtifactID(try row.int64("id")), job: JobID(try row.int64("job_id")),
            task: try row.optionalInt64("task_id").map(TaskID.init), name: try row.string("name"),
            kind: try row.string("kind"), location: try row.string("location"), sha256: try row.string("sha256"),
            bytes: try row.int64("bytes"), metadata: try row.json("metadata"), createdAt: try row.date("created_at"))
    }
}

extension QueueRecord {
    /// A whole `queues` row; no quota when its cpu quota is NULL.
    init(row: PostgresRow) throws {
        var quota: Resources?
        if try row.optionalInt64("quota_cpu_millis") != nil { quota = try row.resources(prefix: "quota_") }
        self.init(
            configuration: QueueSpec(
                name: try row.string("name"), weight: try row.double("weight"), quota: quota,
                tokensPerDay: try row.optionalInt64("tokens_per_day")),
            updatedAt: try row.date("updated_at"))
    }
}

extension QueueUsage {
    /// A row of `QueueSQL.usage`.
    init(row: PostgresRow) throws {
        self.init(
            queue: try row.string("queue"), runningTasks: try row.int("running"), pendingTasks: try row.int("pending"))
    }
}

extension QueuedTask {
    /// A row of `TaskSQL.queued`.
    init(row: PostgresRow) throws {
        self.init(
            task: TaskID(try row.int64("id")), job: JobID(try row.int64("job_id")), jobName: try row.string("name"),
            queue: try row.string("queue"), priority: try row.int("priority"), replicas: try row.int("replicas"),
            index: try row.int("task_index"), resources: try row.resources(),
            nodeSelector: try StoreJSON.labels(try row.string("node_selector"), column: "node_selector"),
            placedWorker: try row.optionalInt64("placed_worker_id").map(WorkerID.init),
            submittedAt: try row.date("submitted_at"))
    }
}

extension PendingPreemption {
    /// A row of `AttemptSQL.pendingPreemptions`.
    init(row: PostgresRow) throws {
        self.init(
            attempt: AttemptID(try row.int64("id")), task: TaskID(try row.int64("task_id")),
            deadline: try row.date("preempt_deadline"), reason: try row.string("reason"))
    }
}

extension WorkerSnapshot {
    /// A row of `WorkerSQL.alive` (its kinds are read beside it: the scheduler knows labels, not kinds).
    init(row: PostgresRow) throws {
        self.init(
            id: WorkerID(try row.int64("id")), capacity: try row.resources(),
            labels: try StoreJSON.labels(try row.string("labels"), column: "labels"),
            cachedShards: try row.optionalString("cached").map { try StoreJSON.strings($0, column: "cached_shards") }
                ?? [])
    }
}

extension RunningAllocation {
    /// A row of `TaskSQL.allocations`.
    init(row: PostgresRow) throws {
        self.init(
            task: TaskID(try row.int64("id")), job: JobID(try row.int64("job_id")),
            worker: WorkerID(try row.int64("worker_id")), resources: try row.resources(),
            priority: try row.int("priority"), queue: try row.string("queue"),
            startedAt: try row.double("started"), isGangMember: try row.bool("gang"),
            preemptionDeadline: try row.optionalDouble("preempt_deadline"),
            tokensSinceCheckpoint: try row.optionalInt64("tokens_since_checkpoint"),
            lastCheckpointAt: try row.optionalDouble("checkpointed_at"))
    }
}
