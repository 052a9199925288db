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
        if request.draining { try services.workers.drain(request.workerID) }
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

    /// Applies a report batch: logs, metrics and artifacts first, then completions and failures, so a task's
    /// last lines are stored before it shows as finished. Items of stale attempts change nothing; when every
    /// attempt named is stale the answer is 409.
    static func reports(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let batch = try context.decodeBody(ReportBatch.self)
        try context.authorizeWorker(batch.workerID)
        let worker = batch.workerID
        var stale = Set<AttemptID>()
        var accepted = 0
        var duplicates = 0

        func guarded(_ attempt: AttemptID, _ body: () throws -> Void) throws {
            guard !stale.contains(attempt) else { return }
            do { try body() } catch let error as StoreError {
                switch error {
                case .staleAttempt, .unknownAttempt: stale.insert(attempt)
                default: throw error
                }
            }
        }

        for (attempt, lines) in Dictionary(grouping: batch.logs, by: \.attemptID) {
            try guarded(attempt) {
                let stored = try services.logs.append(attempt: attempt, by: worker,
                                                      lines: lines.map { LogLine(seq: $0.sequence, line: $0.message) })
                accepted += stored
                duplicates += lines.count - stored
            }
        }
        for (attempt, points) in Dictionary(grouping: batch.metrics, by: \.attemptID) {
            try guarded(attempt) {
                let stored = try services.metrics.append(attempt: attempt, by: worker,
                                                         points: points.map { MetricPoint(name: $0.name, step: $0.step, value: $0.value) })
                accepted += stored
                duplicates += points.count - stored
            }
        }
        let artifactReports = batch.artifacts.map { ($0.taskID, $0.attemptID, $0.artifact) }
            + batch.completions.flatMap { c in c.artifacts.map { (c.taskID, c.attemptID, $0) } }
        for (task, attempt, artifact) in artifactReports {
            try guarded(attempt) {
                guard let record = try services.jobs.task(task) else { throw StoreError.unknownAttempt(attempt) }
                guard record.activeAttempt == attempt || record.state == .succeeded else {
                    throw StoreError.staleAttempt(attempt, state: record.state.rawValue)
                }
                _ = try services.artifacts.register(NewArtifact(job: record.jobID, task: task, name: artifact.name,
                                                                kind: artifact.kind ?? "", location: artifact.location,
                                                                sha256: artifact.sha256, bytes: artifact.bytes,
                                                                metadata: artifact.metadata.map(JSONText.encode) ?? "{}"))
                accepted += 1
            }
        }
        // The latest report per attempt is enough.
        var latest: [AttemptID: ProgressReport] = [:]
        for report in batch.progress where !stale.contains(report.attemptID) { latest[report.attemptID] = report }
        let staleProgress = try services.leases.recordProgress(latest.values.map { ($0.attemptID, $0.fraction, $0.message) }, by: worker)
        stale.formUnion(staleProgress)
        accepted += latest.count - staleProgress.count

        // A preempted attempt hands its task back: requeued at once, not counted as a failure.
        for report in batch.failures where report.reason == .preempted && !stale.contains(report.attemptID) {
            try guarded(report.attemptID) {
                try services.store.placements.preempt(attempt: report.attemptID, reason: report.message)
                accepted += 1
            }
        }
        var failures = batch.failures.filter { !stale.contains($0.attemptID) && $0.reason != .preempted }
            .map { Control.FailureReport(attempt: $0.attemptID, error: $0.message, retryable: $0.retryable) }
        var completions: [Control.CompletionReport] = []
        for completion in batch.completions where !stale.contains(completion.attemptID) {
            // A completion that carries a shard is recorded with it; one whose shard contradicts what is
            // stored (or cannot be read) fails the task instead: a retry would write the same shard again.
            do {
                let shard = try ShardCompletion(result: completion.result)
                if let shard, let conflict = try shard.conflict(in: services.pool) {
                    failures.append(Control.FailureReport(attempt: completion.attemptID, error: conflict, retryable: false))
                    continue
                }
                completions.append(Control.CompletionReport(attempt: completion.attemptID, result: JSONText.encode(completion.result),
                                                            shard: shard))
            } catch let error as StoreError {
                failures.append(Control.FailureReport(attempt: completion.attemptID, error: error.description, retryable: false))
            }
        }
        // Shards a worker found corrupt are marked bad before its task's outcome is stored.
        let badShards = batch.failures.filter { !stale.contains($0.attemptID) }.flatMap { BadShardMarking.reports(in: $0.details) }
            + batch.completions.filter { !stale.contains($0.attemptID) }.flatMap { BadShardMarking.reports(in: $0.result) }
        if !badShards.isEmpty { try BadShardMarking.mark(badShards, datasets: services.datasets, shards: services.shards) }
        var outcomes: [AttemptID: ReportOutcome] = [:]
        if !completions.isEmpty { outcomes.merge(try services.leases.complete(completions, by: worker)) { a, _ in a } }
        if !failures.isEmpty { outcomes.merge(try services.leases.fail(failures, by: worker)) { a, _ in a } }
        // Finished attempts free capacity on this worker: a poll of its that found it full is waiting (its
        // report and its next poll race), so wake it now instead of at the end of its wait.
        if outcomes.values.contains(.applied) { services.signals.bump(StoreSignals.capacityFreed(on: worker)) }
        for (attempt, outcome) in outcomes {
            switch outcome {
            case .applied: accepted += 1
            case .alreadyApplied: duplicates += 1
            case .refused: stale.insert(attempt)
            }
        }

        let response = ReportBatchResponse(accepted: accepted, duplicates: duplicates, staleAttempts: stale.sorted())
        if !batch.isEmpty && !stale.isEmpty && stale == batch.attemptIDs {
            return .wire(APIErrorBody(code: .staleAttempt,
                                      message: "every attempt in this report is no longer live (\(stale.sorted().map(\.description).joined(separator: ", "))); nothing was changed, drop their work"),
                         status: 409)
        }
        return .wire(response)
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
        try services.workers.drain(request.workerID)
        return HTTPResponse(status: 204)
    }
}
