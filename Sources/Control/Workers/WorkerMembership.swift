// A worker joining and leaving: registration hands out a fresh per-worker token (only its hash is stored);
// deregistration is a clean shutdown that requeues the worker's unfinished attempts at once instead of after
// their leases run out.

import APITypes
import ClusterModel
import Foundation

struct WorkerMembership {
    let services: ControlServices

    func register(_ request: RegisterWorkerRequest) throws -> RegisterWorkerResponse {
        if let problem = request.resources.limitViolation(prefix: "resources") {
            throw APIErrorBody(code: .badRequest, message: "\(problem); a worker offers what one machine has")
        }
        let token = Secret.random()
        let worker = try services.workers.register(
            name: request.name, resources: request.resources,
            labels: request.labels, tokenHash: token.hashHex,
            version: request.version, kinds: request.kinds)
        services.workerTokens.forget(worker: worker)
        return RegisterWorkerResponse(
            workerID: worker, heartbeatIntervalSeconds: services.configuration.heartbeatSeconds,
            leaseDurationSeconds: services.configuration.leaseSeconds, workerToken: token.value)
    }

    func deregister(_ request: DeregisterWorkerRequest) throws {
        if !request.releasedAttempts.isEmpty {
            let released = request.releasedAttempts.map {
                AttemptFailure(attempt: $0, error: "worker \(request.workerID) shut down", retryable: true)
            }
            _ = try services.leases.fail(released, by: request.workerID)
        }
        try services.workers.deregister(request.workerID)
    }
}
