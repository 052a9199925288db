// A worker joining and leaving: registration gives the worker its own token (only its hash is stored): the one
// it presented (its proof of identity, `WorkerStore.registerWorker`) or a fresh one;
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
        if let presented = request.workerToken, let problem = WorkerTokenFormat.problem(presented) {
            throw APIErrorBody(code: .badRequest, message: problem)
        }
        // The caller's own token proves it is the name's worker if it matches; else it becomes the new worker's.
        let token = request.workerToken.map(Secret.init) ?? Secret.random()
        let outcome = try services.workers.registerWorker(
            name: request.name, resources: request.resources,
            labels: request.labels, tokenHash: token.hashHex,
            version: request.version, kinds: request.kinds)
        if let retired = outcome.retired { services.workerTokens.forget(worker: retired) }
        return RegisterWorkerResponse(
            workerID: outcome.worker, heartbeatIntervalSeconds: services.configuration.heartbeatSeconds,
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
