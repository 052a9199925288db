import APITypes
import ClusterModel
import Foundation
import HTTPServer

// The worker protocol: register, heartbeat, long-poll for work, report, deregister.
// Every call after registration carries the worker's own token and names its worker id; the id must match.

enum WorkerRoutes {
    static func routes(_ services: ControlServices) -> [Route] {
        [
            Route("POST", APIRoute.workerRegister, .registration) { try register($0, services) },
            Route("POST", APIRoute.workerHeartbeat, .worker) { try heartbeat($0, services) },
            Route("POST", APIRoute.workerPoll, .worker) { try poll($0, services) },
            Route("POST", APIRoute.workerReports, .worker) { try reports($0, services) },
            Route("POST", APIRoute.workerDeregister, .worker) { try deregister($0, services) },
        ]
    }

    static func register(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(RegisterWorkerRequest.self)
        if let problem = request.resources.limitViolation(prefix: "resources") {
            throw APIErrorBody(code: .badRequest, message: "\(problem); a worker offers what one machine has")
        }
        let token = Secret.random()
        let worker = try services.workers.register(name: request.name, resources: request.resources,
                                                   labels: request.labels, tokenHash: token.hashHex,
                                                   version: request.version, kinds: request.kinds)
        services.workerTokens.forget(worker: worker)
        return .wire(RegisterWorkerResponse(workerID: worker, heartbeatIntervalSeconds: services.configuration.heartbeatSeconds,
                                            leaseDurationSeconds: services.configuration.leaseSeconds, workerToken: token.value))
    }

    static func heartbeat(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(HeartbeatRequest.self)
        try context.authorizeWorker(request.workerID)
        let held = request.attempts.filter { !$0.finished }
        let result = try services.workers.heartbeat(request.workerID, holding: held.map(\.attemptID),
                                                    extending: .listed(request.attempts.map(\.attemptID)),
                                                    cachedShards: request.cachedShards)
        if request.draining { try services.workers.requestDrain(request.workerID) }
        // The store extends every lease the worker listed by its own lease length; the deadline shown is this
        // replica's estimate of the database's (they share a clock on one machine, within ms elsewhere).
        let deadline = Date().addingTimeInterval(services.configuration.leaseSeconds)
        let tasksByAttempt = Dictionary(request.attempts.map { ($0.attemptID, $0.taskID) }, uniquingKeysWith: { a, _ in a })
        let cancel = try result.stopAttempts.compactMap { attempt -> CancelSignal? in
            guard let task = tasksByAttempt[attempt] else { return nil }
            return CancelSignal(taskID: task, attemptID: attempt, reason: try stopReason(task: task, services))
        }
        let preempt = try services.store.placements.pendingPreemptions(of: request.workerID).map {
            PreemptSignal(taskID: $0.task, attemptID: $0.attempt, graceDeadline: $0.deadline, reason: $0.reason)
        }
        return .wire(HeartbeatResponse(leases: result.extendedAttempts.map { LeaseExtension(attemptID: $0, leaseDeadline: deadline) },
                                       cancel: cancel, preempt: preempt, staleAttempts: [],
                                       heartbeatIntervalSeconds: services.configuration.heartbeatSeconds))
    }

    private static func stopReason(task: TaskID, _ services: ControlServices) throws -> String {
        guard let record = try services.jobs.task(task) else { return "the task no longer exists" }
        switch record.state {
        case .cancelled: return "the job was cancelled"
        case .succeeded: return "the task already succeeded"
        default: return "the lease on this attempt ended (task is \(record.state.rawValue))"
        }
    }

    /// Long-poll: claim now; if nothing is runnable, sleep until a `task_runnable` notification (or the
    /// earliest backoff deadline) and try again, until the worker's wait time is used up.
    static func poll(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(PollRequest.self)
        try context.authorizeWorker(request.workerID)
        guard (1...1024).contains(request.maxTasks) else {
            throw APIErrorBody(code: .badRequest, message: "maxTasks: expected an integer in 1...1024, got \(request.maxTasks)")
        }
        let wait = min(max(0, request.waitSeconds), services.configuration.maxPollSeconds)
        let deadline = Date().addingTimeInterval(wait)
        while true {
            let channels = [StoreChannel.taskRunnable, StoreSignals.capacityFreed(on: request.workerID)]
            let seen = services.signals.generations(channels)
            let claimed = try services.leases.claimNext(for: request.workerID, limit: request.maxTasks,
                                                        leaseDuration: services.configuration.leaseSeconds)
            if !claimed.isEmpty {
                return .wire(PollResponse(assignments: try claimed.map { try assignment($0, services) }))
            }
            let now = Date()
            if now >= deadline { return .wire(PollResponse(assignments: [])) }
            var wakeAt = deadline
            if let next = try services.leases.nextRunnableAt() { wakeAt = min(wakeAt, max(next, now.addingTimeInterval(0.01))) }
            services.signals.wait(anyOf: seen, timeout: wakeAt.timeIntervalSince(now))
        }
    }

    static func assignment(_ lease: Control.TaskAssignment, _ services: ControlServices) throws -> APITypes.TaskAssignment {
        let info = try services.jobInfo.info(lease.job)
        var gang: GangInfo?
        if info.replicas > 1 {
            let peers = try services.jobs.tasks(of: lease.job).map { GangPeer(rank: $0.index, taskID: $0.id, workerID: $0.worker) }
            gang = GangInfo(rank: lease.taskIndex, size: info.replicas, peers: peers)
        }
        return APITypes.TaskAssignment(taskID: lease.task, attemptID: lease.attempt, attemptNumber: lease.attemptNumber,
                                       maxAttempts: info.maxAttempts, leaseDeadline: lease.leaseDeadline, jobID: lease.job,
                                       jobName: lease.jobName, jobType: lease.jobType, taskIndex: lease.taskIndex,
                                       taskCount: info.taskCount, spec: JSONText.parse(lease.spec) ?? .null,
                                       resources: lease.resources, gang: gang)
    }

    /// Applies a report batch, all or nothing (`ReportBatchApplier`: one transaction): logs, metrics and artifacts
    /// first, then completions and failures, so a task's last lines are stored before it shows as finished. The
    /// whole batch is validated before anything is written. Items of stale attempts change nothing; when every
    /// attempt named is stale the answer is 409 and the batch was rolled back.
    static func reports(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let batch = try context.decodeBody(ReportBatch.self)
        try context.authorizeWorker(batch.workerID)
        try ReportBatchValidation.validate(batch)
        let outcome = try ReportBatchApplier(pool: services.pool).apply(batch)
        // Finished attempts free capacity on this worker: a poll of its that found it full is waiting (its
        // report and its next poll race), so wake it now instead of at the end of its wait.
        if outcome.finishedAttempts { services.signals.bump(StoreSignals.capacityFreed(on: batch.workerID)) }
        if outcome.everyAttemptStale {
            let stale = outcome.response.staleAttempts.map(\.description).joined(separator: ", ")
            return .wire(APIErrorBody(code: .staleAttempt,
                                      message: "every attempt in this report is no longer live (\(stale)); nothing was changed, drop their work"),
                         status: 409)
        }
        return .wire(outcome.response)
    }

    static func deregister(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(DeregisterWorkerRequest.self)
        try context.authorizeWorker(request.workerID)
        if !request.releasedAttempts.isEmpty {
            let released = request.releasedAttempts.map {
                Control.FailureReport(attempt: $0, error: "worker \(request.workerID) shut down", retryable: true)
            }
            _ = try services.leases.fail(released, by: request.workerID)
        }
        try services.workers.deregister(request.workerID)
        return HTTPResponse(status: 204)
    }
}
