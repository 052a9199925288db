import APITypes
import ClusterModel
import Foundation

// Store records → wire views. The store speaks rows; the API speaks `APITypes` views.

enum JSONText {
    /// Parses stored JSON text into `AnyJSON`; text that is not JSON is returned as a string.
    static func parse(_ text: String?) -> AnyJSON? {
        guard let text, !text.isEmpty else { return nil }
        return (try? WireCoding.decode(AnyJSON.self, from: Data(text.utf8))) ?? .string(text)
    }

    static func encode(_ value: AnyJSON) -> String {
        (try? WireCoding.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

extension TaskCounts {
    init(_ counts: [String: Int]) {
        func count(_ state: TaskState) -> Int { counts[state.rawValue] ?? 0 }
        self.init(
            blocked: count(.blocked), queued: count(.queued), running: count(.running),
            succeeded: count(.succeeded), failed: count(.failed), cancelled: count(.cancelled))
    }
}

extension JobView {
    init(_ job: JobRecord, detailed: Bool = false) {
        self.init(
            id: job.id, name: job.name, type: job.type, state: job.state, queue: job.queue, priority: job.priority,
            replicas: job.replicas, after: job.after, tasks: TaskCounts(job.taskCounts),
            pendingReason: job.state == .pending ? job.pendingReason : nil, cancelRequested: job.cancelRequested,
            submittedAt: job.submittedAt, startedAt: job.startedAt, finishedAt: job.finishedAt,
            failureMessage: job.endReason, manifest: detailed ? JSONText.parse(job.spec) : nil)
    }
}

extension AttemptView {
    init(_ attempt: AttemptRecord) {
        self.init(
            id: attempt.id, number: attempt.number, workerID: attempt.worker, workerName: attempt.workerName,
            state: attempt.state,
            leaseDeadline: attempt.leaseDeadline, startedAt: attempt.startedAt, finishedAt: attempt.finishedAt,
            message: attempt.error, tokensLost: attempt.tokensLost)
    }
}

extension TaskView {
    init(_ task: TaskRecord, jobName: String, attempts: [AttemptRecord]) {
        self.init(
            id: task.id, jobID: task.jobID, jobName: jobName, index: task.index, state: task.state,
            attempts: attempts.map(AttemptView.init), workerID: task.worker,
            progress: task.state == .running ? task.progress : nil,
            progressMessage: task.state == .running ? task.progressMessage : nil,
            notBefore: task.state == .queued ? task.notBefore : nil,
            createdAt: task.startedAt ?? task.notBefore, updatedAt: task.finishedAt ?? task.startedAt ?? task.notBefore,
            result: JSONText.parse(task.result), lastError: task.error)
    }
}

extension WorkerView {
    init(_ worker: WorkerRecord) {
        self.init(
            id: worker.id, name: worker.name, state: worker.state, version: worker.version, resources: worker.resources,
            allocated: worker.allocated, labels: worker.labels, kinds: worker.kinds,
            runningAttempts: worker.runningTasks,
            registeredAt: worker.registeredAt, lastHeartbeatAt: worker.lastHeartbeat, cachedShards: worker.cachedShards)
    }
}

extension EventView {
    init(_ event: EventRecord, jobName: String? = nil) {
        let type = event.entity + "." + event.newState
        self.init(
            id: event.id, time: event.at, type: type, jobID: event.job, jobName: jobName,
            taskID: event.entity == "task" ? TaskID(event.entityID) : nil,
            attemptID: event.entity == "attempt" ? AttemptID(event.entityID) : nil,
            workerID: event.entity == "worker" ? WorkerID(event.entityID) : nil,
            fromState: event.oldState, toState: event.newState, message: event.reason, actor: event.actor,
            taskIDs: event.taskIDs?.map { TaskID($0) })
    }
}

extension LogLineView {
    init(_ line: TaskLogRecord) {
        self.init(
            id: line.id, jobID: line.job, taskID: line.task, attemptID: line.attempt,
            attemptNumber: line.attemptNumber, sequence: line.seq, time: line.at, stream: line.stream,
            message: line.line)
    }
}

extension MetricPointView {
    init(_ metric: MetricRecord) {
        self.init(
            id: metric.id, jobID: metric.job, taskID: metric.task, attemptID: metric.attempt, name: metric.name,
            step: metric.step, value: metric.value, time: metric.at)
    }
}

extension ArtifactView {
    init(_ artifact: StoredArtifact, jobName: String? = nil) {
        self.init(
            id: artifact.id, name: artifact.name, kind: artifact.kind.isEmpty ? nil : artifact.kind,
            jobID: artifact.job,
            jobName: jobName, taskID: artifact.task, location: artifact.location, sha256: artifact.sha256,
            bytes: artifact.bytes, metadata: JSONText.parse(artifact.metadata), createdAt: artifact.createdAt)
    }
}

extension ShardView {
    init(_ shard: ShardRecord, datasetName: String) {
        self.init(
            datasetName: datasetName, index: shard.index, location: shard.location, sha256: shard.sha256,
            bytes: shard.bytes, tokens: shard.tokens, documents: shard.documents, createdAt: shard.createdAt)
        state = shard.state.rawValue
        badReason = shard.badReason
    }
}
