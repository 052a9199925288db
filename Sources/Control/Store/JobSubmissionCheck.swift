import ClusterModel
import Foundation
import Postgres

extension JobStore {
    /// What `submit(_:configuring:)` would say, without writing (`opsctl apply --dry-run`): the same checks (fields,
    /// cycles, a name held by a job with another spec, `after:` names that exist nowhere) in one read-only
    /// transaction, so a dry run reports the conflict a real apply would. Returns the names of jobs that exist with
    /// the same spec already (a real apply leaves them unchanged).
    public func check(_ jobs: [NewJob], configuring queues: [QueueSpec]) throws -> Set<String> {
        try validate(jobs)
        try QueueStore.validate(queues)
        return try pool.idempotentTransaction { c in
            let existing = try identicalExistingJobs(jobs, c)
            _ = try knownDependencies(of: jobs, c)
            return Set(existing.keys)
        }
    }
}
