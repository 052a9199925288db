// The worker protocol as a Swift API. `WorkerDaemon` only talks to the control plane through this.

import APITypes
import ClusterModel

public protocol ControlPlaneAPI: Sendable {
    /// Registers (or re-registers) the worker. Implementations switch to the returned per-worker token.
    func register(_ request: RegisterWorkerRequest) async throws(ControlPlaneError) -> RegisterWorkerResponse
    func heartbeat(_ request: HeartbeatRequest) async throws(ControlPlaneError) -> HeartbeatResponse
    /// Long-poll: returns within about `request.waitSeconds`.
    func poll(_ request: PollRequest) async throws(ControlPlaneError) -> PollResponse
    /// Delivers a batch of reports. Throws `.rejected(409 stale_attempt)` when every attempt named is stale.
    func report(_ batch: ReportBatch) async throws(ControlPlaneError) -> ReportBatchResponse
    func deregister(_ request: DeregisterWorkerRequest) async throws(ControlPlaneError)
}

/// `ControlPlaneAPI` over HTTP/JSON (the routes in `APIRoute`).
public struct HTTPControlPlaneAPI: ControlPlaneAPI {
    public let requester: APIRequester
    /// Registration always uses this token (the join token may register; a per-worker token may not).
    private let joinToken: BearerToken

    /// `token` is the join token (or the admin token); after `register` the per-worker token replaces it for
    /// every other call.
    public init(baseURL: String, token: String?, transport: any HTTPTransport) {
        requester = APIRequester(baseURL: baseURL, token: BearerToken(token), transport: transport)
        joinToken = BearerToken(token)
    }

    public func register(_ request: RegisterWorkerRequest) async throws(ControlPlaneError) -> RegisterWorkerResponse {
        let response: RegisterWorkerResponse = try await requester.call(
            APIRoute.workerRegister.request(), body: request,
            bearer: joinToken.value)
        if let own = response.workerToken { requester.token.value = own }
        return response
    }

    public func heartbeat(_ request: HeartbeatRequest) async throws(ControlPlaneError) -> HeartbeatResponse {
        try await requester.call(APIRoute.workerHeartbeat.request(), body: request)
    }

    public func poll(_ request: PollRequest) async throws(ControlPlaneError) -> PollResponse {
        // The server holds the request up to waitSeconds; allow for that plus a margin.
        try await requester.call(APIRoute.workerPoll.request(), body: request, timeoutSeconds: request.waitSeconds + 15)
    }

    public func report(_ batch: ReportBatch) async throws(ControlPlaneError) -> ReportBatchResponse {
        try await requester.call(APIRoute.workerReports.request(), body: batch)
    }

    public func deregister(_ request: DeregisterWorkerRequest) async throws(ControlPlaneError) {
        _ = try await requester.raw(
            APIRoute.workerDeregister.method, APIRoute.workerDeregister.path(), body: request, timeoutSeconds: 10)
    }
}
