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
        if let refusal = TaskDispatch.refusal(of: request) { throw APIErrorBody(code: .badRequest, message: refusal) }
        let response = try TaskDispatch(services: services).poll(request)
        // Written directly where it can be (`PollResponse.wireJSON`): the encoder was 7 % of both cores at batch 64.
        return response.wireJSON().map { .json(data: $0) } ?? .wire(response)
    }

    /// 409 `stale_attempt` when every attempt the batch names is stale: nothing was stored (`ReportIntake`) and
    /// nothing claimed. A batch with `next` claims after it is stored, in the same exchange.
    static func reports(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let batch = try context.decodeBody(ReportBatch.self)
        try context.authorizeWorker(batch.workerID)
        if let next = batch.next {
            guard next.workerID == batch.workerID else {
                throw APIErrorBody(
                    code: .badRequest,
                    message: "next.workerID: expected the batch's workerID \(batch.workerID), got \(next.workerID)")
            }
            if let refusal = TaskDispatch.refusal(of: next, at: "next.") {
                throw APIErrorBody(code: .badRequest, message: refusal)
            }
        }
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
        var response = outcome.response
        // The claim comes before the answer: its commit flushes the batch's completions
        // (`CompletionFlush.byTheNextClaim`, chosen by `ReportBatchApplier.flush(of:)` for a batch with `next`).
        if let next = batch.next {
            response.assignments = try TaskDispatch(services: services).claimNow(next, byReport: true)
        }
        return response.wireJSON().map { .json(data: $0) } ?? .wire(response)
    }

    static func deregister(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(DeregisterWorkerRequest.self)
        try context.authorizeWorker(request.workerID)
        try WorkerMembership(services: services).deregister(request)
        return HTTPResponse(status: 204)
    }
}
