// A minimal control plane for the worker protocol, served over a real HTTP server on 127.0.0.1: an in-memory
// task board with leases, enough to drive a real WorkerDaemon through registration, long-polls, heartbeats,
// stale attempts, cancellation and outages. (The real control plane on PostgreSQL is tested in ControlTests.)

import APITypes
import ClusterModel
import Foundation
import HTTPServer

private final class HandlerBox: @unchecked Sendable {
    weak var plane: MiniControlPlane?
}

final class MiniControlPlane: @unchecked Sendable {
    struct Task_ {
        var id: TaskID
        var jobType: String
        var spec: AnyJSON
        var attempts: [AttemptID] = []
        var liveAttempt: AttemptID?
        var state: TaskState = .queued
        var leaseDeadline = Date.distantPast
    }

    let lock = NSLock()
    let server: HTTPServer
    private(set) var tasks: [TaskID: Task_] = [:]
    private var queue: [TaskID] = []
    private var attemptTask: [AttemptID: TaskID] = [:]
    private var attemptWorker: [AttemptID: WorkerID] = [:]
    private var nextID: Int64 = 1
    var completions: [CompletionReport] = []
    var failures: [FailureReport] = []
    var logs: [LogLineReport] = []
    var logKeys = Set<String>()
    var metrics: [MetricReport] = []
    var progress: [ProgressReport] = []
    var registrations: [RegisterWorkerRequest] = []
    var heartbeats: [HeartbeatRequest] = []
    var deregistrations: [DeregisterWorkerRequest] = []
    var reportCalls = 0
    /// Answer every worker call with 503 while true (the database is "down").
    var unavailable = false
    /// Attempts to cancel / preempt / call stale in the next heartbeat.
    var pendingCancel: [AttemptID] = []
    var pendingPreempt: [(AttemptID, Date)] = []
    var pendingStale: [AttemptID] = []
    /// Workers the control plane "lost": their calls get 404 unknown_worker.
    var forgottenWorkers: Set<WorkerID> = []
    let joinToken = "join-secret"
    let adminToken = "admin-secret"
    /// What `GET /v1/jobs` answers (admin token).
    var jobs: [JobView] = []
    let workerToken = "worker-secret"

    init(maxBodyBytes: Int = 8 << 20) throws {
        let box = HandlerBox()
        server = HTTPServer(configuration: HTTPServerConfiguration(maxBodyBytes: { _, _ in maxBodyBytes })) { request in
            box.plane?.handle(request) ?? HTTPResponse(status: 503)
        }
        box.plane = self
        try server.start()
    }

    var url: String { server.baseURL }

    func stop() { server.stop(timeoutSeconds: 2) }

    @discardableResult
    func addTasks(_ count: Int, type: String, spec: AnyJSON = [:]) -> [TaskID] {
        lock.withLock {
            (0..<count).map { _ in
                let id = TaskID(nextID)
                nextID += 1
                tasks[id] = Task_(id: id, jobType: type, spec: spec)
                queue.append(id)
                return id
            }
        }
    }

    func withState<T>(_ body: (MiniControlPlane) -> T) -> T { lock.withLock { body(self) } }

    // MARK: HTTP

    private func handle(_ request: HTTPRequest) -> HTTPResponse {
        let unavailable = lock.withLock { self.unavailable }
        if unavailable { return error(.unavailable, "database unreachable") }
        let token = request.bearerToken
        do {
            switch (request.method, request.path) {
            case ("GET", APIRoute.jobs.path()):
                guard token == adminToken else { return error(.unauthorized, "this call needs the admin token") }
                return json(lock.withLock { ListResponse(items: jobs) })
            case ("POST", APIRoute.workerRegister.path()):
                guard token == joinToken else { return error(.unauthorized, "bad join token") }
                let body = try WireCoding.decode(RegisterWorkerRequest.self, from: request.body)
                let response = lock.withLock { () -> RegisterWorkerResponse in
                    registrations.append(body)
                    return RegisterWorkerResponse(
                        workerID: WorkerID(Int64(registrations.count)), heartbeatIntervalSeconds: 0.2,
                        leaseDurationSeconds: 5, workerToken: workerToken)
                }
                return json(response)
            case ("POST", _) where token != workerToken:
                return error(.unauthorized, "worker calls need the worker token")
            case ("POST", APIRoute.workerHeartbeat.path()):
                let body = try WireCoding.decode(HeartbeatRequest.self, from: request.body)
                if isForgotten(body.workerID) {
                    return error(.unknownWorker, "worker \(body.workerID) was marked lost; register again")
                }
                return json(lock.withLock { heartbeat(body) })
            case ("POST", APIRoute.workerPoll.path()):
                let body = try WireCoding.decode(PollRequest.self, from: request.body)
                if isForgotten(body.workerID) {
                    return error(.unknownWorker, "worker \(body.workerID) was marked lost; register again")
                }
                let deadline = Date().addingTimeInterval(min(body.waitSeconds, 1))
                while true {
                    let assignments = lock.withLock {
                        forgottenWorkers.contains(body.workerID) ? [] : lease(max: body.maxTasks, to: body.workerID)
                    }
                    if !assignments.isEmpty || Date() >= deadline {
                        return json(PollResponse(assignments: assignments))
                    }
                    Thread.sleep(forTimeInterval: 0.01)
                }
            case ("POST", APIRoute.workerReports.path()):
                let body = try WireCoding.decode(ReportBatch.self, from: request.body)
                let (response, allStale) = lock.withLock { report(body) }
                if allStale { return error(.staleAttempt, "every attempt in the batch is stale") }
                return json(response)
            case ("POST", APIRoute.workerDeregister.path()):
                let body = try WireCoding.decode(DeregisterWorkerRequest.self, from: request.body)
                lock.withLock { deregistrations.append(body) }
                return HTTPResponse(status: 204)
            default:
                return error(.notFound, "no route \(request.method) \(request.path)")
            }
        } catch {
            return self.error(.badRequest, WireCoding.describe(error))
        }
    }

    private func heartbeat(_ body: HeartbeatRequest) -> HeartbeatResponse {
        heartbeats.append(body)
        var response = HeartbeatResponse(heartbeatIntervalSeconds: 0.2)
        for held in body.attempts {
            guard let taskID = attemptTask[held.attemptID], tasks[taskID]?.liveAttempt == held.attemptID else {
                response.staleAttempts.append(held.attemptID)
                continue
            }
            tasks[taskID]?.leaseDeadline = Date().addingTimeInterval(5)
            response.leases.append(
                LeaseExtension(attemptID: held.attemptID, leaseDeadline: Date().addingTimeInterval(5)))
        }
        for attempt in pendingCancel {
            response.cancel.append(
                CancelSignal(
                    taskID: attemptTask[attempt] ?? TaskID(0), attemptID: attempt, reason: "job cancelled by test"))
        }
        for (attempt, deadline) in pendingPreempt {
            response.preempt.append(
                PreemptSignal(
                    taskID: attemptTask[attempt] ?? TaskID(0), attemptID: attempt, graceDeadline: deadline,
                    reason: "preempted by test"))
        }
        for attempt in pendingStale {
            if let taskID = attemptTask[attempt] { tasks[taskID]?.liveAttempt = nil }
            response.staleAttempts.append(attempt)
        }
        pendingCancel = []
        pendingPreempt = []
        pendingStale = []
        return response
    }

    private func lease(max: Int, to worker: WorkerID) -> [TaskAssignment] {
        var out: [TaskAssignment] = []
        while out.count < max, !queue.isEmpty {
            let id = queue.removeFirst()
            guard var task = tasks[id] else { continue }
            let attempt = AttemptID(nextID)
            nextID += 1
            task.attempts.append(attempt)
            task.liveAttempt = attempt
            task.state = .running
            task.leaseDeadline = Date().addingTimeInterval(5)
            tasks[id] = task
            attemptTask[attempt] = id
            attemptWorker[attempt] = worker
            out.append(
                TaskAssignment(
                    taskID: id, attemptID: attempt, attemptNumber: task.attempts.count, maxAttempts: 3,
                    leaseDeadline: task.leaseDeadline, jobID: JobID(1), jobName: "test", jobType: task.jobType,
                    spec: task.spec, resources: Resources(cpuMillis: 100)))
        }
        return out
    }

    private func isForgotten(_ worker: WorkerID) -> Bool { lock.withLock { forgottenWorkers.contains(worker) } }

    /// Marks a worker lost: its live attempts expire and its calls get 404 unknown_worker.
    func forget(_ worker: WorkerID) {
        let attempts = lock.withLock { () -> [AttemptID] in
            forgottenWorkers.insert(worker)
            return attemptWorker.filter { $0.value == worker }.map(\.key)
        }
        attempts.forEach(expire)
    }

    /// Makes `attempt` stale (as if its lease expired) and requeues its task.
    func expire(_ attempt: AttemptID) {
        lock.withLock {
            guard let taskID = attemptTask[attempt], tasks[taskID]?.liveAttempt == attempt else { return }
            tasks[taskID]?.liveAttempt = nil
            tasks[taskID]?.state = .queued
            queue.append(taskID)
        }
    }

    private func isLive(_ attempt: AttemptID) -> Bool {
        guard let taskID = attemptTask[attempt], let task = tasks[taskID] else { return false }
        return task.liveAttempt == attempt || (task.attempts.last == attempt && task.state.isTerminal)
    }

    private func report(_ batch: ReportBatch) -> (ReportBatchResponse, Bool) {
        reportCalls += 1
        var stale = Set<AttemptID>()
        for id in batch.attemptIDs where !isLive(id) { stale.insert(id) }
        if !stale.isEmpty && stale.count == batch.attemptIDs.count { return (ReportBatchResponse(accepted: 0), true) }
        var accepted = 0
        var duplicates = 0
        for line in batch.logs where !stale.contains(line.attemptID) {
            if logKeys.insert("\(line.attemptID)/\(line.sequence)").inserted {
                logs.append(line)
                accepted += 1
            } else {
                duplicates += 1
            }
        }
        for metric in batch.metrics where !stale.contains(metric.attemptID) {
            metrics.append(metric)
            accepted += 1
        }
        for item in batch.progress where !stale.contains(item.attemptID) {
            progress.append(item)
            accepted += 1
        }
        for completion in batch.completions where !stale.contains(completion.attemptID) {
            let taskID = attemptTask[completion.attemptID]!
            if tasks[taskID]?.state == .succeeded {
                duplicates += 1
                continue
            }
            tasks[taskID]?.state = .succeeded
            completions.append(completion)
            accepted += 1
        }
        for failure in batch.failures where !stale.contains(failure.attemptID) {
            let taskID = attemptTask[failure.attemptID]!
            guard tasks[taskID]?.state == .running else {
                duplicates += 1
                continue
            }
            tasks[taskID]?.state = failure.reason == .cancelled ? .cancelled : .failed
            failures.append(failure)
            accepted += 1
        }
        return (ReportBatchResponse(accepted: accepted, duplicates: duplicates, staleAttempts: Array(stale)), false)
    }

    private func json<T: Encodable>(_ value: T) -> HTTPResponse {
        HTTPResponse(
            status: 200, headers: ["Content-Type": "application/json"], body: (try? WireCoding.encode(value)) ?? Data())
    }

    private func error(_ code: APIErrorCode, _ message: String) -> HTTPResponse {
        HTTPResponse(
            status: code.httpStatus, headers: ["Content-Type": "application/json"],
            body: (try? WireCoding.encode(APIErrorBody(code: code, message: message))) ?? Data())
    }
}
