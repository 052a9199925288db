import ClusterModel

// Errors of the store layer. Each says what was wrong and what to do; the REST layer maps them to
// HTTP statuses (see `httpStatus`).

public enum StoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Bad input; `field` names the offending field (`jobs[1].tasks[0].spec`).
    case invalid(field: String, message: String)
    case unknownJob(String)
    case unknownWorker(WorkerID)
    case unknownAttempt(AttemptID)
    case unknownDataset(String)
    /// `after:` names a job that neither exists nor is part of the submission.
    case unknownDependency(job: String, after: String)
    /// The `after:` edges form a cycle, listed in order (`a -> b -> a`).
    case dependencyCycle([String])
    /// A job with this name exists with a different definition (identical resubmission is a no-op).
    case jobNameTaken(String)
    /// The report names an attempt that is no longer the task's active lease (expired, superseded,
    /// cancelled, or finished differently). Nothing was changed. HTTP 409.
    case staleAttempt(AttemptID, state: String)
    /// A worker reported on an attempt held by another worker. HTTP 403.
    case attemptNotOwned(AttemptID, by: WorkerID)
    /// The worker is lost or drained and may not take work; heartbeat or register again. HTTP 409.
    case workerNotAlive(WorkerID, state: String)
    /// Something registered once (shard, artifact, dataset) was registered again with different content.
    case conflict(what: String, message: String)

    public var description: String {
        switch self {
        case .invalid(let field, let message): return "\(field): \(message)"
        case .unknownJob(let name): return "no job \(name)"
        case .unknownWorker(let id): return "no worker with id \(id); register the worker first"
        case .unknownAttempt(let id): return "no attempt with id \(id)"
        case .unknownDataset(let name): return "no dataset \(name); register it first"
        case .unknownDependency(let job, let after):
            return "job \(job): after: names \"\(after)\", which is neither an existing job nor part of this submission"
        case .dependencyCycle(let names):
            return "after: dependencies form a cycle: \(names.joined(separator: " -> ")); remove one of these edges"
        case .jobNameTaken(let name):
            return "a job named \"\(name)\" already exists with a different definition; choose another name"
        case .staleAttempt(let id, let state):
            return
                "attempt \(id) is no longer the active lease (it is \(state)); drop the task, the report was not applied"
        case .attemptNotOwned(let id, let worker):
            return "attempt \(id) is not held by worker \(worker)"
        case .workerNotAlive(let id, let state):
            return "worker \(id) is \(state); heartbeat or register again before claiming work"
        case .conflict(let what, let message): return "\(what): \(message)"
        }
    }

    /// The HTTP status the REST API should answer with.
    public var httpStatus: Int {
        switch self {
        case .invalid, .unknownDependency, .dependencyCycle: return 400
        case .unknownJob, .unknownWorker, .unknownAttempt, .unknownDataset: return 404
        case .attemptNotOwned: return 403
        case .jobNameTaken, .staleAttempt, .workerNotAlive, .conflict: return 409
        }
    }
}
