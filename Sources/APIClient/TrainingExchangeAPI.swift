// The training exchange of a job (`APIRoute.putExchangeEntry`, `listExchange`, `deleteExchangeEntry`) as a
// Swift API: what a worker's `ControlPlaneExchange` calls instead of writing files into a shared directory.

import APITypes
import ClusterModel

public protocol TrainingExchangeAPI: Sendable {
    /// Publishes `name` → the bytes at `request.location`. Returns the entry, or nil when `request.exclusive` was
    /// set and the name already existed (another writer was first; nothing changed).
    func putExchangeEntry(job: JobID, name: String, _ request: ExchangePutRequest) async throws(ControlPlaneError)
        -> ExchangeEntry?
    /// The entries newer than `after` (with a name starting with `prefix`); when there are none the server waits
    /// up to `waitSeconds` (at most `ExchangeLimits.maxWaitSeconds`) for one.
    func listExchange(job: JobID, prefix: String?, after: Int64, waitSeconds: Double) async throws(ControlPlaneError)
        -> ExchangeListResponse
    /// Removes `name` (nothing when it is not there).
    func deleteExchangeEntry(job: JobID, name: String) async throws(ControlPlaneError)
}

extension HTTPControlPlaneAPI: TrainingExchangeAPI {
    public func putExchangeEntry(job: JobID, name: String, _ request: ExchangePutRequest)
        async throws(ControlPlaneError) -> ExchangeEntry?
    {
        do {
            return try await requester.call(
                APIRoute.putExchangeEntry.request(String(job.rawValue), name), body: request,
                as: ExchangeEntry.self)
        } catch .rejected(_, 409, let body) where request.exclusive && body?.error.code == .conflict {
            return nil
        }
    }

    public func listExchange(job: JobID, prefix: String?, after: Int64, waitSeconds: Double)
        async throws(ControlPlaneError) -> ExchangeListResponse
    {
        let wait = min(max(0, waitSeconds), ExchangeLimits.maxWaitSeconds)
        // The server holds the request up to `wait`; allow for that plus a margin.
        return try await requester.call(
            APIRoute.listExchange.request(
                String(job.rawValue),
                query: [("prefix", prefix), ("after", String(after)), ("waitSeconds", String(wait))]),
            timeoutSeconds: wait + 15)
    }

    public func deleteExchangeEntry(job: JobID, name: String) async throws(ControlPlaneError) {
        let line = APIRoute.deleteExchangeEntry.request(String(job.rawValue), name)
        _ = try await requester.raw(line.method, line.path)
    }
}
