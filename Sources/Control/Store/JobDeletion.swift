import ClusterModel
import Foundation
import Postgres

/// What deleting a job removed (`JobStore.delete(named:withArtifacts:)`).
public struct JobDeletionRecord: Sendable, Equatable {
    public var id: JobID
    public var name: String
    public var deletedTasks: Int
    public var deletedArtifacts: Int
    public var keptArtifacts: Int
}

extension JobStore {
    /// Deletes the finished job `name` with its tasks, attempts, logs, metrics and events, in one transaction; its
    /// artifacts are deleted with it only when `withArtifacts` (else kept, carrying its name), its datasets stay.
    /// Refuses (nothing changed) an unknown name, an unfinished job, and a job that unfinished jobs wait for. One
    /// event (`job` → `deleted`, no job id, so it outlives the job's own events) records the deletion.
    public func delete(named name: String, withArtifacts: Bool) throws -> JobDeletionRecord {
        try pool.transaction { c in
            guard let row = try c.queryFirst(JobDeletionSQL.byName, [.text(name)]) else {
                throw StoreError.unknownJob("named \(name); `opsctl get jobs` lists them")
            }
            let id = JobID(try row.int64("id"))
            let tasks = try c.query(JobDeletionSQL.lockTasks, [id.sql]).count
            guard let locked = try c.queryFirst(JobDeletionSQL.lockJob, [id.sql]) else {
                throw StoreError.unknownJob("named \(name); `opsctl get jobs` lists them")
            }
            let state = try locked.jobState("state")
            guard state.isTerminal else { throw Self.unfinished(name, state: state) }
            try Self.refuseIfAwaited(c, id, name: name)
            for statement in [JobDeletionSQL.deleteEvents, JobDeletionSQL.deleteLogs, JobDeletionSQL.deleteMetrics] {
                try c.execute(statement, [id.sql])
            }
            let deletedArtifacts = try withArtifacts ? c.execute(JobDeletionSQL.deleteArtifacts, [id.sql]) : 0
            let keptArtifacts = try withArtifacts ? 0 : c.execute(JobDeletionSQL.keepArtifacts, [id.sql, .text(name)])
            try c.execute(JobDeletionSQL.deleteJob, [id.sql])
            try Events.record(
                c, .job, id.rawValue, job: nil, from: state.rawValue, to: "deleted",
                reason:
                    "job \(name) deleted with \(tasks) task(s); \(deletedArtifacts) artifact(s) deleted, \(keptArtifacts) kept"
            )
            return JobDeletionRecord(
                id: id, name: name, deletedTasks: tasks, deletedArtifacts: deletedArtifacts,
                keptArtifacts: keptArtifacts)
        }
    }

    /// Throws when unfinished jobs wait for job `id` (`after:`): deleting it would leave them waiting for a job
    /// that no longer exists. Read on its own before `--force` cancels anything, so a refusal changes nothing.
    public func refuseIfAwaited(_ id: JobID, name: String) throws {
        try pool.withConnection { try Self.refuseIfAwaited($0, id, name: name) }
    }

    private static func refuseIfAwaited(_ c: PostgresConnection, _ id: JobID, name: String) throws {
        let waiting = try c.query(JobDeletionSQL.unfinishedDependents, [id.sql]).map { try $0.string("name") }
        guard waiting.isEmpty else {
            throw StoreError.conflict(
                what: "job \(name)",
                message:
                    "unfinished jobs wait for it (after:): \(waiting.prefix(10).joined(separator: ", "))\(waiting.count > 10 ? ", …" : ""); delete or cancel them first, or wait until they finish"
            )
        }
    }

    private static func unfinished(_ name: String, state: JobState) -> StoreError {
        .conflict(
            what: "job \(name)",
            message:
                "it is \(state.rawValue); cancel it first (`opsctl cancel \(name)`), or delete it with `opsctl delete job \(name) --force` (`?force=true`), which cancels it and then deletes it"
        )
    }
}
