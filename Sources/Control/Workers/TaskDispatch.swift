// Handing work to a polling worker. Long-poll: claim now; if nothing is runnable, sleep until a `task_runnable`
// notification, capacity freed on this worker, or the earliest backoff deadline, and try again, until the
// worker's wait time is used up. A report that claims (`ReportBatch.next`) claims once, without waiting.

import APITypes
import ClusterModel
import Foundation

struct TaskDispatch {
    let services: ControlServices

    /// Why a poll request cannot be served, naming the field under `path` ("" for a poll, "next." for a report's
    /// claim); nil when it can. Checked before anything is stored.
    static func refusal(of request: PollRequest, at path: String = "") -> String? {
        guard PollRequest.maxTasksRange.contains(request.maxTasks) else {
            return "\(path)maxTasks: expected an integer in \(PollRequest.maxTasksRange), got \(request.maxTasks)"
        }
        return nil
    }

    /// Claims what is runnable for the worker now, without waiting; `byReport` for a report's `next`.
    func claimNow(_ request: PollRequest, byReport: Bool = false) throws -> [TaskAssignment] {
        let claimed = try services.leases.claimNext(
            for: request.workerID, limit: request.maxTasks, leaseDurationSeconds: services.configuration.leaseSeconds)
        if !claimed.isEmpty {
            services.telemetry.taskClaims.increment(by: Double(claimed.count))
            if byReport { services.telemetry.taskClaimsByReport.increment(by: Double(claimed.count)) }
        }
        return try claimed.map(assignment)
    }

    func poll(_ request: PollRequest) throws -> PollResponse {
        let wait = min(max(0, request.waitSeconds), services.configuration.maxPollSeconds)
        let deadline = Date().addingTimeInterval(wait)
        while true {
            let channels = [StoreChannel.taskRunnable, StoreSignals.capacityFreed(on: request.workerID)]
            let seen = services.signals.generations(channels)
            let assignments = try claimNow(request)
            if !assignments.isEmpty { return PollResponse(assignments: assignments) }
            let now = Date()
            if now >= deadline { return PollResponse(assignments: []) }
            var wakeAt = deadline
            if let next = try services.leases.nextRunnableAt() {
                wakeAt = min(wakeAt, max(next, now.addingTimeInterval(0.01)))
            }
            services.signals.wait(anyOf: seen, timeoutSeconds: wakeAt.timeIntervalSince(now))
        }
    }

    /// The wire assignment of one claimed attempt: the job's cached facts, and the gang's peers for a job of
    /// several replicas.
    private func assignment(_ lease: TaskLease) throws -> TaskAssignment {
        let info = try services.jobInfo.info(lease.job)
        var gang: GangInfo?
        if info.replicas > 1 {
            let peers = try services.jobs.tasks(of: lease.job).map {
                GangPeer(rank: $0.index, taskID: $0.id, workerID: $0.worker)
            }
            gang = GangInfo(rank: lease.taskIndex, size: info.replicas, peers: peers)
        }
        return TaskAssignment(
            taskID: lease.task, attemptID: lease.attempt, attemptNumber: lease.attemptNumber,
            maxAttempts: info.maxAttempts, leaseDeadline: lease.leaseDeadline, jobID: lease.job,
            jobName: lease.jobName, jobType: lease.jobType, taskIndex: lease.taskIndex,
            taskCount: info.taskCount,
            spec: try TokenizeReferencesAtDispatch.resolve(
                try CheckpointReferencesAtDispatch.resolve(
                    JSONText.parse(lease.spec) ?? .null, jobType: lease.jobType, store: services.store),
                jobType: lease.jobType, store: services.store),
            resources: lease.resources, gang: gang)
    }
}
