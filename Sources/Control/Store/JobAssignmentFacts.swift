import ClusterModel
import Postgres

/// The facts of a job that every assignment of its tasks carries. They never change after submission.
public struct JobAssignmentFacts: Sendable, Equatable {
    public let maxAttempts: Int
    public let replicas: Int
    /// How many tasks the job has (its highest task index + 1).
    public let taskCount: Int
}

extension JobStore {
    /// The assignment facts of `job` in one index probe (`JobSQL.assignmentFacts`), nil for an unknown job.
    public func assignmentFacts(_ job: JobID) throws -> JobAssignmentFacts? {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.queryFirst(JobSQL.assignmentFacts, [job.sql]).map {
                    JobAssignmentFacts(
                        maxAttempts: try $0.int("max_attempts"), replicas: try $0.int("replicas"),
                        taskCount: try $0.int("task_count"))
                }
            }
        }
    }
}
