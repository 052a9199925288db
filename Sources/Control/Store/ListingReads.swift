import ClusterModel
import Foundation
import Postgres

// The pages the list routes read (`ListingSQL`, `JobSQL.page`, `EventSQL.newestFirst`): each one statement
// with its filters and LIMIT in SQL, plus one statement for the attempts of a whole page of tasks.

/// A task of a listing with its job's name (from the same row).
public struct ListedTask: Sendable, Equatable {
    public var task: TaskRecord
    public var jobName: String
}

extension JobStore {
    /// Tasks newest job first, each job's in index order, after the position (`afterJob`, `afterTask`) when given.
    public func tasksPage(
        job: JobID?, state: TaskState?, afterJob: Int64?, afterTask: Int64?, limit: Int
    ) throws -> [ListedTask] {
        precondition(limit >= 1 && limit <= 10_001, "tasks page of \(limit) rows")
        return try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(
                    ListingSQL.page,
                    [
                        job?.sql, state.map { .text($0.rawValue) }, afterJob.map { .int($0) },
                        .int(afterTask ?? 0), .int(Int64(limit)),
                    ]
                ).map { ListedTask(task: try TaskRecord(row: $0), jobName: try $0.string("job_name")) }
            }
        }
    }

    /// The attempts of `tasks`, oldest first per task, in one statement (a page of 500 tasks was 500 queries).
    public func attempts(ofTasks tasks: [TaskID]) throws -> [TaskID: [AttemptRecord]] {
        guard !tasks.isEmpty else { return [:] }
        let rows = try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(ListingSQL.attemptsOfTasks, [.intArray(tasks.map(\.rawValue))])
                    .map(AttemptRecord.init(row:))
            }
        }
        return Dictionary(grouping: rows, by: \.task)
    }
}

extension EventStore {
    /// Events newest first (of `job` when given), with ids above `afterID` and below `beforeID` (when given).
    public func newestFirst(job: JobID?, afterID: Int64, beforeID: Int64?, limit: Int) throws -> [EventRecord] {
        precondition(limit >= 1 && limit <= 10_001, "events page of \(limit) rows")
        var params: [PostgresValue?] = [.int(afterID), beforeID.map { .int($0) }, .int(Int64(limit))]
        if let job { params.append(job.sql) }
        let statement = job == nil ? EventSQL.newestFirst : EventSQL.ofJobNewestFirst
        return try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in try c.query(statement, params).map(EventRecord.init(row:)) }
        }
    }
}

extension WorkerStore {
    /// Workers by id (in `state` when given), after `afterID` when given.
    public func page(state: WorkerState?, afterID: Int64?, limit: Int) throws -> [WorkerRecord] {
        precondition(limit >= 1 && limit <= 10_001, "workers page of \(limit) rows")
        return try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(
                    ListingSQL.workersPage,
                    [state.map { .text($0.rawValue) }, afterID.map { .int($0) }, .int(Int64(limit))]
                ).map(WorkerRecord.init(row:))
            }
        }
    }
}

/// An artifact of a listing with its job's name (from the same row).
public struct ListedArtifact: Sendable, Equatable {
    public var artifact: StoredArtifact
    public var jobName: String
}

extension ArtifactCatalog {
    /// Artifacts newest first (of `job`, called `name`, when given), before `beforeID` when given.
    public func page(job: JobID?, name: String?, beforeID: Int64?, limit: Int) throws -> [ListedArtifact] {
        precondition(limit >= 1 && limit <= 10_001, "artifacts page of \(limit) rows")
        return try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(
                    ListingSQL.artifactsPage,
                    [job?.sql, name.map { .text($0) }, beforeID.map { .int($0) }, .int(Int64(limit))]
                ).map { ListedArtifact(artifact: try StoredArtifact(row: $0), jobName: try $0.string("job_name")) }
            }
        }
    }
}

extension DatasetStore {
    /// Datasets by id, after `afterID` when given.
    public func page(afterID: Int64?, limit: Int) throws -> [DatasetRecord] {
        precondition(limit >= 1 && limit <= 10_001, "datasets page of \(limit) rows")
        return try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(ListingSQL.datasetsPage, [afterID.map { .int($0) }, .int(Int64(limit))])
                    .map(DatasetRecord.init(row:))
            }
        }
    }
}

extension ShardStore {
    /// Shards of `dataset` by index, after index `afterIndex` when given.
    public func page(dataset: DatasetID, afterIndex: Int64?, limit: Int) throws -> [ShardRecord] {
        precondition(limit >= 1 && limit <= 10_001, "shards page of \(limit) rows")
        return try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(ListingSQL.shardsPage, [dataset.sql, afterIndex.map { .int($0) }, .int(Int64(limit))])
                    .map(ShardRecord.init(row:))
            }
        }
    }
}
