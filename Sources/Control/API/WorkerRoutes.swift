import APITypes
import ClusterModel
import Foundation
import HTTPServer

// The worker protocol's handlers: register, heartbeat, long-poll for work, report, deregister. Each parses its
// body, checks the worker id it names against the caller's token, and calls one function of `Control/Workers`
// or `Control/Reports`.

enum WorkerRoutes {
    static func register(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(RegisterWorkerRequest.self)
        return .wire(try WorkerMembership(services: services).register(request))
    }

    static func heartbeat(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(HeartbeatRequest.self)
        try context.authorizeWorker(request.workerID)
        return .wire(try WorkerHeartbeats(services: services).beat(request))
    }

    static func poll(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(PollRequest.self)
        try context.authorizeWorker(request.workerID)
        guard (1...1024).contains(request.maxTasks) else {
            throw APIErrorBody(
                code: .badRequest, message: "maxTasks: expected an integer in 1...1024, got \(request.maxTasks)")
        }
        let response = try TaskDispatch(services: services).poll(request)
        // Written directly where it can be (`PollResponse.wireJSON`): the encoder was 7 % of both cores at batch 64.
        return response.wireJSON().map { .json(data: $0) } ?? .wire(response)
    }

    /// 409 `stale_attempt` when every attempt the batch names is stale: nothing was stored (`ReportIntake`).
    static func reports(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let batch = try context.decodeBody(ReportBatch.self)
        try context.authorizeWorker(batch.workerID)
        let outcome = try ReportIntake(services: services).receive(batch)
        guard !outcome.everyAttemptStale else {
            let stale = outcome.response.staleAttempts.map(\.description).joined(separator: ", ")
            return .wire(
                APIErrorBody(
                    code: .staleAttempt,
                    message:
                        "every attempt in this report is no longer live (\(stale)); nothing was changed, drop their work"
                ),
                status: 409)
        }
        return .wire(outcome.response)
    }

    static func deregister(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(DeregisterWorkerRequest.self)
        try context.authorizeWorker(request.workerID)
        try WorkerMembership(services: services).deregister(request)
        return HTTPResponse(status: 204)
    }
}
